import { RecentLatency } from './recent-latency';

describe('RecentLatency', () => {
  it('has no figures before the first observation', () => {
    expect(new RecentLatency(16, 60_000).figures(0)).toEqual({ samples: 0, p50_ms: null, p99_ms: null, max_ms: null });
  });

  it('reads p50, p99 and max in milliseconds from the observations of the window', () => {
    const recent = new RecentLatency(1000, 60_000);
    for (let n = 1; n <= 100; n += 1) recent.observe(n / 1000, 1000);
    expect(recent.figures(2000)).toEqual({ samples: 100, p50_ms: 50, p99_ms: 99, max_ms: 100 });
  });

  it('forgets observations older than the window', () => {
    const recent = new RecentLatency(1000, 60_000);
    recent.observe(5, 0);
    recent.observe(0.002, 50_000);
    expect(recent.figures(61_000)).toEqual({ samples: 1, p50_ms: 2, p99_ms: 2, max_ms: 2 });
    expect(recent.figures(111_000).samples).toBe(0);
  });

  it('keeps only the newest observations when more than its capacity come in the window', () => {
    const recent = new RecentLatency(16, 60_000);
    for (let n = 0; n < 100; n += 1) recent.observe(n < 84 ? 9 : 0.001, n);
    expect(recent.figures(200)).toEqual({ samples: 16, p50_ms: 1, p99_ms: 1, max_ms: 1 });
  });
});
