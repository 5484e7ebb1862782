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

/** Base-36 digits of a counter below 2^53. */
const MAX_SEQ_DIGITS = 11;

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
  /** @internal The broker's counter value in the token (its key among the pending requests); 0 for a request never sent. */
  readonly seq: number;
  readonly targets: readonly string[];
  outcome: SyncOutcome | undefined;
  /** @internal The broker's deadline sweep bookkeeping. */
  sweepIndex = -1;
  /** @internal */
  sweepAt = 0;
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
  private waiters: Waiter[] | undefined;
  /** Callers of `first()` (or `onFirst`): one without an array, more in `firstMore`. */
  private firstCb: FirstCallback<R> | undefined;
  private firstMore: FirstCallback<R>[] | undefined;
  /** Responses already scanned for the first success. */
  private firstSeen = 0;

  constructor(
    broker: SyncRequests,
    topic: string,
    token: string,
    seq: number,
    targets: readonly string[],
    maxResponses: number,
    timeoutMs: number,
  ) {
    this.broker = broker;
    this.topic = topic;
    this.token = token;
    this.seq = seq;
    this.targets = targets;
    this.maxResponses = maxResponses > 0 ? Math.min(maxResponses, targets.length) : targets.length;
    this.timeoutMs = timeoutMs;
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
    this.broker.sweep.remove(this);
    this.broker.forget(this.seq);
    this.wake();
  }

  /** @internal Called by the deadline sweep. */
  expire(): void {
    if (this.outcome !== undefined) return;
    this.broker.counters.syncTimeouts++;
    this.settle('timeout');
  }

  private wake(): void {
    if (this.firstCb !== undefined) this.checkFirst();
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
    if (this.count > 0 || this.outcome !== undefined) {
      // Already answered or settled: report on the next tick, as a promise would.
      process.nextTick(checkFirstLater, this);
    }
  }

  /** @internal Someone waits for `first()`. */
  get firstPending(): boolean {
    return this.firstCb !== undefined;
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
      const failure = this.responses.find((r) => !r.ok);
      if (failure !== undefined && !failure.ok) {
        error = this.lost?.get(failure.origin) ?? new SyncFailureError(failure.origin, failure.error);
      } else error = new SyncTimeoutError(this.topic, this.timeoutMs, this.missing);
    }
    this.callFirst(error, undefined);
  }

  private callFirst(error: Error | undefined, payload: R | undefined): void {
    const cb = this.firstCb;
    const more = this.firstMore;
    this.firstCb = undefined;
    this.firstMore = undefined;
    if (cb !== undefined) this.broker.call(cb as FirstCallback, error, payload);
    if (more !== undefined) for (const m of more) this.broker.call(m as FirstCallback, error, payload);
  }

  first(): Promise<R> {
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
  /** Pending requests by the counter value in their token. */
  private readonly pending = new Map<number, PendingSyncRequest<Payload>>();
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
    return this.pending.size;
  }

  /** Creates a request; call `arm()` after sending it. */
  create<R extends Payload>(topic: string, targets: readonly string[], maxResponses: number, timeoutMs: number): PendingSyncRequest<R> {
    // Base 36 keeps the token short; the counter never repeats within this broker's life (2^53).
    const seq = ++this.sequence;
    const token = this.prefix + seq.toString(36);
    const request = new PendingSyncRequest<R>(this, topic, token, seq, targets, maxResponses, timeoutMs);
    this.pending.set(seq, request as unknown as PendingSyncRequest<Payload>);
    return request;
  }

  /** A request that failed before it was sent. */
  failed<R extends Payload>(topic: string, error: SystemgeError): SyncRequest<R> {
    const request = new PendingSyncRequest<R>(this, topic, '', 0, [], 0, 0);
    request.settle('failed', error);
    return request;
  }

  /** Routes a response. Returns false when no request expects it (unknown token or origin). */
  deliver(token: string, origin: string, response: SyncResponse): boolean {
    const request = this.pendingOf(token);
    if (request === undefined) return false;
    return request.deliver(origin, response);
  }

  /** The pending request whose token is exactly `token`. */
  private pendingOf(token: string): PendingSyncRequest<Payload> | undefined {
    const start = this.prefix.length;
    if (token.length <= start || token.length > start + MAX_SEQ_DIGITS || !token.startsWith(this.prefix)) return undefined;
    let seq = 0;
    for (let i = start; i < token.length; i++) {
      const digit = base36Digit(token.charCodeAt(i));
      if (digit < 0) return undefined;
      seq = seq * 36 + digit;
    }
    const request = this.pending.get(seq);
    return request !== undefined && request.token === token ? request : undefined;
  }

  /**
   * The token string of a pending request whose token's UTF-8 bytes are exactly `buf[start, end)`,
   * else undefined: a response's token is then matched without decoding it into a new string.
   */
  knownToken(buf: Uint8Array, start: number, end: number): string | undefined {
    const prefix = this.prefixBytes;
    const digits = start + prefix.length;
    if (end <= digits || end - digits > MAX_SEQ_DIGITS) return undefined;
    // Every byte is compared: how long a wrong token took says nothing about where it differs.
    let diff = 0;
    for (let i = 0; i < prefix.length; i++) diff |= (buf[start + i] as number) ^ (prefix[i] as number);
    if (diff !== 0) return undefined;
    let seq = 0;
    for (let i = digits; i < end; i++) {
      const digit = base36Digit(buf[i] as number);
      if (digit < 0) return undefined;
      seq = seq * 36 + digit;
    }
    const token = this.pending.get(seq)?.token;
    if (token === undefined || token.length !== end - start) return undefined;
    // Exact: the same digits (no leading zeros, and no rounding of an over-long number).
    for (let i = digits; i < end; i++) if (buf[i] !== token.charCodeAt(i - start)) return undefined;
    return token;
  }

  peerLost(name: string, reason: string): void {
    for (const request of [...this.pending.values()]) request.peerLost(name, reason);
  }

  /** Settles every pending request with `error` (node stopping), and stops the sweep's timer. */
  failAll(error: Error): void {
    for (const request of [...this.pending.values()]) request.settle('failed', error);
    this.sweep.clear();
  }

  /** @internal */
  forget(seq: number): void {
    this.pending.delete(seq);
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
