import { randomBytes } from 'node:crypto';
import type { Payload, SystemgeError } from '@systemge/protocol';
import { type Clock, systemClock, type TimerHandle } from '../context.js';
import { PeerLostError, SyncFailureError, SyncTimeoutError } from '../errors.js';
import type { SyncOutcome, SyncRequest, SyncResponse } from '../node-types.js';
import type { Counters } from '../stats.js';

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

type Waiter = () => void;

/** One request's state; owned by the SyncRequests broker. */
class PendingSyncRequest<R extends Payload> implements SyncRequest<R> {
  readonly topic: string;
  readonly token: string;
  readonly targets: readonly string[];
  readonly responses: SyncResponse<R>[] = [];
  outcome: SyncOutcome | undefined;
  private readonly broker: SyncRequests;
  /** Who answered: the first name without a Set (most requests have one target), the rest in a Set. */
  private answeredFirst: string | undefined;
  private answeredMore: Set<string> | undefined;
  private answeredCount = 0;
  private readonly maxResponses: number;
  private readonly timeoutMs: number;
  private readonly startedAt = performance.now();
  private timer: TimerHandle | undefined;
  private error: Error | undefined;
  /** Typed errors of targets lost before answering, so `first()` rejects with SYSTEMGE_ERR_PEER_LOST. */
  private lost: Map<string, PeerLostError> | undefined;
  private waiters: Waiter[] = [];

  constructor(
    broker: SyncRequests,
    topic: string,
    token: string,
    targets: string[],
    maxResponses: number,
    timeoutMs: number,
  ) {
    this.broker = broker;
    this.topic = topic;
    this.token = token;
    this.targets = targets;
    this.maxResponses = maxResponses > 0 ? Math.min(maxResponses, targets.length) : targets.length;
    this.timeoutMs = timeoutMs;
  }

  get missing(): string[] {
    return this.targets.filter((t) => !this.hasAnswered(t));
  }

  private hasAnswered(name: string): boolean {
    return this.answeredFirst === name || (this.answeredMore !== undefined && this.answeredMore.has(name));
  }

  private markAnswered(name: string): void {
    if (this.answeredFirst === undefined) this.answeredFirst = name;
    else (this.answeredMore ??= new Set()).add(name);
    this.answeredCount++;
  }

  /** @internal */
  arm(): void {
    this.timer = this.broker.clock.setTimeout(() => this.onTimeout(), this.timeoutMs);
  }

  /** @internal Returns false when the response is not expected from that origin. */
  deliver(origin: string, response: SyncResponse<R>): boolean {
    if (this.outcome !== undefined || this.hasAnswered(origin) || !this.targets.includes(origin)) return false;
    this.markAnswered(origin);
    this.responses.push(response);
    this.broker.counters.observeSyncLatency(performance.now() - this.startedAt);
    this.wake();
    if (this.responses.length >= this.maxResponses) {
      this.settle(this.answeredCount === this.targets.length ? 'complete' : 'max-responses');
    }
    return true;
  }

  /** @internal */
  peerLost(name: string, reason: string): void {
    if (this.outcome !== undefined || this.hasAnswered(name) || !this.targets.includes(name)) return;
    this.broker.counters.syncPeerLost++;
    const error = new PeerLostError(name, reason);
    (this.lost ??= new Map()).set(name, error);
    this.markAnswered(name);
    this.responses.push({ origin: name, ok: false, error: error.message, code: error.code });
    this.wake();
    if (this.answeredCount === this.targets.length) this.settle('complete');
    else if (this.responses.length >= this.maxResponses) this.settle('max-responses');
  }

  /** @internal */
  settle(outcome: SyncOutcome, error?: Error): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.error = error;
    if (this.timer !== undefined) this.broker.clock.clearTimeout(this.timer);
    this.broker.forget(this.token);
    this.wake();
  }

  private onTimeout(): void {
    this.timer = undefined;
    this.broker.counters.syncTimeouts++;
    this.settle('timeout');
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private untilSettled(): Promise<void> {
    if (this.outcome !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.outcome !== undefined) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  async all(): Promise<SyncResponse<R>[]> {
    await this.untilSettled();
    if (this.error !== undefined) throw this.error;
    return this.responses.slice();
  }

  first(): Promise<R> {
    // Resolved directly from the wake-ups: no iterator or promise per response.
    return new Promise<R>((resolve, reject) => {
      let seen = 0;
      const check = (): void => {
        for (; seen < this.responses.length; seen++) {
          const response = this.responses[seen] as SyncResponse<R>;
          if (response.ok) {
            this.cancel();
            resolve(response.payload);
            return;
          }
        }
        if (this.outcome === undefined) {
          this.waiters.push(check);
          return;
        }
        if (this.error !== undefined) reject(this.error);
        else {
          const failure = this.responses.find((r) => !r.ok);
          if (failure !== undefined && !failure.ok) {
            reject(this.lost?.get(failure.origin) ?? new SyncFailureError(failure.origin, failure.error));
          } else reject(new SyncTimeoutError(this.topic, this.timeoutMs, this.missing));
        }
      };
      check();
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
          if (index < this.responses.length) {
            return { value: this.responses[index++] as SyncResponse<R>, done: false };
          }
          if (this.outcome !== undefined) {
            if (this.error !== undefined) throw this.error;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      },
      return: async (): Promise<IteratorResult<SyncResponse<R>>> => {
        this.cancel();
        return { value: undefined, done: true };
      },
    };
  }
}

/** Tracks pending sync requests by token and routes responses, losses and shutdowns to them. */
export class SyncRequests {
  readonly counters: Counters;
  /** Runs the request timeouts. */
  readonly clock: Clock;
  private readonly pending = new Map<string, PendingSyncRequest<Payload>>();

  constructor(counters: Counters, clock: Clock = systemClock) {
    this.counters = counters;
    this.clock = clock;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Creates a request; call `arm()` after sending it. */
  create<R extends Payload>(topic: string, targets: string[], maxResponses: number, timeoutMs: number): PendingSyncRequest<R> {
    let token = newSyncToken();
    while (this.pending.has(token)) token = newSyncToken();
    const request = new PendingSyncRequest<R>(this, topic, token, targets, maxResponses, timeoutMs);
    this.pending.set(token, request as unknown as PendingSyncRequest<Payload>);
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
    const request = this.pending.get(token);
    if (request === undefined) return false;
    return request.deliver(origin, response);
  }

  peerLost(name: string, reason: string): void {
    for (const request of [...this.pending.values()]) request.peerLost(name, reason);
  }

  /** Settles every pending request with `error` (node stopping). */
  failAll(error: Error): void {
    for (const request of [...this.pending.values()]) request.settle('failed', error);
  }

  /** @internal */
  forget(token: string): void {
    this.pending.delete(token);
  }
}

export type { PendingSyncRequest };
