import { dashboardRefreshBodySchema, type DashboardsStatus, type DashboardList } from '@data-streaming/protocol';
import { ApiErrors, ApiJsonBody, ApiJsonResponse } from '../common/openapi';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access } from '../auth/access.guard';
import { ApiError } from '../common/api-error';
import { parseBody } from '../common/parse-body';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { snapshotSender } from '../streams/websocket/websocket.gateway';
import { SseService } from '../streams/sse/sse.service';
import { LiveChannelRegistry } from '../streams/live-channels';
import { DashboardsService, type DashboardData } from './dashboards.service';

@ApiTags('dashboards')
@Controller('dashboards')
export class DashboardsController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dashboards: DashboardsService,
    private readonly sse: SseService,
    private readonly liveChannels: LiveChannelRegistry,
  ) {}

  private enabled(): void {
    if (!this.config.live_dashboard.enabled)
      throw ApiError.notFound('dashboards_disabled', 'live dashboards are disabled (LIVE_DASHBOARD_ENABLED)');
  }

  @Get()
  @ApiOperation({ summary: 'The live dashboards and where to read them' })
  @ApiJsonResponse(200, 'DashboardList', 'Each dashboard definition and its live endpoints')
  @ApiErrors('dashboards_disabled')
  list(): DashboardList {
    this.enabled();
    return { dashboards: this.dashboards.definitions() };
  }

  @Get('status')
  @ApiOperation({ summary: 'Per dashboard: last update, measured interval, live viewers, cache' })
  @ApiJsonResponse(200, 'DashboardsStatus', 'The scheduler and every dashboard')
  status(): DashboardsStatus {
    return this.dashboards.status();
  }

  @Post('refresh')
  @HttpCode(200)
  @Access('admin')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Refresh one dashboard ({"dashboard": type}) or all of them now' })
  @ApiJsonBody('DashboardRefresh')
  @ApiJsonResponse(200, 'DashboardRefreshResponse', 'The dashboards refreshed')
  @ApiErrors('invalid_refresh_request', 'unknown_dashboard', 'dashboards_disabled', 'unauthorized', 'forbidden')
  refresh(@Body() body: unknown): { refreshed: string[] } {
    this.enabled();
    const parsed = parseBody(
      dashboardRefreshBodySchema.optional(),
      body ?? undefined,
      'invalid_refresh_request',
      'expected {"dashboard": "<type>"} or nothing',
    );
    return this.dashboards.refresh(parsed?.dashboard);
  }

  @Get(':type/data')
  @ApiOperation({ summary: 'Current data of every panel; ?since=<cursor> for only what changed; ETag / If-None-Match' })
  @ApiJsonResponse(200, 'DashboardData', 'Every panel, or those changed after since (full: false)')
  @ApiErrors('bad_request', 'position_ahead', 'unknown_dashboard', 'dashboards_disabled')
  data(
    @Param('type') type: string,
    @Query('since') since: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): DashboardData | undefined {
    this.enabled();
    const data = this.dashboards.data(type, since);
    if (this.config.live_dashboard.caching_enabled && this.config.dashboard_refresh.enabled) {
      const etag = this.dashboards.etag(type);
      response.setHeader('ETag', etag);
      response.setHeader('Cache-Control', 'no-cache');
      if (ifNoneMatch !== undefined && ifNoneMatch.split(/\s*,\s*/).includes(etag)) {
        response.status(304);
        return undefined;
      }
    }
    return data;
  }

  @Get(':type/stream')
  @Access('subscription')
  @ApiOperation({ summary: 'The dashboard live channel as SSE: a snapshot, then each update' })
  @ApiProduces('text/event-stream')
  async stream(@Param('type') type: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    this.enabled();
    const live = this.liveChannels.family('dashboards')?.resolve(type);
    if (!live) throw ApiError.notFound('unknown_dashboard', `unknown dashboard "${type.slice(0, 80)}"`, { known: this.dashboards.types() });
    // One that resumes already has the state, one from a time replays history: only a fresh viewer gets a snapshot.
    const query = request.query;
    const resuming = request.header('last-event-id') ?? (typeof query.since === 'string' ? query.since : undefined) ?? query.from;
    const beforeLive = snapshotSender(live, resuming);
    await this.sse.open(request, response, live.channel, {
      names: [live.channel],
      compression: this.config.live_dashboard.compression_enabled,
      pool: 'dashboard',
      attach: beforeLive ? { beforeLive } : {},
    });
  }
}
