/**
 * How fresh a panel's data is, said where Grafana shows it: a notice in the panel's header (an info icon while data
 * keeps coming, a warning once the newest data is older than the panel allows), re-emitted as it ages so that a
 * stream that stopped is visible without a refresh. The same figures go to `meta.custom` for machines.
 */
import type { QueryResultMetaNotice } from '@grafana/data';

/** Live latencies kept for the median shown: the last this many events. */
const LATENCY_SAMPLES = 50;

export class Freshness {
  /** The time of the newest data shown (ms). */
  newestAt: number | undefined;
  private readonly latencies: number[] = [];

  constructor(private readonly openedAt = Date.now()) {}

  /** Data of `time` arrived now; `live` data (published since the panel opened) also counts for the latency. */
  saw(time: number, now = Date.now()): void {
    if (this.newestAt === undefined || time > this.newestAt) {
      this.newestAt = time;
    }
    if (time >= this.openedAt) {
      this.latencies.push(Math.max(0, now - time));
      if (this.latencies.length > LATENCY_SAMPLES) {
        this.latencies.shift();
      }
    }
  }

  /** The median time from an event's timestamp to its frame, over the last live events. */
  get latencyMs(): number | undefined {
    if (this.latencies.length === 0) {
      return undefined;
    }
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  notice(what: string, staleAfterMs: number, now = Date.now()): QueryResultMetaNotice {
    if (this.newestAt === undefined) {
      return { severity: 'info', text: `No data yet from ${what}.` };
    }
    const age = Math.max(0, now - this.newestAt);
    const at = new Date(this.newestAt)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC');
    if (age > staleAfterMs) {
      return {
        severity: 'warning',
        text: `Stale: nothing new from ${what} for ${duration(age)} (newest at ${at}); the source may have stopped.`,
      };
    }
    const latency = this.latencyMs;
    return {
      severity: 'info',
      text: `Newest data ${duration(age)} old (${at})${latency === undefined ? '' : `; event to panel ${Math.round(latency)} ms`}.`,
    };
  }

  custom(now = Date.now()): { newestAt: number | null; ageMs: number | null; latencyMs: number | null } {
    return {
      newestAt: this.newestAt ?? null,
      ageMs: this.newestAt === undefined ? null : Math.max(0, now - this.newestAt),
      latencyMs: this.latencyMs ?? null,
    };
  }
}

/** "850 ms", "12 s", "3 min 5 s", "2 h 10 min". */
export function duration(ms: number): string {
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  }
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}
