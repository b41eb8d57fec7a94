/** Evaluates a parsed panel query against the metric store. */
import type { PanelValue } from '@data-streaming/protocol';
import type { MetricStore, Sample } from '../../metric-store/metric-store';
import type { PanelQuery } from './panel-query';

export type { PanelValue };

function aggregate(query: PanelQuery, samples: Sample[]): number | null {
  if (query.fn === 'count') return samples.length;
  if (samples.length === 0) return null;
  const values = samples.map((sample) => sample.value);
  switch (query.fn) {
    case 'current':
    case 'last':
      return (samples[samples.length - 1] as Sample).value;
    case 'avg':
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'rate': {
      const first = samples[0] as Sample;
      const last = samples[samples.length - 1] as Sample;
      const seconds = (last.at - first.at) / 1000;
      return seconds > 0 ? Math.max(0, last.value - first.value) / seconds : null;
    }
    case 'percentile': {
      const sorted = [...values].sort((a, b) => a - b);
      const rank = Math.ceil(((query.quantile ?? 100) / 100) * sorted.length) - 1;
      return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
    }
  }
}

const round = (value: number | null): number | null => (value === null ? null : Math.round(value * 1e6) / 1e6);

export function evaluatePanelQuery(query: PanelQuery, store: MetricStore, now = Date.now()): PanelValue {
  const value = evaluate(query, store, now);
  if (query.windowSeconds === undefined) return value;
  const covered = Math.floor(store.coveredSeconds(query.metric, now));
  return covered < query.windowSeconds ? { ...value, partial: { covered_seconds: covered, window_seconds: query.windowSeconds } } : value;
}

function evaluate(query: PanelQuery, store: MetricStore, now: number): PanelValue {
  const since = now - (query.windowSeconds ?? 0) * 1000;
  const seriesSamples = (key: string): Sample[] =>
    query.fn === 'current' || (query.fn === 'last' && query.windowSeconds === undefined)
      ? store
          .current(query.metric, now)
          .filter((view) => view.key === key)
          .map((view) => ({ at: view.at, value: view.value }))
      : store.samples(query.metric, key, since);

  if (query.by === undefined) {
    if (query.fn === 'current' || (query.fn === 'last' && query.windowSeconds === undefined))
      return { kind: 'scalar', value: store.value(query.metric, now) ?? null };
    if (query.fn === 'rate') {
      // The rate of a metric is the sum of its series' rates: each series is its own counter.
      const rates = store.keys(query.metric).map((key) => aggregate(query, seriesSamples(key)));
      const known = rates.filter((rate): rate is number => rate !== null);
      return { kind: 'scalar', value: known.length === 0 ? null : round(known.reduce((sum, rate) => sum + rate, 0)) };
    }
    const all = store
      .keys(query.metric)
      .flatMap((key) => seriesSamples(key))
      .sort((a, b) => a.at - b.at);
    return { kind: 'scalar', value: round(aggregate(query, all)) };
  }
  let series = store
    .keys(query.metric)
    .map((key) => ({ label: key, value: round(aggregate(query, seriesSamples(key))) }))
    .filter((entry) => entry.value !== null || query.fn === 'count');
  if (query.top !== undefined) series = [...series].sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity)).slice(0, query.top);
  else series.sort((a, b) => a.label.localeCompare(b.label));
  return { kind: 'series', label: query.by, series };
}
