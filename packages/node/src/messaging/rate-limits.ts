import { TokenBucket } from '@systemge/access';

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

/** The two buckets of one connection. */
export class ConnectionRateLimiter {
  readonly messages: TokenBucket | undefined;
  readonly bytes: TokenBucket | undefined;
  readonly mode: 'backpressure' | 'drop';

  constructor(config: Required<RateLimitConfig>) {
    const burst = config.burstSeconds;
    this.messages =
      config.messagesPerSecond > 0 ? new TokenBucket(config.messagesPerSecond, Math.max(1, config.messagesPerSecond * burst)) : undefined;
    this.bytes = config.bytesPerSecond > 0 ? new TokenBucket(config.bytesPerSecond, Math.max(1, config.bytesPerSecond * burst)) : undefined;
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
