import fc from 'fast-check';
import { MetricStore } from '../../metric-store/metric-store';
import { formatPanelQuery, parsePanelQuery, QuerySyntaxError, type PanelQuery } from './panel-query';
import { evaluatePanelQuery } from './panel-query.evaluator';

describe('parsePanelQuery', () => {
  it('parses metrics, window aggregates, percentiles, groups and top-k', () => {
    expect(parsePanelQuery('error_rate')).toEqual({ fn: 'current', metric: 'error_rate' });
    expect(parsePanelQuery('avg(latency, 5m)')).toEqual({ fn: 'avg', metric: 'latency', windowSeconds: 300 });
    expect(parsePanelQuery('percentile(request_latency_ms, 60s, 99.9) by tenant top 3')).toEqual({
      fn: 'percentile',
      metric: 'request_latency_ms',
      windowSeconds: 60,
      quantile: 99.9,
      by: 'tenant',
      top: 3,
    });
    expect(parsePanelQuery('  rate( requests ,1h )  ')).toEqual({ fn: 'rate', metric: 'requests', windowSeconds: 3600 });
    expect(parsePanelQuery('last(x)')).toEqual({ fn: 'last', metric: 'x' });
  });

  it.each([
    ['', 'expected a metric or a function but found end of query', 0],
    ['median(x, 60s)', 'unknown function "median", expected one of: last, avg, min, max, sum, count, rate, percentile', 0],
    ['avg(x)', 'avg needs a window, e.g. avg(x, 60s)', 5],
    ['avg(x, 60)', 'expected a window such as 60s or 5m but found "60"', 7],
    ['percentile(x, 60s)', 'percentile needs a quantile, e.g. percentile(latency, 60s, 99)', 17],
    ['percentile(x, 60s, 150)', 'a quantile must be above 0 and at most 100', 19],
    ['max(x, 60s, 5)', 'max takes no third argument', 12],
    ['x top 3', 'top needs a group, e.g. ... by model top 5', 2],
    ['x by model top 0', 'top takes a whole number from 1 to 1000', 15],
    ['x by', 'expected a label name but found end of query', 4],
    ['x; drop table', 'unexpected character ";"', 1],
    ['avg(x, 60s) extra', 'unexpected "extra"', 12],
  ])('refuses %j with a reason and a position', (text, reason, position) => {
    expect(() => parsePanelQuery(text)).toThrow(QuerySyntaxError);
    try {
      parsePanelQuery(text);
    } catch (error) {
      expect(error).toMatchObject({ reason, position });
    }
  });

  it('gives back the same query from its text, for any query (property)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/).filter((word) => !['by', 'top'].includes(word));
    const query: fc.Arbitrary<PanelQuery> = fc
      .record({
        fn: fc.constantFrom('current', 'last', 'avg', 'min', 'max', 'sum', 'count', 'rate', 'percentile' as const),
        metric: name,
        windowSeconds: fc.integer({ min: 1, max: 86_400 }),
        quantile: fc.integer({ min: 1, max: 100 }),
        by: fc.option(name, { nil: undefined }),
        top: fc.integer({ min: 1, max: 1000 }),
      })
      .map(({ fn, metric, windowSeconds, quantile, by, top }) => ({
        fn,
        metric,
        ...(fn === 'current' ? {} : { windowSeconds }),
        ...(fn === 'percentile' ? { quantile } : {}),
        ...(by === undefined ? {} : { by, top }),
      }));
    fc.assert(
      fc.property(query, (parsed) => expect(parsePanelQuery(formatPanelQuery(parsed))).toEqual(parsed)),
      { numRuns: 500 },
    );
  });

  it('answers any text with a query or a QuerySyntaxError, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          parsePanelQuery(text);
        } catch (error) {
          expect(error).toBeInstanceOf(QuerySyntaxError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('evaluatePanelQuery', () => {
  const now = 1_800_000_000_000;
  const store = new MetricStore({ windowMs: 600_000, staleAfterMs: 30_000, maxSeries: 100, maxSamplesPerSeries: 1000 }, [
    'latency',
    'requests',
    'tokens',
  ]);
  for (let second = 0; second < 10; second++) {
    store.record('latency', 'm1', 100 + second * 10, now - 9000 + second * 1000);
    store.record('latency', 'm2', 50, now - 9000 + second * 1000);
    store.record('requests', 'm1', 1000 + second * 5, now - 9000 + second * 1000);
    store.record('requests', 'm2', 200 + second * 2, now - 9000 + second * 1000);
  }
  store.record('tokens', 'acme', 30, now - 100_000);
  store.record('tokens', 'acme', 10, now - 1000);
  store.record('tokens', 'globex', 5, now - 1000);
  const run = (text: string) => evaluatePanelQuery(parsePanelQuery(text), store, now);

  it('computes current values, window aggregates and percentiles', () => {
    expect(run('latency')).toEqual({ kind: 'scalar', value: 190 });
    expect(run('max(latency, 5s)')).toEqual({ kind: 'scalar', value: 190 });
    expect(run('min(latency, 60s)')).toEqual({ kind: 'scalar', value: 50 });
    expect(run('avg(latency, 3s) by model')).toEqual({
      kind: 'series',
      label: 'model',
      series: [
        { label: 'm1', value: 175 },
        { label: 'm2', value: 50 },
      ],
    });
    expect(run('percentile(latency, 60s, 50) by model')).toMatchObject({
      series: [
        { label: 'm1', value: 140 },
        { label: 'm2', value: 50 },
      ],
    });
    expect(run('count(latency, 60s)')).toEqual({ kind: 'scalar', value: 20 });
  });

  it('computes the per-second rate of counters, summed over series without a group', () => {
    expect(run('rate(requests, 60s) by model')).toEqual({
      kind: 'series',
      label: 'model',
      series: [
        { label: 'm1', value: 5 },
        { label: 'm2', value: 2 },
      ],
    });
    expect(run('rate(requests, 60s)')).toEqual({ kind: 'scalar', value: 7 });
  });

  it('keeps only the window, and the k largest with top', () => {
    expect(run('sum(tokens, 60s) by tenant top 1')).toEqual({ kind: 'series', label: 'tenant', series: [{ label: 'acme', value: 10 }] });
    expect(run('sum(tokens, 10m) by tenant')).toEqual({
      kind: 'series',
      label: 'tenant',
      series: [
        { label: 'acme', value: 40 },
        { label: 'globex', value: 5 },
      ],
    });
    expect(run('avg(latency, 60s) by model top 5').kind).toBe('series');
  });

  it('answers null where there is no data', () => {
    expect(evaluatePanelQuery(parsePanelQuery('avg(latency, 60s)'), store, now + 3_600_000)).toEqual({ kind: 'scalar', value: null });
    expect(evaluatePanelQuery(parsePanelQuery('latency'), store, now + 3_600_000)).toEqual({ kind: 'scalar', value: null });
  });
});
