/**
 * Whether the service is behind its load, as opposed to one client being behind its own connection. Checked every
 * `overload_check_interval`: the mean event-loop delay since the last check (the process has more work than time),
 * and the share of subscribers whose messages wait for their connection (queues growing everywhere). While
 * overloaded, publishers are pushed back (503 with Retry-After) and subscribers past their cap are held instead of
 * closed; /health reports it. The state clears at the first check with both signals under their thresholds.
 */
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from './streaming.metrics';

export interface LaggingCount {
  lagging: number;
  subscribers: number;
}

export interface LoadStatus {
  overloaded: boolean;
  /** What made it overloaded: the event loop, lagging subscribers, or both. */
  reasons: ('event_loop_delay' | 'lagging_subscribers')[];
  event_loop_delay_ms: number;
  lagging_subscribers: number;
  subscribers: number;
  /** ISO time the current overload began. */
  since?: string;
}

export interface LoadThresholds {
  eventLoopDelayMs: number;
  laggingShare: number;
  minLagging: number;
}

/** The decision itself, apart from the clock and the histogram. */
export function judgeLoad(delayMs: number, count: LaggingCount, thresholds: LoadThresholds): LoadStatus['reasons'] {
  const reasons: LoadStatus['reasons'] = [];
  if (delayMs > thresholds.eventLoopDelayMs) reasons.push('event_loop_delay');
  if (count.lagging >= thresholds.minLagging && count.lagging >= thresholds.laggingShare * count.subscribers) {
    reasons.push('lagging_subscribers');
  }
  return reasons;
}

@Injectable()
export class LoadMonitor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('LoadMonitor');
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly thresholds: LoadThresholds;
  private timer: NodeJS.Timeout | undefined;
  private readonly watchers: (() => void)[] = [];
  private count: () => LaggingCount = () => ({ lagging: 0, subscribers: 0 });
  private current: LoadStatus = { overloaded: false, reasons: [], event_loop_delay_ms: 0, lagging_subscribers: 0, subscribers: 0 };
  overloadedSince: number | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly metrics: StreamingMetrics,
  ) {
    const settings = config.performance_optimization;
    this.thresholds = {
      eventLoopDelayMs: settings.overload_event_loop_delay,
      laggingShare: settings.overload_lagging_share,
      minLagging: settings.overload_min_lagging,
    };
  }

  onModuleInit(): void {
    this.histogram.enable();
    this.timer = setInterval(() => this.check(), this.config.performance_optimization.overload_check_interval);
    this.timer.unref();
  }

  /** Where lagging subscribers are counted (the fan-out), and what to run after each check. */
  watch(count: () => LaggingCount, afterCheck: () => void): void {
    this.count = count;
    this.watchers.push(afterCheck);
  }

  get overloaded(): boolean {
    return this.current.overloaded;
  }

  get retryAfterSeconds(): number {
    return this.config.performance_optimization.overload_retry_after;
  }

  status(): LoadStatus {
    return this.current;
  }

  check(): void {
    // The histogram reports nanoseconds; NaN before its first sample.
    const delayMs = Number.isFinite(this.histogram.mean) ? this.histogram.mean / 1e6 : 0;
    this.histogram.reset();
    const count = this.count();
    const reasons = judgeLoad(delayMs, count, this.thresholds);
    const overloaded = reasons.length > 0;
    if (overloaded && this.overloadedSince === undefined) {
      this.overloadedSince = Date.now();
      this.logger.warn(
        `Overloaded (${reasons.join(', ')}): event-loop delay ${delayMs.toFixed(0)} ms, ${count.lagging} of ${count.subscribers} subscribers lagging; publishers get 503`,
      );
    } else if (!overloaded && this.overloadedSince !== undefined) {
      this.logger.log(`No longer overloaded after ${((Date.now() - this.overloadedSince) / 1000).toFixed(1)} s`);
      this.overloadedSince = undefined;
    }
    this.current = {
      overloaded,
      reasons,
      event_loop_delay_ms: Math.round(delayMs * 10) / 10,
      lagging_subscribers: count.lagging,
      subscribers: count.subscribers,
      ...(this.overloadedSince === undefined ? {} : { since: new Date(this.overloadedSince).toISOString() }),
    };
    this.metrics.overloaded.set(overloaded ? 1 : 0);
    this.metrics.lagging.set(count.lagging);
    this.metrics.eventLoopDelay.set(delayMs / 1000);
    for (const watcher of this.watchers) watcher();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.histogram.disable();
  }
}
