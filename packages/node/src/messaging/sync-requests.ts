import { randomBytes } from 'node:crypto';
import type { Payload, SystemgeError } from '@systemge/protocol';
import { type Clock, systemClock } from '../context.js';
import { PeerLostError, SyncFailureError, SyncTimeoutError } from '../errors.js';
import type { SyncOutcome, SyncRequest, SyncResponse } from '../node-types.js';
import type { Counters } from '../stats.js';
import { DeadlineSweep, type Expiring } from './deadline-sweep.js';

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
function base36Digit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 87;
  return -1;
}

type Waiter = () => void;

/** The callback form of `first()`: `error` undefined and the first successful payload, or the error. */
export type FirstCallback<R extends Payload = Payload> = (error: Error | undefined, payload: R | undefined) => void;

/**
 * One request's state; owned by the SyncRequests broker. Kept small, as there is one per request:
 * no timer (the broker's one deadline sweep), no array for a single response, no promise unless
 * the caller asks for one, waiters only when someone waits.
 */
class PendingSyncRequest<R extends Payload> implements SyncRequest<R>, Expiring {
  readonly topic: string;
  readonly token: string;
  readonly targets: readonly string[];
  outcome: SyncOutcome | undefined;
  /** @internal The broker's deadline sweep bookkeeping. */
  sweepIndex = -1;
  /** @internal */
  sweepAt = 0;
  /** @internal The broker's slot; -1 when not pending. */
  slot = -1;
  private readonly broker: SyncRequests;
  /** The responses: the only one in `one` until a second arrives or `responses` is read, then all in `list`. */
  private one: SyncResponse<R> | undefined;
  private list: SyncResponse<R>[] | undefined;
  private count = 0;
  /** Who answered: the first name without a Set (most requests have one target), the rest in a Set. */
  private answeredFirst: string | undefined;
  private answeredMore: Set<string> | undefined;
  private answeredCount = 0;
  private readonly maxResponses: number;
  private readonly timeoutMs: number;
  private readonly startedAt = performance.now();
  private error: Error | undefined;
  /** Typed errors of targets lost before answering, so `first()` rejects with SYSTEMGE_ERR_PEER_LOST. */
  private lost: Map<string, PeerLostError> | undefined;
  /**
   * Targets the request was not sent to because they do not accept its payload's encoding: each has a
   * failed response from the start, and none counts towards `maxResponses`.
   */
  private skipped: Map<string, SystemgeError> | undefined;
  private waiters: Waiter[] | undefined;
  /** Callers of `first()` (or `onFirst`): one without an array, more in `firstMore`. */
  private firstCb: FirstCallback<R> | undefined;
  private firstMore: FirstCallback<R>[] | undefined;
  /** The first `first()` promise's own resolve/reject: no callback closure for the common caller. */
  private firstResolve: ((payload: R) => void) | undefined;
  private firstReject: ((error: Error) => void) | undefined;
  /** Responses already scanned for the first success. */
  private firstSeen = 0;

  constructor(
    broker: SyncRequests,
    topic: string,
    token: string,
    targets: readonly string[],
    maxResponses: number,
    timeoutMs: number,
    skipped?: Map<string, SystemgeError>,
  ) {
    this.broker = broker;
    this.topic = topic;
    this.token = token;
    this.targets = targets;
    const sent = targets.length - (skipped?.size ?? 0);
    this.maxResponses = (maxResponses > 0 ? Math.min(maxResponses, sent) : sent) + (skipped?.size ?? 0);
    this.timeoutMs = timeoutMs;
    if (skipped !== undefined && skipped.size > 0) {
      this.skipped = skipped;
      for (const [name, error] of skipped) {
        // Answered without ever being open to it (markAnswered would close what was never opened).
        if (this.answeredFirst === undefined) this.answeredFirst = name;
        else (this.answeredMore ??= new Set()).add(name);
        this.answeredCount++;
        this.push({ origin: name, ok: false, error: error.message, code: error.code });
      }
    }
    // Open to every target it was sent to until that one answers or the request settles (least-pending).
    // (Indexed: a for-of here allocated an iterator result per target in optimized code.)
    for (let i = 0; i < targets.length; i++) {
      const name = targets[i] as string;
      if (this.skipped === undefined || !this.skipped.has(name)) broker.openTo(name);
    }
  }

  get responses(): readonly SyncResponse<R>[] {
    if (this.list === undefined) this.list = this.one === undefined ? [] : [this.one];
    return this.list;
  }

  get missing(): string[] {
    return this.targets.filter((t) => !this.hasAnswered(t));
  }

  private at(i: number): SyncResponse<R> {
    return (this.list === undefined ? this.one : this.list[i]) as SyncResponse<R>;
  }

  private push(response: SyncResponse<R>): void {
    if (this.list !== undefined) this.list.push(response);
    else if (this.count === 0) this.one = response;
    else this.list = [this.one as SyncResponse<R>, response];
    this.count++;
  }

  private hasAnswered(name: string): boolean {
    return this.answeredFirst === name || (this.answeredMore !== undefined && this.answeredMore.has(name));
  }

  private isTarget(name: string): boolean {
    const targets = this.targets;
    return targets.length === 1 ? targets[0] === name : targets.includes(name);
  }

  private markAnswered(name: string): void {
    if (this.answeredFirst === undefined) this.answeredFirst = name;
    else (this.answeredMore ??= new Set()).add(name);
    this.answeredCount++;
    this.broker.closedTo(name);
  }

  /** @internal Starts the timeout (after the request was sent). */
  arm(): void {
    this.broker.sweep.add(this, this.broker.clock.now() + this.timeoutMs);
  }

  /** @internal Returns false when the response is not expected from that origin. */
  deliver(origin: string, response: SyncResponse<R>): boolean {
    if (this.outcome !== undefined || this.hasAnswered(origin) || !this.isTarget(origin)) return false;
    this.markAnswered(origin);
    this.push(response);
    this.broker.counters.observeSyncLatency(performance.now() - this.startedAt);
    this.wake();
    if (this.count >= this.maxResponses) {
      this.settle(this.answeredCount === this.targets.length ? 'complete' : 'max-responses');
    }
    return true;
  }

  /** @internal */
  peerLost(name: string, reason: string): void {
    if (this.outcome !== undefined || this.hasAnswered(name) || !this.isTarget(name)) return;
    this.broker.counters.syncPeerLost++;
    const error = new PeerLostError(name, reason);
    (this.lost ??= new Map()).set(name, error);
    this.markAnswered(name);
    this.push({ origin: name, ok: false, error: error.message, code: error.code });
    this.wake();
    if (this.answeredCount === this.targets.length) this.settle('complete');
    else if (this.count >= this.maxResponses) this.settle('max-responses');
  }

  /** @internal */
  settle(outcome: SyncOutcome, error?: Error): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.error = error;
    if (this.answeredCount < this.targets.length) {
      const targets = this.targets;
      for (let i = 0; i < targets.length; i++) {
        const name = targets[i] as string;
        if (!this.hasAnswered(name)) this.broker.closedTo(name);
      }
    }
    this.broker.sweep.remove(this);
    this.broker.forget(this as unknown as PendingSyncRequest<Payload>);
    this.wake();
  }

  /** @internal Called by the deadline sweep. */
  expire(): void {
    if (this.outcome !== undefined) return;
    this.broker.counters.syncTimeouts++;
    this.settle('timeout');
  }

  private wake(): void {
    if (this.firstCb !== undefined || this.firstResolve !== undefined) this.checkFirst();
    const waiters = this.waiters;
    if (waiters === undefined || waiters.length === 0) return;
    this.waiters = undefined;
    for (const w of waiters) w();
  }

  private wait(waiter: Waiter): void {
    (this.waiters ??= []).push(waiter);
  }

  private untilSettled(): Promise<void> {
    if (this.outcome !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.outcome !== undefined) resolve();
        else this.wait(check);
      };
      this.wait(check);
    });
  }

  async all(): Promise<SyncResponse<R>[]> {
    await this.untilSettled();
    if (this.error !== undefined) throw this.error;
    return this.responses.slice();
  }

  /**
   * The callback form of `first()`, for callers that want no promise: `callback(undefined, payload)`
   * with the first successful response's payload (the request is then cancelled), or
   * `callback(error)` with what `first()` would reject with. Called once, never synchronously from here.
   */
  onFirst(callback: FirstCallback<R>): void {
    if (this.firstCb === undefined) this.firstCb = callback;
    else (this.firstMore ??= []).push(callback);
    this.firstAdded();
  }

  /** A first-waiter was added: one that comes after the answer or the end is told on the next tick. */
  private firstAdded(): void {
    if (this.count > 0 || this.outcome !== undefined) {
      // Already answered or settled: report on the next tick, as a promise would.
      process.nextTick(checkFirstLater, this);
    }
  }

  /** @internal `first()`'s executor, through `captureFirst`. */
  waitFirst(resolve: (payload: R) => void, reject: (error: Error) => void): void {
    this.firstResolve = resolve;
    this.firstReject = reject;
    this.firstAdded();
  }

  /** @internal Someone waits for `first()`. */
  get firstPending(): boolean {
    return this.firstCb !== undefined || this.firstResolve !== undefined;
  }

  /** @internal */
  checkFirst(): void {
    for (; this.firstSeen < this.count; this.firstSeen++) {
      const response = this.at(this.firstSeen);
      if (response.ok) {
        this.callFirst(undefined, response.payload);
        // Done collecting: the same outcome as a request that wanted one response.
        this.settle(this.answeredCount === this.targets.length ? 'complete' : 'max-responses');
        return;
      }
    }
    if (this.outcome === undefined) return;
    let error = this.error;
    if (error === undefined) {
      // A target that was sent the request and failed says more than one it was never sent to.
      const skipped = this.skipped;
      const failure = this.responses.find((r) => !r.ok && (skipped === undefined || !skipped.has(r.origin)));
      if (failure !== undefined && !failure.ok) {
        error = this.lost?.get(failure.origin) ?? new SyncFailureError(failure.origin, failure.error);
      } else error = new SyncTimeoutError(this.topic, this.timeoutMs, this.missing);
    }
    this.callFirst(error, undefined);
  }

  private callFirst(error: Error | undefined, payload: R | undefined): void {
    const resolve = this.firstResolve;
    if (resolve !== undefined) {
      const reject = this.firstReject as (error: Error) => void;
      this.firstResolve = undefined;
      this.firstReject = undefined;
      if (error === undefined) resolve(payload as R);
      else reject(error);
    }
    const cb = this.firstCb;
    const more = this.firstMore;
    this.firstCb = undefined;
    this.firstMore = undefined;
    if (cb !== undefined) this.broker.call(cb as FirstCallback, error, payload);
    if (more !== undefined) for (const m of more) this.broker.call(m as FirstCallback, error, payload);
  }

  first(): Promise<R> {
    if (this.firstResolve === undefined) {
      // The common case, one `first()`: the promise's own functions are kept, no closures made here.
      firstOf = this as unknown as PendingSyncRequest<Payload>;
      return new Promise<R>(captureFirst as (resolve: (payload: R) => void, reject: (error: Error) => void) => void);
    }
    return new Promise<R>((resolve, reject) => {
      this.onFirst((error, payload) => (error === undefined ? resolve(payload as R) : reject(error)));
    });
  }

  cancel(): void {
    this.settle('cancelled');
  }

  [Symbol.asyncIterator](): AsyncIterator<SyncResponse<R>> {
    let index = 0;
    return {
      next: async (): Promise<IteratorResult<SyncResponse<R>>> => {
        for (;;) {
          if (index < this.count) {
            return { value: this.at(index++), done: false };
          }
          if (this.outcome !== undefined) {
            if (this.error !== undefined) throw this.error;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => this.wait(resolve));
        }
      },
      return: async (): Promise<IteratorResult<SyncResponse<R>>> => {
        this.cancel();
        return { value: undefined, done: true };
      },
    };
  }
}

/** The request whose `first()` is constructing its promise (set just before, read once). */
let firstOf: PendingSyncRequest<Payload> | undefined;

function captureFirst(resolve: (payload: Payload) => void, reject: (error: Error) => void): void {
  const request = firstOf as PendingSyncRequest<Payload>;
  firstOf = undefined;
  request.waitFirst(resolve, reject);
}

function checkFirstLater(request: PendingSyncRequest<Payload>): void {
  if (request.firstPending) request.checkFirst();
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
  private readonly suffixes: string[] = [];
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
    // Base 36 keeps the token short; the counter never repeats within this broker's life (2^53).
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.slots.length;
    const token = this.prefix + (++this.sequence).toString(36) + this.slotSuffix(slot);
    const request = new PendingSyncRequest<R>(this, topic, token, targets, maxResponses, timeoutMs, skipped);
    request.slot = slot;
    if (slot === this.slots.length) this.slots.push(request as unknown as PendingSyncRequest<Payload>);
    else this.slots[slot] = request as unknown as PendingSyncRequest<Payload>;
    this.pendingCount++;
    return request;
  }

  /** A request that failed before it was sent. */
  failed<R extends Payload>(topic: string, error: SystemgeError): SyncRequest<R> {
    const request = new PendingSyncRequest<R>(this, topic, '', [], 0, 0);
    request.settle('failed', error);
    return request;
  }

  /** Routes a response. Returns false when no request expects it (unknown token or origin). */
  deliver(token: string, origin: string, response: SyncResponse): boolean {
    const request = this.lookup(token);
    if (request === undefined) return false;
    return request.deliver(origin, response);
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

  /** The pending request a token names, or undefined (foreign, malformed, settled or reused slot). */
  private lookup(token: string): PendingSyncRequest<Payload> | undefined {
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
   * The token string of a pending request whose token's UTF-8 bytes are exactly `buf[start, end)`,
   * else undefined: a response's token is then matched without decoding it into a new string.
   */
  knownToken(buf: Uint8Array, start: number, end: number): string | undefined {
    const prefix = this.prefixBytes;
    if (end - start <= prefix.length + 2) return undefined;
    // Every prefix byte is compared: how long a wrong token took says nothing about where it differs.
    let diff = 0;
    for (let i = 0; i < prefix.length; i++) diff |= (buf[start + i] as number) ^ (prefix[i] as number);
    if (diff !== 0) return undefined;
    let dot = end - 1;
    while (dot > start + prefix.length && buf[dot] !== 0x2e) dot--;
    if (dot <= start + prefix.length || dot === end - 1) return undefined;
    let slot = 0;
    for (let i = dot + 1; i < end; i++) {
      const digit = base36Digit(buf[i] as number);
      if (digit < 0) return undefined;
      slot = slot * 36 + digit;
      if (slot >= this.slots.length) return undefined;
    }
    const token = this.slots[slot]?.token;
    if (token === undefined || token.length !== end - start) return undefined;
    // Exact: every byte (tokens made here are ASCII, one byte per character).
    for (let i = start + prefix.length; i < end; i++) if (buf[i] !== token.charCodeAt(i - start)) return undefined;
    return token;
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
    request.slot = -1;
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

function rethrowLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

export type { PendingSyncRequest };
