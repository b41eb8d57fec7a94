/**
 * Accepts notifications: resolves their channels, writes them to the outbox (before any delivery is tried), and wakes
 * the dispatcher. The one entry for the send endpoint, the Alertmanager receiver and the rule engine. An outbox that
 * cannot be reached (Redis down) makes accepting and reading fail with 503 `outbox_unavailable`, to be retried.
 */
import { DELIVERY_CHANNELS, type DeliveryChannelsReport, type NotificationsStatus } from '@data-streaming/protocol';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { redactError } from '../common/redact';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { DeliveryAdapters } from './channels/delivery-adapter';
import { DispatcherService } from './delivery/dispatcher.service';
import type { NewNotification, Notification, DeliveryChannel, Priority } from './notification';
import type { InitialDelivery, Outbox, StoredNotification } from './outbox/outbox.port';
import { OUTBOX } from './outbox/outbox.token';

export type AcceptOutcome =
  { id: string; deduplicated: boolean; channels: DeliveryChannel[] } | { id: null; suppressed: true; reason: string };

export type NotificationSource = 'api' | 'rule' | 'alertmanager';

const PRIORITY_SWITCH = { critical: 'critical_enabled', warning: 'warning_enabled', info: 'info_enabled' } as const;
const PRIORITY_ENV = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' } as const;
const OUTBOX_RETRY_AFTER_SECONDS = 5;

@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(OUTBOX) private readonly outbox: Outbox,
    private readonly channels: DeliveryAdapters,
    private readonly dispatcher: DispatcherService,
    private readonly metrics: StreamingMetrics,
  ) {}

  get enabled(): boolean {
    return this.config.real_time_notifications.enabled;
  }

  /** Channels switched on in `notification_channels`. */
  enabledChannels(): DeliveryChannel[] {
    return [...this.config.real_time_notifications.notification_channels];
  }

  /** The enabled channels that can deliver now (email and Slack only when configured): what /notifications/status lists. */
  deliverableChannels(): DeliveryChannel[] {
    return this.enabledChannels().filter((channel) => this.readiness(channel).configured);
  }

  readiness(channel: DeliveryChannel): { enabled: boolean; configured: boolean; reason?: string } {
    const enabled = this.config.real_time_notifications.notification_channels.includes(channel);
    const readiness = this.channels.get(channel)?.readiness() ?? { configured: false, reason: 'unknown channel' };
    return { enabled, ...readiness };
  }

  priorityEnabled(priority: Priority): boolean {
    return this.config.real_time_notifications[PRIORITY_SWITCH[priority]];
  }

  /**
   * `strict` (the send endpoint): an explicit channel that is off or not configured is refused with 400.
   * Otherwise (rules, Alertmanager) such a delivery is kept as failed with its reason, and the others go ahead.
   */
  async accept(input: NewNotification, source: NotificationSource, strict: boolean): Promise<AcceptOutcome> {
    if (!this.enabled)
      throw ApiError.unavailable('notifications_disabled', 'notifications are disabled (REAL_TIME_NOTIFICATIONS_ENABLED)', 60);
    if (!this.priorityEnabled(input.priority)) {
      const variable = `REAL_TIME_NOTIFICATIONS_${PRIORITY_ENV[input.priority]}_ENABLED`;
      return { id: null, suppressed: true, reason: `${input.priority} notifications are switched off (${variable}=false)` };
    }
    const deliveries = this.deliveriesFor(input.channel, strict);
    if (deliveries.length === 0) {
      throw new ApiError(400, 'no_channel', 'no enabled and configured channel can deliver this notification', {
        channels: Object.fromEntries(DELIVERY_CHANNELS.map((name) => [name, this.readiness(name)])),
      });
    }
    const notification: Notification = {
      type: input.type,
      status: input.status,
      priority: input.priority,
      title: input.title,
      message: input.message,
      labels: input.labels,
      ...(input.rule ? { rule: input.rule } : {}),
      id: randomUUID(),
      idempotency_key: input.idempotency_key ?? randomUUID(),
      created_at: new Date().toISOString(),
      channels: deliveries.map((delivery) => delivery.channel),
    };
    const { id, created } = await this.stored(this.outbox.insert(notification, deliveries));
    if (created) {
      this.metrics.notificationsAccepted.labels(source, input.priority).inc();
      this.dispatcher.wake();
    }
    return { id, deduplicated: !created, channels: notification.channels };
  }

  private deliveriesFor(target: DeliveryChannel | 'all', strict: boolean): InitialDelivery[] {
    if (target === 'all') {
      return this.deliverableChannels().map((channel) => ({ channel }));
    }
    const readiness = this.readiness(target);
    const problem = !readiness.enabled
      ? `channel ${target} is not enabled (real_time_notifications.notification_channels)`
      : readiness.configured
        ? undefined
        : `channel ${target} is ${readiness.reason ?? 'not configured'}`;
    if (problem === undefined) return [{ channel: target }];
    if (strict) throw new ApiError(400, 'channel_unavailable', problem, { channel: target, ...readiness });
    return [{ channel: target, failed: problem }];
  }

  find(id: string): Promise<StoredNotification | undefined> {
    return this.stored(this.outbox.find(id));
  }

  async counts(): Promise<Pick<NotificationsStatus, 'pending' | 'delivered' | 'failed' | 'by_channel'>> {
    const totals = { pending: 0, delivered: 0, failed: 0 };
    const byChannel: NotificationsStatus['by_channel'] = {};
    for (const row of await this.stored(this.outbox.counts())) {
      totals[row.state] += row.count;
      (byChannel[row.channel] ??= { pending: 0, delivered: 0, failed: 0 })[row.state] = row.count;
    }
    return { ...totals, by_channel: byChannel };
  }

  async channelReport(): Promise<DeliveryChannelsReport['channels']> {
    const [{ lastSuccess, lastFailure }, { by_channel: counts }] = await Promise.all([
      this.stored(this.outbox.channelHistory()),
      this.counts(),
    ]);
    return DELIVERY_CHANNELS.map((name) => {
      const failure = lastFailure.get(name);
      const success = lastSuccess.get(name);
      return {
        channel: name,
        ...this.readiness(name),
        queue_depth: counts[name]?.pending ?? 0,
        delivered: counts[name]?.delivered ?? 0,
        failed: counts[name]?.failed ?? 0,
        last_success: success === undefined ? null : new Date(success).toISOString(),
        last_failure: failure === undefined ? null : { at: new Date(failure.at).toISOString(), reason: failure.error },
      };
    });
  }

  /** The outbox's answer, or 503 when it cannot be reached: the caller (Alertmanager, a client) tries again. */
  private async stored<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      this.logger.warn(`Notification outbox unavailable: ${redactError(error)}`);
      throw ApiError.unavailable(
        'outbox_unavailable',
        'the notification outbox cannot be reached; try again later',
        OUTBOX_RETRY_AFTER_SECONDS,
      );
    }
  }
}
