/**
 * Works the outbox: claims due deliveries (most urgent first, at most `delivery_concurrency` at a time), makes one
 * attempt each bounded by `delivery_timeout`, and records the outcome: delivered; retry later with exponential
 * backoff and jitter (or the receiver's Retry-After, if longer); or failed for good, with the reason. With Redis every
 * instance runs a dispatcher on the shared outbox; while the outbox cannot be reached it logs and tries again at its
 * next poll, and an outcome it could not record is attempted again once the claim's lease runs out.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { redactError } from '../../common/redact';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { StreamingMetrics } from '../../metrics/streaming.metrics';
import { DeliveryAdapters, DeliveryError } from '../channels/delivery-adapter';
import { OUTBOX } from '../outbox/outbox.token';
import type { ClaimedDelivery, Outbox } from '../outbox/outbox.port';

const IDLE_POLL_MS = 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;

type Outcome = { kind: 'delivered' } | { kind: 'failed'; reason: string } | { kind: 'retry'; delay: number; reason: string };

export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

@Injectable()
export class DispatcherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DispatcherService.name);
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private purger: NodeJS.Timeout | undefined;
  private scheduled = false;
  /** The pass under way, if any; a wake meanwhile asks for another right after it. */
  private passing: Promise<number> | undefined;
  private again = false;
  private outboxDown = false;
  private stopped = true;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(OUTBOX) private readonly outbox: Outbox,
    private readonly channels: DeliveryAdapters,
    private readonly metrics: StreamingMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.real_time_notifications.enabled) return;
    this.stopped = false;
    const resumed = await this.outbox.releaseLeases();
    if (resumed > 0) this.logger.warn(`Resuming ${resumed} deliveries that were under way when the service stopped`);
    void this.purge();
    this.purger = setInterval(() => void this.purge(), PURGE_EVERY_MS);
    this.purger.unref();
    this.wake();
  }

  /** Looks for due work now (after an accept) instead of at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.passing = this.pass();
    const wait = await this.passing;
    this.passing = undefined;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.wake();
      return;
    }
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref();
  }

  /** Claims and starts what is due; returns how long to wait before the next pass. */
  private async pass(): Promise<number> {
    const settings = this.config.real_time_notifications;
    const leaseMs = settings.delivery_timeout * 1000 * 2;
    try {
      const claimed = await this.outbox.claimDue(settings.delivery_concurrency - this.inFlight.size, leaseMs);
      for (const delivery of claimed) {
        const attempt = this.attempt(delivery).finally(() => {
          this.inFlight.delete(attempt);
          this.wake();
        });
        this.inFlight.add(attempt);
      }
      await this.publishDepth();
      const next = await this.outbox.nextDueAt();
      this.setOutboxDown(false);
      // At capacity, the first attempt to finish wakes the next pass.
      if (next === undefined || this.inFlight.size >= settings.delivery_concurrency) return IDLE_POLL_MS;
      return Math.min(IDLE_POLL_MS, Math.max(0, next - Date.now()));
    } catch (error) {
      this.setOutboxDown(true, error);
      return IDLE_POLL_MS;
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const { notification, channel } = delivery;
    try {
      await this.record(delivery, await this.outcome(delivery));
    } catch (error) {
      this.logger.warn(
        `Outcome of notification ${notification.id} by ${channel} not recorded (${redactError(error)}); it is attempted again after its lease`,
      );
    }
  }

  /** Makes one attempt; never throws. */
  private async outcome({ notification, channel: name, attempts }: ClaimedDelivery): Promise<Outcome> {
    const settings = this.config.real_time_notifications;
    const channel = this.channels.get(name);
    try {
      if (!channel) throw new DeliveryError(`no such channel ${name}`, false);
      await channel.deliver(notification, AbortSignal.timeout(settings.delivery_timeout * 1000));
      return { kind: 'delivered' };
    } catch (error) {
      const failure =
        error instanceof DeliveryError ? error : new DeliveryError((error as { message?: string }).message ?? String(error), true);
      if (!failure.retryable || attempts >= settings.max_attempts) {
        return { kind: 'failed', reason: failure.retryable ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message };
      }
      const delay = Math.max(
        backoffMs(attempts, settings.retry_base_delay * 1000, settings.retry_max_delay * 1000),
        failure.retryAfterMs ?? 0,
      );
      return { kind: 'retry', delay, reason: failure.message };
    }
  }

  private async record({ notification, channel: name, attempts }: ClaimedDelivery, outcome: Outcome): Promise<void> {
    const { id } = notification;
    switch (outcome.kind) {
      case 'delivered':
        await this.outbox.markDelivered(id, name);
        this.metrics.notificationDeliveries.labels(name, 'delivered').inc();
        this.metrics.notificationLatency.labels(name).observe((Date.now() - Date.parse(notification.created_at)) / 1000);
        return;
      case 'failed':
        await this.outbox.markFailed(id, name, outcome.reason);
        this.metrics.notificationDeliveries.labels(name, 'failed').inc();
        this.logger.error(`Notification ${id} not delivered by ${name}: ${outcome.reason}`, { notification: id, channel: name });
        return;
      case 'retry':
        await this.outbox.markRetry(id, name, Date.now() + outcome.delay, outcome.reason);
        this.metrics.notificationDeliveries.labels(name, 'retry').inc();
        this.logger.warn(`Notification ${id} by ${name}: attempt ${attempts} failed (${outcome.reason}); next in ${outcome.delay} ms`, {
          notification: id,
          channel: name,
        });
    }
  }

  /** Keeps the outbox to `retention` days of finished notifications (and so bounds the idempotency window). */
  private async purge(): Promise<void> {
    const days = this.config.real_time_notifications.retention;
    try {
      const removed = await this.outbox.purgeFinished(Date.now() - days * 86_400_000);
      if (removed > 0) this.logger.log(`Purged ${removed} finished notifications older than ${days} days`);
    } catch (error) {
      this.logger.warn(`Purge of finished notifications failed (${redactError(error)}); next try in an hour`);
    }
  }

  private async publishDepth(): Promise<void> {
    const depth = { pending: 0, delivered: 0, failed: 0 };
    for (const row of await this.outbox.counts()) depth[row.state] += row.count;
    for (const [state, count] of Object.entries(depth)) this.metrics.notificationOutbox.labels(state).set(count);
  }

  /** Logs the start and the end of an outage once each, not every poll. */
  private setOutboxDown(down: boolean, error?: unknown): void {
    if (down === this.outboxDown) return;
    this.outboxDown = down;
    if (down) this.logger.warn(`Notification outbox unavailable (${redactError(error)}); polling again every ${IDLE_POLL_MS} ms`);
    else this.logger.log('Notification outbox available again');
  }

  /** Waits for attempts under way (bounded), so a clean shutdown does not leave them to the lease. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.purger) clearInterval(this.purger);
    let timer: NodeJS.Timeout | undefined;
    const settled = async () => {
      await this.passing;
      await Promise.allSettled([...this.inFlight]);
    };
    await Promise.race([settled(), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    for (const channel of this.channels.all()) channel.close?.();
  }
}
