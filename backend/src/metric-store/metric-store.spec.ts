import fc from 'fast-check';
import { MetricStore, type Sample } from './metric-store';

const t0 = 1_800_000_000_000;

describe('MetricStore', () => {
  it('keeps each series as an array of samples would: newest `maxSamples`, nothing older than the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.double({ noNaN: true, noDefaultInfinity: true })), { maxLength: 300 }),
        (maxSamples, windowMs, steps) => {
          const store = new MetricStore({ windowMs, staleAfterMs: 1e12, maxSeries: 10, maxSamplesPerSeries: maxSamples }, ['m']);
          const reference: Sample[] = [];
          let at = t0;
          for (const [gap, value] of steps) {
            at += gap;
            store.record('m', 'k', value, at);
            reference.push({ at, value });
            while (reference.length > maxSamples) reference.shift();
            while (reference.length > 0 && (reference[0] as Sample).at < at - windowMs) reference.shift();
          }
          expect(store.samples('m', 'k', 0)).toEqual(reference);
          const from = t0 + Math.floor((at - t0) / 2);
          expect(store.samples('m', 'k', from)).toEqual(reference.filter((sample) => sample.at >= from));
          const latest = reference.at(-1);
          expect(store.current('m', at)).toEqual(latest ? [{ metric: 'm', key: 'k', value: latest.value, at: latest.at }] : []);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a metric as its highest current series, leaves stale series out, and bounds the series', () => {
    const store = new MetricStore({ windowMs: 60_000, staleAfterMs: 10_000, maxSeries: 2, maxSamplesPerSeries: 10 }, ['m']);
    store.record('m', 'a', 1, t0);
    store.record('m', 'b', 5, t0 - 20_000);
    store.record('m', 'c', 9, t0);
    expect(store.value('m', t0)).toBe(1);
    expect(store.droppedSeries).toBe(1);
    expect(store.keys('m')).toEqual(['a', 'b']);
    store.record('m', 'x', Number.NaN, t0);
    expect(store.value('unknown', t0)).toBeUndefined();
  });

  it('says how far back its samples are complete', () => {
    const store = new MetricStore({ windowMs: 60_000, staleAfterMs: 10_000, maxSeries: 2, maxSamplesPerSeries: 10 }, ['m'], t0);
    expect(store.coveredSeconds('m', t0 + 30_000)).toBe(30);
    store.cover('m', t0 - 600_000);
    expect(store.coveredSeconds('m', t0)).toBe(600);
  });
});
