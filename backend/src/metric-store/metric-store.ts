/**
 * The latest value and a short window of samples per metric series, fed from the event stream. A series is a
 * metric plus the event's key (e.g. a model or a node). Bounded: `max_series` series, `max_samples_per_series`
 * samples each, nothing older than `window`. Rules and dashboards read it, never the raw stream.
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

class Series {
  samples: Sample[] = [];
  constructor(
    readonly metric: string,
    readonly key: string,
  ) {}

  get latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
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
      series = new Series(metric, key);
      byKey.set(key, series);
      this.seriesCount++;
    }
    series.samples.push({ at, value });
    const horizon = at - this.limits.windowMs;
    let drop = Math.max(0, series.samples.length - this.limits.maxSamplesPerSeries);
    while (drop < series.samples.length && (series.samples[drop] as Sample).at < horizon) drop++;
    if (drop > 0) series.samples.splice(0, drop);
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
    return (
      this.series
        .get(metric)
        ?.get(key)
        ?.samples.filter((sample) => sample.at >= since) ?? []
    );
  }

  keys(metric: string): string[] {
    return [...(this.series.get(metric)?.keys() ?? [])];
  }
}
