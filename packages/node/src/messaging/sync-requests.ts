import { randomBytes } from 'node:crypto';
import type { Payload, SystemgeError } from '@systemge/protocol';
import { type Clock, systemClock } from '../context.js';
import type { SyncRequest, SyncResponse } from '../node-types.js';
import type { Counters } from '../stats.js';
import { DeadlineSweep } from './deadline-sweep.js';
import { type FirstCallback, PendingSyncRequest } from './pending-sync-request.js';

const TOKEN_BYTES = 16;
const POOL_TOKENS = 256;
let pool = randomBytes(TOKEN_BYTES * POOL_TOKENS);
let poolOffset = 0;

/** A 128-bit random token from `crypto`, base64url. Random bytes are fetched in batches. */
export function newSyncToken(): string {
  if (poolOffset === pool.length) {
    pool = randomBytes(TOKEN_BYTES * POOL_TOKENS);
    poolOffset = 0;
  }
  const token = pool.toString('base64url', poolOffset, poolOffset + TOKEN_BYTES);
  poolOffset += TOKEN_BYTES;
  return token;
}

/** The value of a lowercase base-36 digit's character code, -1 for any other character. */
/** How many base-36 digits `n` (a positive integer) has. */
function base36Length(n: number): number {
  let length = 1;
  while (n >= 36) {
    n = Math.floor(n / 36);
    length++;
  }
  return length;
}

function base36Digit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 87;
  return -1;
}

/** Reports an error thrown by a caller's callback (it must not reach the frame being handled). */
export type CallbackErrorReporter = (error: unknown) => void;

/**
 * Tracks pending sync requests by token and routes responses, losses and shutdowns to them.
 * Tokens are this broker's random secret prefix plus a counter (see SECURITY.md, "Sync tokens");
 * timeouts run on one deadline sweep of the clock.
 */
export class SyncRequests {
  readonly counters: Counters;
  /** Runs the request timeouts. */
  readonly clock: Clock;
  /** @internal Every pending request's deadline, on one timer. */
  readonly sweep: DeadlineSweep;
  /**
   * Pending requests by slot; a token names its slot after the last `.`. Slots are reused through
   * `free`, so the table grows only with concurrency and settling a request allocates nothing. (A
   * `Map` keyed by token would rehash as requests come and go, and each rehash links the old table
   * to the new one: dead tables promoted to the old generation then keep young requests alive
   * through the next scavenges, which makes every scavenge copy and promote them.)
   */
  private readonly slots: (PendingSyncRequest<Payload> | undefined)[] = [];
  private readonly free: number[] = [];
  /**
   * When each slot's request was made (`performance.now()`), for the latency histogram: kept here
   * rather than in the request, where a fractional number would be a boxed double per request.
   */
  private startTimes = new Float64Array(64);
  /** `.` and the slot in base 36, per slot, as a string and as bytes (made once: slots are reused). */
  private readonly suffixes: string[] = [];
  private readonly suffixBytes: Uint8Array[] = [];
  private pendingCount = 0;
  /**
   * Requests open to each peer name: sent to it, not answered by it (or lost), not settled. An entry
   * that drops to zero stays (names are few; removing and re-adding would make the map rehash on
   * every request); a peer's entry goes when it is lost.
   */
  private readonly open = new Map<string, number>();
  private readonly prefix = newSyncToken();
  /** The prefix's bytes (base64url, so one byte per character). */
  private readonly prefixBytes = Buffer.from(this.prefix, 'latin1');
  private sequence = 0;
  /** The request the last knownToken call matched, until the next lookup or knownToken call. */
  private matched: PendingSyncRequest<Payload> | undefined;
  private readonly reportError: CallbackErrorReporter;

  constructor(counters: Counters, clock: Clock = systemClock, reportError: CallbackErrorReporter = rethrowLater) {
    this.counters = counters;
    this.clock = clock;
    this.sweep = new DeadlineSweep(clock);
    this.reportError = reportError;
  }

  get size(): number {
    return this.pendingCount;
  }

  /** @internal Slots in the table: the most requests that were ever pending at once. */
  get capacity(): number {
    return this.slots.length;
  }

  /**
   * Sync requests this node has open to the peer `name`: sent to it and neither answered by it, nor
   * failed by its loss, nor settled otherwise (timeout, cancel, enough responses). Counts every sync
   * request, balanced (`node.request()`) or not (`syncRequest`, to one peer or many): `least-pending`
   * picks by it.
   */
  pendingTo(name: string): number {
    return this.open.get(name) ?? 0;
  }

  /** @internal */
  openTo(name: string): void {
    this.open.set(name, (this.open.get(name) ?? 0) + 1);
  }

  /** @internal */
  closedTo(name: string): void {
    const n = this.open.get(name);
    if (n !== undefined && n > 0) this.open.set(name, n - 1);
  }

  /**
   * Creates a request; call `arm()` after sending it. `skipped`: targets it is not sent to (they do not
   * accept its payload's encoding), each answered at once with its error.
   */
  create<R extends Payload>(
    topic: string,
    targets: readonly string[],
    maxResponses: number,
    timeoutMs: number,
    skipped?: Map<string, SystemgeError>,
  ): PendingSyncRequest<R> {
    // The token is prefix + counter in base 36 + `.` + slot in base 36: short, and the counter never
    // repeats within this broker's life (2^53). It is written into frames from these parts; a string
    // is made only when someone reads `request.token` (a response is matched from its bytes, see
    // knownToken, or against the string when its connection decoded the token itself).
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.slots.length;
    const seq = ++this.sequence;
    const request = new PendingSyncRequest<R>(this, topic, targets, maxResponses, timeoutMs, skipped);
    request.slot = slot;
    request.seq = seq;
    if (slot === this.slots.length) this.slots.push(request as unknown as PendingSyncRequest<Payload>);
    else this.slots[slot] = request as unknown as PendingSyncRequest<Payload>;
    if (slot >= this.startTimes.length) {
      const grown = new Float64Array(this.startTimes.length * 2);
      grown.set(this.startTimes);
      this.startTimes = grown;
    }
    this.startTimes[slot] = performance.now();
    this.pendingCount++;
    return request;
  }

  /** @internal When the request in `slot` was made (`performance.now()`); valid while it is pending. */
  startedAt(slot: number): number {
    return this.startTimes[slot] as number;
  }

  /** A request that failed before it was sent. */
  failed<R extends Payload>(topic: string, error: SystemgeError): SyncRequest<R> {
    const request = new PendingSyncRequest<R>(this, topic, [], 0, 0);
    request.withoutToken();
    request.settle('failed', error);
    return request;
  }

  /** Routes a response. Returns false when no request expects it (unknown token or origin). */
  deliver(token: string, origin: string, response: SyncResponse): boolean {
    const request = this.lookup(token);
    if (request === undefined) return false;
    return request.deliver(origin, response);
  }

  /** `deliver` of an ok response by its payload (no response object unless someone asks for it). */
  deliverPayload(token: string, origin: string, payload: Payload): boolean {
    const request = this.lookup(token);
    if (request === undefined) return false;
    return request.deliverPayload(origin, payload);
  }

  /** `.` and the slot in base 36, made once per slot (slots are reused, so there are few). */
  private slotSuffix(slot: number): string {
    let suffix = this.suffixes[slot];
    if (suffix === undefined) {
      suffix = `.${slot.toString(36)}`;
      this.suffixes[slot] = suffix;
    }
    return suffix;
  }

  private slotSuffixBytes(slot: number): Uint8Array {
    let bytes = this.suffixBytes[slot];
    if (bytes === undefined) {
      bytes = Buffer.from(this.slotSuffix(slot), 'latin1');
      this.suffixBytes[slot] = bytes;
    }
    return bytes;
  }

  /** @internal A request's token as a string. */
  tokenString(request: PendingSyncRequest<Payload>): string {
    return this.prefix + request.seq.toString(36) + this.slotSuffix(request.slot);
  }

  /** @internal A request's token's length in bytes (ASCII). */
  tokenByteLength(request: PendingSyncRequest<Payload>): number {
    return this.prefixBytes.length + base36Length(request.seq) + this.slotSuffixBytes(request.slot).length;
  }

  /** @internal Writes a request's token (`tokenByteLength` bytes) at `offset`. */
  writeToken(request: PendingSyncRequest<Payload>, buf: Uint8Array, offset: number): void {
    const prefix = this.prefixBytes;
    const suffix = this.slotSuffixBytes(request.slot);
    for (let i = 0; i < prefix.length; i++) buf[offset + i] = prefix[i] as number;
    const digitsStart = offset + prefix.length;
    let i = offset + request.tokenByteLength - suffix.length;
    const suffixStart = i;
    let n = request.seq;
    while (i > digitsStart) {
      const digit = n % 36;
      buf[--i] = digit < 10 ? 48 + digit : 87 + digit;
      n = Math.floor(n / 36);
    }
    for (let j = 0; j < suffix.length; j++) buf[suffixStart + j] = suffix[j] as number;
  }

  /** The pending request a token names, or undefined (foreign, malformed, settled or reused slot). */
  private lookup(token: string): PendingSyncRequest<Payload> | undefined {
    // The request knownToken just matched from the response's bytes (the response being delivered,
    // normally): the same whole-token comparison, without parsing the slot again.
    const matched = this.matched;
    if (matched !== undefined) {
      this.matched = undefined;
      if ((token === MATCHED_TOKEN || matched.tokenText === token) && this.slots[matched.slot] === matched) return matched;
    }
    if (token === MATCHED_TOKEN) return undefined;
    const dot = token.lastIndexOf('.');
    if (dot <= this.prefix.length || dot === token.length - 1) return undefined;
    let slot = 0;
    for (let i = dot + 1; i < token.length; i++) {
      const digit = base36Digit(token.charCodeAt(i));
      if (digit < 0) return undefined;
      slot = slot * 36 + digit;
      if (slot >= this.slots.length) return undefined;
    }
    const request = this.slots[slot];
    // The whole token must match: the slot alone is guessable, the random prefix is not.
    return request !== undefined && request.token === token ? request : undefined;
  }

  /**
   * Whether `buf[start, end)` is exactly the token of a pending request: a response's token is then
   * matched from its bytes, without decoding it. Returns the token's string when the request already
   * has one, else `MATCHED_TOKEN` (no string is made: the response is delivered to the request matched
   * here, see `lookup`), or undefined for any other token.
   */
  knownToken(buf: Uint8Array, start: number, end: number): string | undefined {
    this.matched = undefined;
    const prefix = this.prefixBytes;
    if (end - start <= prefix.length + 2) return undefined;
    // Every prefix byte is compared: how long a wrong token took says nothing about where it differs.
    let diff = 0;
    for (let i = 0; i < prefix.length; i++) diff |= (buf[start + i] as number) ^ (prefix[i] as number);
    if (diff !== 0) return undefined;
    let dot = end - 1;
    while (dot > start + prefix.length && buf[dot] !== 0x2e) dot--;
    if (dot <= start + prefix.length || dot === end - 1) return undefined;
    if (buf[dot + 1] === 0x30 && end - dot > 2) return undefined;
    let slot = 0;
    for (let i = dot + 1; i < end; i++) {
      const digit = base36Digit(buf[i] as number);
      if (digit < 0) return undefined;
      slot = slot * 36 + digit;
      if (slot >= this.slots.length) return undefined;
    }
    const request = this.slots[slot];
    if (request === undefined || request.tokenByteLength !== end - start) return undefined;
    // The counter, digit by digit: the same length (checked above) and value leave no other spelling.
    let seq = 0;
    for (let i = start + prefix.length; i < dot; i++) {
      const digit = base36Digit(buf[i] as number);
      if (digit < 0) return undefined;
      seq = seq * 36 + digit;
    }
    if (seq !== request.seq || (buf[start + prefix.length] === 0x30 && dot - start - prefix.length > 1)) return undefined;
    this.matched = request;
    return request.tokenText ?? MATCHED_TOKEN;
  }

  peerLost(name: string, reason: string): void {
    for (const request of this.slots.slice()) request?.peerLost(name, reason);
    if (this.open.get(name) === 0) this.open.delete(name);
  }

  /** Settles every pending request with `error` (node stopping), and stops the sweep's timer. */
  failAll(error: Error): void {
    for (const request of this.slots.slice()) request?.settle('failed', error);
    this.sweep.clear();
  }

  /** @internal */
  forget(request: PendingSyncRequest<Payload>): void {
    const slot = request.slot;
    if (slot < 0 || this.slots[slot] !== request) return;
    this.slots[slot] = undefined;
    this.free.push(slot);
    this.pendingCount--;
  }

  /** @internal Runs a caller's callback; what it throws goes to the reporter. */
  call(callback: FirstCallback, error: Error | undefined, payload: Payload | undefined): void {
    try {
      callback(error, payload);
    } catch (thrown) {
      this.reportError(thrown);
    }
  }
}

/**
 * What `knownToken` returns for a request whose token was never made a string: the response is for the
 * request just matched. No token received can equal it: a lone surrogate is not what any UTF-8 decodes to.
 */
export const MATCHED_TOKEN = '\uD800matched';

function rethrowLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

export type { FirstCallback, PendingSyncRequest };
