/** A token bucket refilled continuously at `rate` per second, holding at most `capacity`. */
export class TokenBucket {
  readonly rate: number;
  readonly capacity: number;
  private tokens: number;
  private last: number;

  constructor(rate: number, capacity: number, now = performance.now()) {
    this.rate = rate;
    this.capacity = capacity;
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Takes `n` tokens if available. A request larger than the capacity is allowed from a full bucket. */
  take(n: number, now = performance.now()): boolean {
    this.refill(now);
    if (this.tokens >= n || (this.tokens >= this.capacity && n > this.capacity)) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Takes `n` tokens, going into debt if needed (used once the message is admitted anyway). */
  force(n: number, now = performance.now()): void {
    this.refill(now);
    this.tokens -= n;
  }

  /** Milliseconds until `n` tokens (capped at capacity) are available. */
  waitMs(n: number, now = performance.now()): number {
    this.refill(now);
    const need = Math.min(n, this.capacity) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need * 1000) / this.rate);
  }
}
