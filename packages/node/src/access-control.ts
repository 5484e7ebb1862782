import { BlockList, isIP } from 'node:net';
import { ConfigError } from './errors.js';

/** Who may connect, checked on the raw socket before any per-connection work. */
export interface AccessControlConfig {
  /** Addresses or CIDR ranges (IPv4 and IPv6) allowed to connect; empty or absent allows all. */
  allow?: string[];
  /** Addresses or CIDR ranges refused; wins over `allow`. Default none. */
  deny?: string[];
  /** Connection attempts one IP may make per `attemptWindowMs`; 0 = unlimited. Default 0. */
  maxAttemptsPerIp?: number;
  /** Sliding window of `maxAttemptsPerIp`, ms. Default 10000. */
  attemptWindowMs?: number;
  /** Accepted connections still handshaking, above which new sockets are refused. Default 128. */
  maxPendingHandshakes?: number;
  /** Open connections (all states) above which new sockets are refused. Default 4096. */
  maxConnections?: number;
}

interface Rule {
  entry: string;
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `::1`, `fd00::/8`, `127.0.0.2`. Throws a ConfigError naming `path` otherwise. */
export function parseRule(entry: string, path: string): Rule {
  const [address = '', prefixText, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) {
    throw new ConfigError(path, `expected an IP address or CIDR range, got "${entry}"`);
  }
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw new ConfigError(path, `prefix of "${entry}" must be 0 to ${max}`);
  }
  return { entry, address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A runtime-editable set of addresses and ranges. */
export class AddressList {
  private rules: Rule[] = [];
  private list = new BlockList();

  constructor(entries: readonly string[] = [], path = 'list') {
    entries.forEach((e, i) => this.rules.push(parseRule(e, `${path}[${i}]`)));
    this.rebuild();
  }

  get size(): number {
    return this.rules.length;
  }

  entries(): string[] {
    return this.rules.map((r) => r.entry);
  }

  add(entry: string): boolean {
    if (this.rules.some((r) => r.entry === entry)) return false;
    this.rules.push(parseRule(entry, 'entry'));
    this.rebuild();
    return true;
  }

  remove(entry: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.entry !== entry);
    if (this.rules.length === before) return false;
    this.rebuild();
    return true;
  }

  has(address: string): boolean {
    if (this.rules.length === 0) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped === null ? address : (mapped[1] as string);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  private rebuild(): void {
    // BlockList cannot remove rules, so edits rebuild it; edits are rare, checks are hot.
    const list = new BlockList();
    for (const r of this.rules) {
      if (r.prefix === (r.family === 'ipv4' ? 32 : 128)) list.addAddress(r.address, r.family);
      else list.addSubnet(r.address, r.prefix, r.family);
    }
    this.list = list;
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
