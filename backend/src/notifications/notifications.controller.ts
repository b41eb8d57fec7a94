/** HTTP edge of notifications: status, channels, send, the Alertmanager webhook and one notification by id. */
import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.guard';
import { ApiError } from '../common/api-error';
import { alertmanagerNotifications } from './alertmanager';
import { alertmanagerSchema, sendBodySchema, type NotificationChannel } from './notification';
import { NOTIFICATION_CHANNEL_NAMES, NotificationsService, type AcceptOutcome } from './notifications.service';
import { RuleEngineService } from './rules/rule-engine.service';
import type { z } from 'zod';

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
  const first = problems[0] as { field: string; message: string };
  throw new ApiError(400, `invalid_${what}`, `${first.field}: ${first.message}`, { problems });
}

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly rules: RuleEngineService,
  ) {}

  @Get('status')
  @ApiOperation({ summary: 'Whether notifications are on, the delivery channels, and the outbox counts' })
  async status(): Promise<Record<string, unknown>> {
    return {
      notifications_enabled: this.notifications.enabled,
      delivery_channels: this.notifications.enabledChannels(),
      ...(await this.notifications.counts()),
      rules: this.rules.states(),
    };
  }

  @Get('channels')
  @ApiOperation({ summary: 'Per channel: enabled, configured, queue depth, last success, last failure and reason' })
  async channels(): Promise<{ channels: Record<string, unknown>[] }> {
    return { channels: await this.notifications.channelReport() };
  }

  @Post('send')
  @HttpCode(202)
  @Access('publish')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Send a notification: {"type", "message", "channel", "priority"?, "title"?, "labels"?, "idempotency_key"?}' })
  send(@Body() body: unknown): Promise<AcceptOutcome> {
    const input = parse(sendBodySchema, body, 'notification');
    return this.notifications.accept(
      { ...input, title: input.title ?? input.type, labels: input.labels ?? {}, status: 'info' },
      'api',
      true,
    );
  }

  @Post('alertmanager')
  @HttpCode(200)
  @Access('publish')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Alertmanager webhook receiver (payload version 4); ?channel= picks the channel (default all)' })
  async alertmanager(
    @Body() body: unknown,
    @Query('channel') channel = 'all',
  ): Promise<{ accepted: number; deduplicated: number; suppressed: number; ids: (string | null)[] }> {
    if (channel !== 'all' && !NOTIFICATION_CHANNEL_NAMES.includes(channel as NotificationChannel)) {
      throw ApiError.badRequest(`channel: expected one of: ${[...NOTIFICATION_CHANNEL_NAMES, 'all'].join(', ')}`);
    }
    const payload = parse(alertmanagerSchema, body, 'alertmanager_payload');
    const outcomes: AcceptOutcome[] = [];
    for (const input of alertmanagerNotifications(payload, channel as NotificationChannel | 'all')) {
      outcomes.push(await this.notifications.accept(input, 'alertmanager', false));
    }
    return {
      accepted: outcomes.filter((outcome) => outcome.id !== null && !('deduplicated' in outcome && outcome.deduplicated)).length,
      deduplicated: outcomes.filter((outcome) => 'deduplicated' in outcome && outcome.deduplicated).length,
      suppressed: outcomes.filter((outcome) => outcome.id === null).length,
      ids: outcomes.map((outcome) => outcome.id),
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One notification and its delivery state per channel' })
  async find(@Param('id', new ParseUUIDPipe()) id: string): Promise<Record<string, unknown>> {
    const found = await this.notifications.find(id);
    if (!found) throw ApiError.notFound('not_found', `no notification ${id}`);
    return {
      ...found.notification,
      deliveries: found.deliveries.map((row) => ({
        channel: row.channel,
        state: row.state,
        attempts: row.attempts,
        last_error: row.last_error,
        delivered_at: row.delivered_at === null ? null : new Date(row.delivered_at).toISOString(),
        next_attempt_at: row.state === 'pending' ? new Date(row.next_attempt_at).toISOString() : null,
      })),
    };
  }
}
