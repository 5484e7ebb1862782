/**
 * A token bucket refilled lazily on `take`: no timer per client. `rate` tokens per second, at most
 * `burst` saved up. A rate of 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens if there are enough; otherwise takes none and returns false. */
  take(n: number, now: number): boolean {
    if (this.rate === 0) return true;
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
