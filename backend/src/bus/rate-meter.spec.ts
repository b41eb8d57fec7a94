import { RateMeter } from './rate-meter';

describe('RateMeter', () => {
  it('averages completed seconds over its window and forgets older ones', () => {
    const meter = new RateMeter(10);
    const base = 1_000_000_000_000;
    for (let second = 0; second < 10; second++) meter.mark(20, base + second * 1000);
    expect(meter.perSecond(base + 10_000)).toBe(20);
    expect(meter.perSecond(base + 15_000)).toBe(10);
    expect(meter.perSecond(base + 30_000)).toBe(0);
  });
});
