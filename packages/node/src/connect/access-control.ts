import { BlockList, isIP } from 'node:net';
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

interface Rule {
  /** The entry normalised (`10.0.0.0/8`, `::1`): what `entries()` lists and `remove()` compares. */
  key: string;
  address: string;
  /** Undefined for a single address. */
  prefix: number | undefined;
  family: 'ipv4' | 'ipv6';
}

/** True for addresses only this machine can reach (`localhost`, 127.0.0.0/8, `::1`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const version = isIP(h);
  if (version === 4) return h.startsWith('127.');
  if (version === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** Builds the error thrown for an invalid entry; `path` names where it came from. */
export type InvalidEntryError = (path: string, message: string) => Error;

const configError: InvalidEntryError = (path, message) => new ConfigError(path, message);

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const match = MAPPED_V4.exec(address);
  return match === null ? address : (match[1] as string);
}

/**
 * Parses `10.0.0.0/8`, `::1`, `fd00::/8`, `127.0.0.2` (surrounding spaces ignored, IPv4-mapped IPv6
 * taken as IPv4). Throws `invalid(path, …)` otherwise, a ConfigError by default.
 */
function parseRule(entry: string, path: string, invalid: InvalidEntryError = configError): Rule {
  if (typeof entry !== 'string') throw invalid(path, `expected an IP address or CIDR range, got ${typeof entry}`);
  const trimmed = entry.trim();
  const slash = trimmed.indexOf('/');
  const raw = unmapIPv4(slash === -1 ? trimmed : trimmed.slice(0, slash));
  const version = isIP(raw);
  if (version === 0) throw invalid(path, `expected an IP address or CIDR range, got "${entry}"`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const address = raw.toLowerCase();
  if (slash === -1) return { key: address, address, prefix: undefined, family };
  const prefixText = trimmed.slice(slash + 1);
  const max = version === 4 ? 32 : 128;
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) throw invalid(path, `prefix of "${entry}" must be 0 to ${max}`);
  return { key: `${address}/${prefix}`, address, prefix, family };
}

/**
 * A runtime-editable set of addresses and CIDR ranges (IPv4 and IPv6). Entries are normalised, so
 * `10.0.0.0/08` and `10.0.0.0/8` are one entry.
 */
export class AddressList {
  private rules: Map<string, Rule>;
  private list = new BlockList();
  private readonly path: string;
  private readonly invalid: InvalidEntryError;

  /**
   * @param path Names the list in errors: `path[i]` for the i-th of `entries` (or of `set()`), `entry`
   *   for `add()` and `remove()`.
   * @param invalid Builds the error for an invalid entry. Default: a ConfigError.
   */
  constructor(entries: readonly string[] = [], path = 'list', invalid: InvalidEntryError = configError) {
    this.path = path;
    this.invalid = invalid;
    this.rules = this.parseAll(entries);
    this.rebuild();
  }

  get size(): number {
    return this.rules.size;
  }

  /** The entries, normalised (`10.0.0.0/8`, `::1`). */
  entries(): string[] {
    return [...this.rules.keys()];
  }

  /** Adds an address or CIDR range; false when it was already there. Throws when invalid. */
  add(entry: string): boolean {
    const rule = parseRule(entry, 'entry', this.invalid);
    if (this.rules.has(rule.key)) return false;
    this.rules.set(rule.key, rule);
    this.rebuild();
    return true;
  }

  /** Removes an entry as added (after normalisation); false when it was not there. Throws when invalid. */
  remove(entry: string): boolean {
    const rule = parseRule(entry, 'entry', this.invalid);
    if (!this.rules.delete(rule.key)) return false;
    this.rebuild();
    return true;
  }

  /** Replaces every entry at once; nothing changes when one entry is invalid. */
  set(entries: readonly string[]): void {
    this.rules = this.parseAll(entries);
    this.rebuild();
  }

  clear(): void {
    this.rules = new Map();
    this.rebuild();
  }

  /** Whether an address is in the list. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) match IPv4 entries. */
  has(address: string): boolean {
    if (this.rules.size === 0) return false;
    const plain = unmapIPv4(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** Same as `has`. */
  matches(address: string): boolean {
    return this.has(address);
  }

  private parseAll(entries: readonly string[]): Map<string, Rule> {
    const rules = new Map<string, Rule>();
    entries.forEach((e, i) => {
      const rule = parseRule(e, `${this.path}[${i}]`, this.invalid);
      rules.set(rule.key, rule);
    });
    return rules;
  }

  private rebuild(): void {
    // BlockList cannot remove rules, so edits rebuild it; edits are rare, checks are hot.
    const list = new BlockList();
    for (const r of this.rules.values()) {
      if (r.prefix === undefined) list.addAddress(r.address, r.family);
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
