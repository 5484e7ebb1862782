import type { Payload, SyncTokenSource, SystemgeError } from '@systemge/protocol';
import { PeerLostError, SyncFailureError, SyncTimeoutError } from '../errors.js';
import type { SyncOutcome, SyncRequest, SyncResponse } from '../node-types.js';
import { type Expiring, smallInteger } from './deadline-sweep.js';
import type { SyncRequests } from './sync-requests.js';

type Waiter = () => void;

/** A request's state that most requests never need: one object, made when first needed, instead of a field each. */
interface Rare<R extends Payload> {
  /** All responses, once there are two or `responses` was read. */
  list?: SyncResponse<R>[];
  /** Who answered after the first (`answeredFirst`). */
  answeredMore?: Set<string>;
  /** Typed errors of targets lost before answering, so `first()` rejects with SYSTEMGE_ERR_PEER_LOST. */
  lost?: Map<string, PeerLostError>;
  /**
   * Targets the request was not sent to because they do not accept its payload's encoding: each has a
   * failed response from the start, and none counts towards `maxResponses`.
   */
  skipped?: Map<string, SystemgeError>;
  /** Waiters of `all()`, the iterator and other settle-waits. */
  waiters?: Waiter[] | undefined;
  /** Callers of `first()` (or `onFirst`) after the first. */
  firstMore?: FirstCallback<R>[] | undefined;
  /** Why the request failed (settled with an error: node stopping, send failure). */
  error?: Error;
  /** The token as a string, once made (most requests never need it: see `token`). */
  tokenText?: string;
}

/** The callback form of `first()`: `error` undefined and the first successful payload, or the error. */
export type FirstCallback<R extends Payload = Payload> = (error: Error | undefined, payload: R | undefined) => void;

/**
 * One request's state; owned by the SyncRequests broker. Kept small, as there is one per request:
 * no timer (the broker's one deadline sweep), no array for a single response, no promise unless
 * the caller asks for one, waiters only when someone waits, and no number field that would hold a
 * boxed double (its start time is in the broker's table by slot; its deadline is a small integer).
 */
export class PendingSyncRequest<R extends Payload> implements SyncRequest<R>, Expiring, SyncTokenSource {
  readonly topic: string;
  readonly targets: readonly string[];
  /**
   * @internal The token's counter: with the broker's prefix and the slot it makes the token, which is
   * written into frames from these parts (`writeToken`) and made a string only when asked (`token`).
   */
  seq = 0;
  outcome: SyncOutcome | undefined;
  /** @internal The broker's deadline sweep bookkeeping. */
  sweepIndex = -1;
  /** @internal */
  sweepAt = 0;
  /** @internal The broker's slot its token names (it stays set after the request settled; -1: never pending). */
  slot = -1;
  private readonly broker: SyncRequests;
  /**
   * The responses: the only one in `one` until a second arrives or `responses` is read, then all in
   * `rare.list`. An ok response delivered by its payload (`deliverPayload`) is kept as the bare
   * payload (`oneBare`) until someone asks for its response object.
   */
  private one: SyncResponse<R> | R | undefined;
  private oneBare = false;
  private count = 0;
  /** Who answered: the first name without a Set (most requests have one target), the rest in a Set. */
  private answeredFirst: string | undefined;
  private readonly maxResponses: number;
  private readonly timeoutMs: number;
  /** What most requests never need, in one object made when first needed (see `Rare`). */
  private rare: Rare<R> | undefined;
  /** Callers of `first()` (or `onFirst`): one without an array, more in `rare.firstMore`. */
  private firstCb: FirstCallback<R> | undefined;
  /** The first `first()` promise's own resolve/reject: no callback closure for the common caller. */
  private firstResolve: ((payload: R) => void) | undefined;
  private firstReject: ((error: Error) => void) | undefined;
  /** Responses already scanned for the first success. */
  private firstSeen = 0;

  constructor(
    broker: SyncRequests,
    topic: string,
    targets: readonly string[],
    maxResponses: number,
    timeoutMs: number,
    skipped?: Map<string, SystemgeError>,
  ) {
    this.broker = broker;
    this.topic = topic;
    this.targets = targets;
    const sent = targets.length - (skipped?.size ?? 0);
    this.maxResponses = (maxResponses > 0 ? Math.min(maxResponses, sent) : sent) + (skipped?.size ?? 0);
    this.timeoutMs = smallInteger(timeoutMs);
    if (skipped !== undefined && skipped.size > 0) {
      this.more().skipped = skipped;
      for (const [name, error] of skipped) {
        // Answered without ever being open to it (markAnswered would close what was never opened).
        if (this.answeredFirst === undefined) this.answeredFirst = name;
        else (this.more().answeredMore ??= new Set()).add(name);
        this.push({ origin: name, ok: false, error: error.message, code: error.code });
      }
    }
    // Open to every target it was sent to until that one answers or the request settles (least-pending).
    // (Indexed: a for-of here allocated an iterator result per target in optimized code.)
    for (let i = 0; i < targets.length; i++) {
      const name = targets[i] as string;
      if (skipped === undefined || !skipped.has(name)) broker.openTo(name);
    }
  }

  /** Unguessable correlation token (made a string on first read). */
  get token(): string {
    const rare = this.more();
    if (rare.tokenText === undefined) rare.tokenText = this.broker.tokenString(this as unknown as PendingSyncRequest<Payload>);
    return rare.tokenText;
  }

  /** @internal The token as a string, when it was made. */
  get tokenText(): string | undefined {
    return this.rare?.tokenText;
  }

  /** @internal A request never sent has no token: `token` is ''. */
  withoutToken(): void {
    this.more().tokenText = '';
  }

  /** @internal The token's length in bytes (ASCII). */
  get tokenByteLength(): number {
    return this.broker.tokenByteLength(this as unknown as PendingSyncRequest<Payload>);
  }

  /** @internal Writes the token's bytes into a frame (no string). */
  writeToken(buf: Uint8Array, offset: number): void {
    this.broker.writeToken(this as unknown as PendingSyncRequest<Payload>, buf, offset);
  }

  /** `rare`, made on first use. */
  private more(): Rare<R> {
    if (this.rare === undefined) this.rare = {};
    return this.rare;
  }

  get responses(): readonly SyncResponse<R>[] {
    const rare = this.more();
    if (rare.list === undefined) rare.list = this.count === 0 ? [] : [this.at(0)];
    return rare.list;
  }

  get missing(): string[] {
    return this.targets.filter((t) => !this.hasAnswered(t));
  }

  private at(i: number): SyncResponse<R> {
    const list = this.rare?.list;
    if (list !== undefined) return list[i] as SyncResponse<R>;
    return this.oneBare ? this.oneResponse() : (this.one as SyncResponse<R>);
  }

  /** The response object of a bare `one`, made now (the same object from then on). */
  private oneResponse(): SyncResponse<R> {
    const response = { origin: this.answeredFirst as string, ok: true, payload: this.one as R } as SyncResponse<R>;
    this.one = response;
    this.oneBare = false;
    return response;
  }

  private push(response: SyncResponse<R>): void {
    const list = this.rare?.list;
    if (list !== undefined) list.push(response);
    else if (this.count === 0) this.one = response;
    else this.more().list = [this.at(0), response];
    this.count++;
  }

  private hasAnswered(name: string): boolean {
    if (this.answeredFirst === name) return true;
    const more = this.rare?.answeredMore;
    return more?.has(name) === true;
  }

  private isTarget(name: string): boolean {
    const targets = this.targets;
    return targets.length === 1 ? targets[0] === name : targets.includes(name);
  }

  private markAnswered(name: string): void {
    if (this.answeredFirst === undefined) this.answeredFirst = name;
    else (this.more().answeredMore ??= new Set()).add(name);
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
    return this.delivered();
  }

  /**
   * @internal `deliver` of an ok response by its payload: the first one is kept bare, and its response
   * object is made only if `responses` or the iterator asks for it (`first()` takes the payload).
   */
  deliverPayload(origin: string, payload: R): boolean {
    if (this.outcome !== undefined || this.hasAnswered(origin) || !this.isTarget(origin)) return false;
    this.markAnswered(origin);
    if (this.count === 0 && this.rare?.list === undefined) {
      // The first answer: `answeredFirst` is its origin (markAnswered just set it).
      this.one = payload;
      this.oneBare = true;
      this.count = 1;
    } else this.push({ origin, ok: true, payload } as SyncResponse<R>);
    return this.delivered();
  }

  /** How a request that has collected what it wanted settles: every target answered, or enough did. */
  private collected(): SyncOutcome {
    return this.count === this.targets.length ? 'complete' : 'max-responses';
  }

  /** After a response was added: latency, waiters, and the end once enough responses are in. */
  private delivered(): boolean {
    this.broker.counters.observeSyncLatency(performance.now() - this.broker.startedAt(this.slot));
    this.wake();
    if (this.count >= this.maxResponses) {
      this.settle(this.collected());
    }
    return true;
  }

  /** @internal */
  peerLost(name: string, reason: string): void {
    if (this.outcome !== undefined || this.hasAnswered(name) || !this.isTarget(name)) return;
    this.broker.counters.syncPeerLost++;
    const error = new PeerLostError(name, reason);
    (this.more().lost ??= new Map()).set(name, error);
    this.markAnswered(name);
    this.push({ origin: name, ok: false, error: error.message, code: error.code });
    this.wake();
    if (this.count === this.targets.length) this.settle('complete');
    else if (this.count >= this.maxResponses) this.settle('max-responses');
  }

  /** @internal */
  settle(outcome: SyncOutcome, error?: Error): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    if (error !== undefined) this.more().error = error;
    if (this.count < this.targets.length) {
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
    const waiters = this.rare?.waiters;
    if (waiters === undefined || waiters.length === 0) return;
    (this.rare as Rare<R>).waiters = undefined;
    for (const w of waiters) w();
  }

  private wait(waiter: Waiter): void {
    (this.more().waiters ??= []).push(waiter);
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
    const error = this.rare?.error;
    if (error !== undefined) throw error;
    return this.responses.slice();
  }

  /**
   * The callback form of `first()`, for callers that want no promise: `callback(undefined, payload)`
   * with the first successful response's payload (the request is then cancelled), or
   * `callback(error)` with what `first()` would reject with. Called once, never synchronously from here.
   */
  onFirst(callback: FirstCallback<R>): void {
    if (this.firstCb === undefined) this.firstCb = callback;
    else (this.more().firstMore ??= []).push(callback);
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
    if (this.oneBare && this.firstSeen === 0) {
      // The first response is an ok one kept bare: its payload, without making its response object.
      // (`firstSeen` stays at it, as in the loop below: a later `first()` gets the same payload.)
      this.callFirst(undefined, this.one as R);
      this.settle(this.collected());
      return;
    }
    for (; this.firstSeen < this.count; this.firstSeen++) {
      const response = this.at(this.firstSeen);
      if (response.ok) {
        this.callFirst(undefined, response.payload);
        // Done collecting: the same outcome as a request that wanted one response.
        this.settle(this.collected());
        return;
      }
    }
    if (this.outcome === undefined) return;
    let error = this.rare?.error;
    if (error === undefined) {
      // A target that was sent the request and failed says more than one it was never sent to.
      const skipped = this.rare?.skipped;
      const failure = this.responses.find((r) => !r.ok && (skipped === undefined || !skipped.has(r.origin)));
      if (failure !== undefined && !failure.ok) {
        error = this.rare?.lost?.get(failure.origin) ?? new SyncFailureError(failure.origin, failure.error);
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
    const more = this.rare?.firstMore;
    this.firstCb = undefined;
    if (more !== undefined) (this.rare as Rare<R>).firstMore = undefined;
    if (cb !== undefined) this.broker.call(cb as FirstCallback, error, payload);
    if (more !== undefined) for (const m of more) this.broker.call(m as FirstCallback, error, payload);
  }

  first(): Promise<R> {
    if (this.firstResolve === undefined) {
      // The common case, one `first()`: the promise's own functions are kept, no closures made here.
      firstOf = this as unknown as PendingSyncRequest<Payload>;
      return new Promise<R>(captureFirst as (resolve: (payload: R) => void, reject: (error: Error) => void) => void);
    }
    return this.firstAgain();
  }

  /**
   * A second `first()` on the same request: a promise over `onFirst`. (Its own method: closures in
   * `first()` itself would make every call allocate a context for them.)
   */
  private firstAgain(): Promise<R> {
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
            const error = this.rare?.error;
            if (error !== undefined) throw error;
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
