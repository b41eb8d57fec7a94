/** HTTP edge of notifications: status, channels, send, the Alertmanager webhook and one notification by id. */
import { ApiErrors, ApiJsonBody, ApiJsonResponse } from '../common/openapi';
import {
  DELIVERY_CHANNELS,
  alertmanagerWebhookSchema,
  sendNotificationSchema,
  type NotificationsStatus,
  type DeliveryChannelsReport,
  type AlertmanagerResponse,
  type NotificationDetail,
} from '@data-streaming/protocol';
import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/access';
import { ApiError } from '../common/api-error';
import { parseBody } from '../common/parse-body';
import { alertmanagerNotifications } from './alertmanager';
import { isDeliveryChannel } from './notification';
import { NotificationsService, type AcceptOutcome } from './notifications.service';
import { RuleEngineService } from './rules/rule-engine.service';

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly rules: RuleEngineService,
  ) {}

  @Get('status')
  @ApiJsonResponse(200, 'NotificationsStatus', 'Whether notifications are on, the delivery channels, outbox counts and rules')
  @ApiOperation({ summary: 'Whether notifications are on, the delivery channels, and the outbox counts' })
  async status(): Promise<NotificationsStatus> {
    return {
      notifications_enabled: this.notifications.enabled,
      // The channels that can deliver; each channel's detail (enabled, configured, why not) is /notifications/channels.
      delivery_channels: this.notifications.deliverableChannels(),
      ...(await this.notifications.counts()),
      rules: this.rules.states(),
    };
  }

  @Get('channels')
  @ApiJsonResponse(200, 'DeliveryChannelsReport', 'Each delivery channel and its health')
  @ApiOperation({ summary: 'Per channel: enabled, configured, queue depth, last success, last failure and reason' })
  async channels(): Promise<DeliveryChannelsReport> {
    return { channels: await this.notifications.channelReport() };
  }

  @Post('send')
  @HttpCode(202)
  @Access('publish')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Send a notification: {"type", "message", "channel", "priority"?, "title"?, "labels"?, "idempotency_key"?}' })
  @ApiJsonBody('SendNotification')
  @ApiJsonResponse(
    202,
    'SendNotificationResponse',
    'Stored in the outbox (or the earlier one with the same key), or suppressed by priority',
  )
  @ApiErrors(
    'invalid_notification',
    'channel_unavailable',
    'no_channel',
    'unauthorized',
    'forbidden',
    'notifications_disabled',
    'outbox_unavailable',
  )
  send(@Body() body: unknown): Promise<AcceptOutcome> {
    const input = parseBody(sendNotificationSchema, body, 'invalid_notification', 'the notification is invalid');
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
  @ApiJsonBody('AlertmanagerWebhook')
  @ApiJsonResponse(200, 'AlertmanagerResponse', 'One notification per alert')
  @ApiErrors('invalid_alertmanager_payload', 'bad_request', 'unauthorized', 'forbidden', 'notifications_disabled', 'outbox_unavailable')
  async alertmanager(@Body() body: unknown, @Query('channel') channel = 'all'): Promise<AlertmanagerResponse> {
    if (channel !== 'all' && !isDeliveryChannel(channel)) {
      throw ApiError.badRequest(`channel: expected one of: ${[...DELIVERY_CHANNELS, 'all'].join(', ')}`);
    }
    const payload = parseBody(alertmanagerWebhookSchema, body, 'invalid_alertmanager_payload', 'the Alertmanager payload is invalid');
    const outcomes: AcceptOutcome[] = [];
    for (const input of alertmanagerNotifications(payload, channel)) {
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
  @ApiJsonResponse(200, 'NotificationDetail', 'The notification and its deliveries')
  @ApiErrors('bad_request', 'not_found', 'outbox_unavailable')
  async find(@Param('id', new ParseUUIDPipe()) id: string): Promise<NotificationDetail> {
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
