import { BlockList, isIP } from 'node:net';
import { HTTPConfigError } from './http-errors.js';

/** A runtime-editable list of IP addresses and CIDR blocks (IPv4 and IPv6). */
export interface IPAccessList {
  /** Adds an address (`10.1.2.3`, `::1`) or a CIDR block (`10.0.0.0/8`, `fd00::/8`). Throws `SYSTEMGE_ERR_HTTP_CONFIG` when invalid. */
  add(entry: string): void;
  /** Removes an entry exactly as it was added (after normalisation). Returns whether it was there. */
  remove(entry: string): boolean;
  /** Replaces every entry at once; nothing changes when one entry is invalid. */
  set(entries: readonly string[]): void;
  clear(): void;
  /** The entries, normalised (`10.0.0.0/8`, `::1`). */
  entries(): string[];
  readonly size: number;
  /** Whether an address matches an entry. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) match IPv4 entries. */
  matches(address: string): boolean;
}

interface ParsedEntry {
  key: string;
  address: string;
  family: 'ipv4' | 'ipv6';
  prefix: number | undefined;
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const match = MAPPED_V4.exec(address);
  return match === null ? address : (match[1] as string);
}

function parseEntry(entry: string, option: string): ParsedEntry {
  if (typeof entry !== 'string') throw new HTTPConfigError(option, `expected an address or CIDR string, got ${typeof entry}`);
  const trimmed = entry.trim();
  const slash = trimmed.indexOf('/');
  const rawAddress = unmapIPv4(slash === -1 ? trimmed : trimmed.slice(0, slash));
  const version = isIP(rawAddress);
  if (version === 0) throw new HTTPConfigError(option, `${JSON.stringify(entry)} is not an IP address or CIDR block`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const address = rawAddress.toLowerCase();
  if (slash === -1) return { key: address, address, family, prefix: undefined };
  const prefixText = trimmed.slice(slash + 1);
  const max = version === 4 ? 32 : 128;
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) {
    throw new HTTPConfigError(option, `${JSON.stringify(entry)} has prefix length ${prefixText}, allowed 0-${max}`);
  }
  return { key: `${address}/${prefix}`, address, family, prefix };
}

/** Node's BlockList cannot remove entries, so every edit builds a fresh one; edits are rare, checks are hot. */
export function createIPAccessList(option: string, initial: readonly string[] = []): IPAccessList {
  let entries = new Map<string, ParsedEntry>();
  let blockList = new BlockList();

  const rebuild = (): void => {
    const next = new BlockList();
    for (const e of entries.values()) {
      if (e.prefix === undefined) next.addAddress(e.address, e.family);
      else next.addSubnet(e.address, e.prefix, e.family);
    }
    blockList = next;
  };

  const list: IPAccessList = {
    add(entry) {
      const parsed = parseEntry(entry, option);
      if (entries.has(parsed.key)) return;
      entries.set(parsed.key, parsed);
      rebuild();
    },
    remove(entry) {
      const parsed = parseEntry(entry, option);
      const removed = entries.delete(parsed.key);
      if (removed) rebuild();
      return removed;
    },
    set(next) {
      const parsed = new Map<string, ParsedEntry>();
      for (const entry of next) {
        const p = parseEntry(entry, option);
        parsed.set(p.key, p);
      }
      entries = parsed;
      rebuild();
    },
    clear() {
      entries = new Map();
      rebuild();
    },
    entries() {
      return [...entries.keys()];
    },
    get size() {
      return entries.size;
    },
    matches(address) {
      if (entries.size === 0) return false;
      const plain = unmapIPv4(address);
      const version = isIP(plain);
      if (version === 0) return false;
      return blockList.check(plain, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
  list.set(initial);
  return list;
}
