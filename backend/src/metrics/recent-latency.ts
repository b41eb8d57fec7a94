/**
 * The streaming latency of the last minute, for the status API (the console's service tile): the newest observations
 * in a ring, their quantiles read exactly on demand. Prometheus keeps the histogram for rates and alerts; this answers
 * "what is the latency now" without a Prometheus.
 */
import type { LatencyFigures } from '@data-streaming/protocol';

export class RecentLatency {
  private readonly seconds: Float64Array;
  private readonly at: Float64Array;
  private next = 0;
  private filled = 0;

  /** `capacity` observations at most, none older than `windowMs`. */
  constructor(
    capacity: number,
    readonly windowMs: number,
  ) {
    this.seconds = new Float64Array(capacity);
    this.at = new Float64Array(capacity);
  }

  observe(seconds: number, now = performance.now()): void {
    this.seconds[this.next] = seconds;
    this.at[this.next] = now;
    this.next = (this.next + 1) % this.seconds.length;
    if (this.filled < this.seconds.length) this.filled += 1;
  }

  /** p50, p99 and max in milliseconds over the window's observations (null without any). */
  figures(now = performance.now()): LatencyFigures {
    const values: number[] = [];
    for (let index = 0; index < this.filled; index += 1) {
      if (now - (this.at[index] as number) <= this.windowMs) values.push(this.seconds[index] as number);
    }
    if (values.length === 0) return { samples: 0, p50_ms: null, p99_ms: null, max_ms: null };
    values.sort((a, b) => a - b);
    const quantile = (q: number): number => (values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] as number) * 1000;
    return {
      samples: values.length,
      p50_ms: round(quantile(0.5)),
      p99_ms: round(quantile(0.99)),
      max_ms: round((values[values.length - 1] as number) * 1000),
    };
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
