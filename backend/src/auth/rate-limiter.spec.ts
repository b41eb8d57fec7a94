import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('lets a burst through, then one per 1/rate seconds, and says how long to wait', () => {
    const limiter = new RateLimiter(2, 3, 100);
    const t0 = 1_000_000;
    expect([0, 1, 2].map(() => limiter.take(['a'], t0))).toEqual([0, 0, 0]);
    expect(limiter.take(['a'], t0)).toBeCloseTo(0.5);
    expect(limiter.take(['a'], t0 + 500)).toBe(0);
    expect(limiter.take(['a'], t0 + 500)).toBeCloseTo(0.5);
  });

  it('needs a token from every identity, and takes none when one is empty', () => {
    const limiter = new RateLimiter(1, 1, 100);
    expect(limiter.take(['addr:1', 'key:x'], 0)).toBe(0);
    expect(limiter.take(['addr:2', 'key:x'], 0)).toBeGreaterThan(0);
    // addr:2 kept its token: the refused request took nothing.
    expect(limiter.take(['addr:2'], 0)).toBe(0);
  });

  it('keeps at most max_tracked buckets, dropping the least recently used', () => {
    const limiter = new RateLimiter(1, 1, 3);
    for (let index = 0; index < 1000; index++) limiter.take([`addr:${index}`], 0);
    expect(limiter.size).toBe(3);
  });
});
