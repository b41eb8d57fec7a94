/**
 * The latest value and a short window of samples per metric series, fed from the event stream. A series is a
 * metric plus the event's key (e.g. a model or a node). Bounded: `max_series` series, `max_samples_per_series`
 * samples each, nothing older than `window`. Rules and dashboards read it, never the raw stream.
 *
 * A series keeps its samples in two rings of numbers (times, values) that double as they fill, up to
 * `max_samples_per_series`: 16 bytes a sample, where an object per sample took about 70, so the configured limits
 * (10,000 series of 3,600 samples: 576 MB) stay inside the service's memory budget.
 */
export interface Sample {
  at: number;
  value: number;
}

export interface SeriesView {
  metric: string;
  key: string;
  value: number;
  at: number;
}

const FIRST_CAPACITY = 16;

class Series {
  private times: Float64Array;
  private values: Float64Array;
  /** Ring index of the oldest sample. */
  private head = 0;
  length = 0;

  constructor(
    readonly metric: string,
    readonly key: string,
    private readonly maxSamples: number,
  ) {
    this.times = new Float64Array(Math.min(FIRST_CAPACITY, maxSamples));
    this.values = new Float64Array(this.times.length);
  }

  private slot(index: number): number {
    return (this.head + index) % this.times.length;
  }

  /** Appends a sample; when full at `maxSamples`, the oldest goes. */
  push(at: number, value: number): void {
    if (this.length === this.maxSamples) this.dropOldest();
    else if (this.length === this.times.length) this.grow();
    const slot = this.slot(this.length);
    this.times[slot] = at;
    this.values[slot] = value;
    this.length++;
  }

  private grow(): void {
    const capacity = Math.min(this.maxSamples, this.times.length * 2);
    const times = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    for (let index = 0; index < this.length; index++) {
      times[index] = this.times[this.slot(index)] as number;
      values[index] = this.values[this.slot(index)] as number;
    }
    this.times = times;
    this.values = values;
    this.head = 0;
  }

  private dropOldest(): void {
    this.head = (this.head + 1) % this.times.length;
    this.length--;
  }

  /** Lets go of the samples older than `horizon` (oldest first; a sample out of order stops the sweep). */
  dropBefore(horizon: number): void {
    while (this.length > 0 && (this.times[this.head] as number) < horizon) this.dropOldest();
  }

  get latest(): Sample | undefined {
    if (this.length === 0) return undefined;
    const slot = this.slot(this.length - 1);
    return { at: this.times[slot] as number, value: this.values[slot] as number };
  }

  since(from: number): Sample[] {
    const out: Sample[] = [];
    for (let index = 0; index < this.length; index++) {
      const slot = this.slot(index);
      const at = this.times[slot] as number;
      if (at >= from) out.push({ at, value: this.values[slot] as number });
    }
    return out;
  }
}

export interface MetricStoreLimits {
  windowMs: number;
  staleAfterMs: number;
  maxSeries: number;
  maxSamplesPerSeries: number;
}

export class MetricStore {
  private readonly series = new Map<string, Map<string, Series>>();
  /** Per metric, the time since which every sample is held (the store's memory began then, or history did). */
  private readonly coverage = new Map<string, number>();
  private seriesCount = 0;
  droppedSeries = 0;

  constructor(
    private readonly limits: MetricStoreLimits,
    metrics: readonly string[],
    now = Date.now(),
  ) {
    for (const metric of metrics) {
      this.series.set(metric, new Map());
      this.coverage.set(metric, now);
    }
  }

  /** Records that the metric's samples are complete since `since` (ms since the epoch). */
  cover(metric: string, since: number): void {
    if (this.coverage.has(metric)) this.coverage.set(metric, since);
  }

  /** How many seconds back from `now` the metric's samples are complete (a window longer than that is partial). */
  coveredSeconds(metric: string, now = Date.now()): number {
    return Math.max(0, (now - (this.coverage.get(metric) ?? now)) / 1000);
  }

  record(metric: string, key: string, value: number, at = Date.now()): void {
    const byKey = this.series.get(metric);
    if (!byKey || !Number.isFinite(value)) return;
    let series = byKey.get(key);
    if (!series) {
      if (this.seriesCount >= this.limits.maxSeries) {
        this.droppedSeries++;
        return;
      }
      series = new Series(metric, key, this.limits.maxSamplesPerSeries);
      byKey.set(key, series);
      this.seriesCount++;
    }
    series.push(at, value);
    series.dropBefore(at - this.limits.windowMs);
  }

  /** Each series' latest value, leaving out series not updated within `stale_after`. */
  current(metric: string, now = Date.now()): SeriesView[] {
    const out: SeriesView[] = [];
    for (const series of this.series.get(metric)?.values() ?? []) {
      const latest = series.latest;
      if (latest && now - latest.at <= this.limits.staleAfterMs) out.push({ metric, key: series.key, value: latest.value, at: latest.at });
    }
    return out;
  }

  /** The metric's value for rules: its highest current value across series, undefined when none is current. */
  value(metric: string, now = Date.now()): number | undefined {
    const views = this.current(metric, now);
    return views.length === 0 ? undefined : Math.max(...views.map((view) => view.value));
  }

  /** Samples of one series since `since` (ms epoch), oldest first. */
  samples(metric: string, key: string, since: number): Sample[] {
    return this.series.get(metric)?.get(key)?.since(since) ?? [];
  }

  keys(metric: string): string[] {
    return [...(this.series.get(metric)?.keys() ?? [])];
  }
}
