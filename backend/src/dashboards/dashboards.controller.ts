import { dashboardRefreshBodySchema, type DashboardsStatus, type DashboardList } from '@data-streaming/protocol';
import { ApiErrors, ApiJsonBody, ApiJsonResponse } from '../common/openapi';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access } from '../common/access';
import { parseBody } from '../common/parse-body';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { SseService } from '../streams/sse/sse.service';
import { DashboardReadModel, type DashboardData } from './dashboard-read-model';
import { DashboardScheduler } from './dashboard-scheduler';

@ApiTags('dashboards')
@Controller('dashboards')
export class DashboardsController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dashboards: DashboardReadModel,
    private readonly scheduler: DashboardScheduler,
    private readonly sse: SseService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The live dashboards and where to read them' })
  @ApiJsonResponse(200, 'DashboardList', 'Each dashboard definition and its live endpoints')
  @ApiErrors('dashboards_disabled')
  list(): DashboardList {
    this.dashboards.ensureEnabled();
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
    this.dashboards.ensureEnabled();
    const parsed = parseBody(
      dashboardRefreshBodySchema.optional(),
      body ?? undefined,
      'invalid_refresh_request',
      'expected {"dashboard": "<type>"} or nothing',
    );
    return this.scheduler.refresh(parsed?.dashboard);
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
    const { data, etag, notModified } = this.dashboards.read(type, since, ifNoneMatch);
    if (etag !== undefined) response.setHeader('ETag', etag).setHeader('Cache-Control', 'no-cache');
    if (notModified) {
      response.status(304);
      return undefined;
    }
    return data;
  }

  @Get(':type/stream')
  @Access('subscription')
  @ApiOperation({ summary: 'The dashboard live channel as SSE: a snapshot, then each update' })
  @ApiProduces('text/event-stream')
  async stream(@Param('type') type: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const live = this.dashboards.liveChannel(type);
    await this.sse.open(request, response, live, { names: [live.channel], compression: this.config.live_dashboard.compression_enabled });
  }
}
