/** Counts events per second over a sliding window of whole seconds, in constant memory. */
export class RateMeter {
  private readonly buckets: number[];
  private readonly seconds: number[];

  constructor(private readonly windowSeconds = 10) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
    this.seconds = new Array<number>(windowSeconds).fill(-1);
  }

  mark(count = 1, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const index = second % this.windowSeconds;
    if (this.seconds[index] !== second) {
      this.seconds[index] = second;
      this.buckets[index] = 0;
    }
    this.buckets[index] = (this.buckets[index] ?? 0) + count;
  }

  /** Average rate over the window's completed seconds. */
  perSecond(now = Date.now()): number {
    const current = Math.floor(now / 1000);
    let total = 0;
    for (let index = 0; index < this.windowSeconds; index++) {
      const second = this.seconds[index] ?? -1;
      if (second < current && second >= current - this.windowSeconds) total += this.buckets[index] ?? 0;
    }
    return total / this.windowSeconds;
  }
}
