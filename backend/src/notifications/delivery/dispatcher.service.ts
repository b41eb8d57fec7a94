/**
 * Works the outbox: claims due deliveries (most urgent first, at most `delivery_concurrency` at a time), makes one
 * attempt each bounded by `delivery_timeout`, and records the outcome: delivered; retry later with exponential
 * backoff and jitter (or the receiver's Retry-After, if longer); or failed for good, with the reason.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { StreamingMetrics } from '../../metrics/streaming.metrics';
import { DELIVERY_CHANNELS, DeliveryError, type DeliveryChannel } from '../channels/delivery-channel';
import type { NotificationChannel } from '../notification';
import { OUTBOX } from '../outbox/outbox.token';
import type { ClaimedDelivery, OutboxRepository } from '../outbox/outbox.repository';

const IDLE_POLL_MS = 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;

export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

@Injectable()
export class DispatcherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DispatcherService.name);
  private readonly channels: Map<NotificationChannel, DeliveryChannel>;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private purger: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = true;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(OUTBOX) private readonly outbox: OutboxRepository,
    @Inject(DELIVERY_CHANNELS) channels: DeliveryChannel[],
    private readonly metrics: StreamingMetrics,
  ) {
    this.channels = new Map(channels.map((channel) => [channel.name, channel]));
  }

  onApplicationBootstrap(): void {
    if (!this.config.real_time_notifications.enabled) return;
    this.stopped = false;
    const resumed = this.outbox.releaseLeases();
    if (resumed > 0) this.logger.warn(`Resuming ${resumed} deliveries that were under way when the service stopped`);
    this.purge();
    this.purger = setInterval(() => this.purge(), PURGE_EVERY_MS);
    this.purger.unref();
    this.wake();
  }

  /** Looks for due work now (after an accept) instead of at the next poll. */
  wake(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const settings = this.config.real_time_notifications;
    const leaseMs = settings.delivery_timeout * 1000 * 2;
    const claimed = this.outbox.claimDue(settings.delivery_concurrency - this.inFlight.size, leaseMs);
    for (const delivery of claimed) {
      const attempt = this.attempt(delivery).finally(() => {
        this.inFlight.delete(attempt);
        this.wake();
      });
      this.inFlight.add(attempt);
    }
    this.publishDepth();
    const next = this.outbox.nextDueAt();
    const wait = next === undefined ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(0, next - Date.now()));
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref();
  }

  private async attempt({ notification, channel: name, attempts }: ClaimedDelivery): Promise<void> {
    const settings = this.config.real_time_notifications;
    const channel = this.channels.get(name);
    const { id } = notification;
    try {
      if (!channel) throw new DeliveryError(`no such channel ${name}`, false);
      await channel.deliver(notification, AbortSignal.timeout(settings.delivery_timeout * 1000));
      this.outbox.markDelivered(id, name);
      this.metrics.notificationDeliveries.labels(name, 'delivered').inc();
      this.metrics.notificationLatency.labels(name).observe((Date.now() - Date.parse(notification.created_at)) / 1000);
    } catch (error) {
      const failure =
        error instanceof DeliveryError ? error : new DeliveryError((error as { message?: string }).message ?? String(error), true);
      if (!failure.retryable || attempts >= settings.max_attempts) {
        const reason = failure.retryable ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message;
        this.outbox.markFailed(id, name, reason);
        this.metrics.notificationDeliveries.labels(name, 'failed').inc();
        this.logger.warn(`Notification ${id} not delivered by ${name}: ${reason}`);
        return;
      }
      const delay = Math.max(
        backoffMs(attempts, settings.retry_base_delay * 1000, settings.retry_max_delay * 1000),
        failure.retryAfterMs ?? 0,
      );
      this.outbox.markRetry(id, name, Date.now() + delay, failure.message);
      this.metrics.notificationDeliveries.labels(name, 'retry').inc();
      this.logger.debug(`Notification ${id} by ${name}: attempt ${attempts} failed (${failure.message}); next in ${delay} ms`);
    }
  }

  /** Keeps the outbox to `retention` days of finished notifications (and so bounds the idempotency window). */
  private purge(): void {
    const removed = this.outbox.purgeFinished(Date.now() - this.config.real_time_notifications.retention * 86_400_000);
    if (removed > 0)
      this.logger.log(`Purged ${removed} finished notifications older than ${this.config.real_time_notifications.retention} days`);
  }

  private publishDepth(): void {
    const depth = { pending: 0, delivered: 0, failed: 0 };
    for (const row of this.outbox.counts()) depth[row.state] += row.count;
    for (const [state, count] of Object.entries(depth)) this.metrics.notificationOutbox.labels(state).set(count);
  }

  /** Waits for attempts under way (bounded), so a clean shutdown does not leave them to the lease. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.purger) clearInterval(this.purger);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    for (const channel of this.channels.values()) channel.close?.();
  }
}
