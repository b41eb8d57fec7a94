/**
 * Token buckets per client identity (an address, a credential), refilled continuously. At most `maxTracked`
 * buckets are kept, the least recently used dropped first, so a flood of new addresses cannot grow memory; a dropped
 * bucket comes back full, which errs towards letting a quiet client in.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxTracked: number,
  ) {}

  /** Takes one token for each identity; 0 when all had one, else the seconds until the emptiest has one again. */
  take(identities: readonly string[], now = Date.now()): number {
    let wait = 0;
    const buckets = identities.map((identity) => {
      const bucket = this.bucket(identity, now);
      if (bucket.tokens < 1) wait = Math.max(wait, (1 - bucket.tokens) / this.perSecond);
      return bucket;
    });
    if (wait > 0) return wait;
    for (const bucket of buckets) bucket.tokens -= 1;
    return 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  private bucket(identity: string, now: number): { tokens: number; at: number } {
    let bucket = this.buckets.get(identity);
    if (bucket) {
      this.buckets.delete(identity); // re-inserted below: Map order is recency order
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    } else {
      bucket = { tokens: this.burst, at: now };
      if (this.buckets.size >= this.maxTracked) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(identity, bucket);
    return bucket;
  }
}
