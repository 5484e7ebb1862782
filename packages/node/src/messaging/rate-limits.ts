/** Per-connection incoming rate limits (token buckets). */
export interface RateLimitConfig {
  /** Messages per second a peer may send; 0 = unlimited. Default 0. */
  messagesPerSecond?: number;
  /** Payload bytes per second a peer may send; 0 = unlimited. Default 0. */
  bytesPerSecond?: number;
  /** Burst size as seconds of rate. Default 1. */
  burstSeconds?: number;
  /**
   * What happens past the rate: `backpressure` pauses reading from the peer until tokens refill
   * (nothing is lost); `drop` discards the message, counts it, and answers a sync request with a
   * failure. Default `backpressure`.
   */
  onExceed?: 'backpressure' | 'drop';
}

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

/** The two buckets of one connection. */
export class ConnectionRateLimiter {
  readonly messages: TokenBucket | undefined;
  readonly bytes: TokenBucket | undefined;
  readonly mode: 'backpressure' | 'drop';

  constructor(config: Required<RateLimitConfig>) {
    const burst = config.burstSeconds;
    this.messages =
      config.messagesPerSecond > 0
        ? new TokenBucket(config.messagesPerSecond, Math.max(1, config.messagesPerSecond * burst))
        : undefined;
    this.bytes =
      config.bytesPerSecond > 0 ? new TokenBucket(config.bytesPerSecond, Math.max(1, config.bytesPerSecond * burst)) : undefined;
    this.mode = config.onExceed;
  }

  /** Returns 0 when the message may pass (tokens taken), else the ms until it could. */
  admit(size: number): number {
    const now = performance.now();
    const m = this.messages;
    const b = this.bytes;
    const waitM = m === undefined ? 0 : m.waitMs(1, now);
    const waitB = b === undefined ? 0 : b.waitMs(size, now);
    if (waitM > 0 || waitB > 0) return Math.max(waitM, waitB, 1);
    m?.force(1, now);
    b?.force(size, now);
    return 0;
  }
}
