import { AddressList as BaseAddressList, type InvalidEntryError } from '@systemge/access';
import { ConfigError } from '../errors.js';

/** Who may connect, checked on the raw socket before any per-connection work. */
export interface AccessControlConfig {
  /** Addresses or CIDR ranges (IPv4 and IPv6) allowed to connect; empty or absent allows all. */
  allow?: string[];
  /** Addresses or CIDR ranges refused; wins over `allow`. Default none. */
  deny?: string[];
  /** Connection attempts one IP may make per `attemptWindowMs`; 0 = unlimited. Default 0. */
  maxAttemptsPerIp?: number;
  /** Sliding window of `maxAttemptsPerIp`, ms, 1 to 2147483647 (`MAX_TIMER_MS`). Default 10000. */
  attemptWindowMs?: number;
  /**
   * Accepted connections still handshaking. When full, the oldest is dropped to make room, so silent
   * sockets push each other out instead of locking real peers out. Default 128.
   */
  maxPendingHandshakes?: number;
  /**
   * Bytes all pending handshakes together may hold. Each pending handshake can hold up to
   * `limits.maxHandshakeFrameBytes` (its first frame), so at most
   * `floor(maxPendingHandshakeBytes / maxHandshakeFrameBytes)` handshakes are pending at once; above
   * that the oldest is dropped (counted, logged), as for `maxPendingHandshakes`. Default 8 MiB.
   */
  maxPendingHandshakeBytes?: number;
  /** Open connections (all states) above which new sockets are refused. Default 4096. */
  maxConnections?: number;
}

/** An invalid list entry in a node's configuration is a ConfigError naming its field path. */
const configError: InvalidEntryError = (path, message) => new ConfigError(path, message);

/** An `AddressList` (from `@systemge/access`) whose invalid entries are ConfigErrors, as the node's config reports them. */
export class AddressList extends BaseAddressList {
  constructor(entries: readonly string[] = [], path = 'list') {
    super(entries, path, configError);
  }
}

/** Counts attempts per IP over a sliding window (two fixed windows, weighted), in O(1) per attempt. */
export class AttemptRateLimiter {
  private readonly max: number;
  private readonly windowMs: number;
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();

  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }

  /** Records an attempt; false when the IP is over its rate. */
  attempt(ip: string, now = Date.now()): boolean {
    if (this.max <= 0) return true;
    let w = this.windows.get(ip);
    if (w === undefined) {
      if (this.windows.size >= 100_000) this.prune(now);
      w = { start: now, current: 0, previous: 0 };
      this.windows.set(ip, w);
    }
    const elapsed = now - w.start;
    if (elapsed >= 2 * this.windowMs) {
      w.start = now;
      w.previous = 0;
      w.current = 0;
    } else if (elapsed >= this.windowMs) {
      w.start += this.windowMs;
      w.previous = w.current;
      w.current = 0;
    }
    const weight = 1 - (now - w.start) / this.windowMs;
    const estimate = w.previous * weight + w.current;
    if (estimate >= this.max) return false;
    w.current++;
    return true;
  }

  private prune(now: number): void {
    for (const [ip, w] of this.windows) if (now - w.start >= 2 * this.windowMs) this.windows.delete(ip);
  }
}
