import { type Payload, SystemgeError } from '@systemge/protocol';
import type { NodeContext } from '../context.js';
import {
  BackpressureError,
  InvalidArgumentError,
  NodeStatusError,
  NoRouteError,
  PeerLostError,
  PeerNotConnectedError,
  SyncTimeoutError,
} from '../errors.js';
import type { AsyncMessageOptions, RequestOptions, SyncRequest } from '../node-types.js';
import type { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import type { Counters } from '../stats.js';
import { invalidDuration } from '../timers.js';
import { BALANCE_STRATEGIES, type BalanceStrategy, Balancer, type PickRequest } from './balancer.js';
import type { FirstCallback } from './pending-sync-request.js';
import { encodingUnsupported, refusingPeers } from './payload-encodings.js';

/** Retries of `node.request()` on another peer when none is given. */
export const DEFAULT_REQUEST_RETRIES = 2;
/** The largest `retries` accepted. */
export const MAX_REQUEST_RETRIES = 100;

/**
 * Errors after which the request certainly or possibly did not reach a handler's answer, so
 * another peer may be asked: the peer was lost, was gone at send time, its buffer was full, or the
 * transport's send threw. A failure the handler answered is never retried.
 */
function retryable(error: unknown): boolean {
  if (!(error instanceof SystemgeError)) return true;
  const code = error.code;
  return code === PeerLostError.code || code === PeerNotConnectedError.code || code === BackpressureError.code;
}

/** The strategy of a balanced call, `options.key` checked against it. Throws InvalidArgumentError. */
function strategyOf(balance: BalanceStrategy | undefined, key: string | undefined): BalanceStrategy {
  if (balance !== undefined && !BALANCE_STRATEGIES.includes(balance)) {
    throw new InvalidArgumentError('options.balance', `expected one of ${BALANCE_STRATEGIES.join(', ')}, got ${String(balance)}`);
  }
  if (key !== undefined && typeof key !== 'string') {
    throw new InvalidArgumentError('options.key', `expected a string, got ${typeof key}`);
  }
  const strategy = balance ?? (key === undefined ? 'round-robin' : 'key');
  if (strategy === 'key' && key === undefined) throw new InvalidArgumentError('options.key', 'balance "key" needs a key');
  if (strategy !== 'key' && key !== undefined) {
    throw new InvalidArgumentError('options.key', `a key is only used by balance "key", not "${strategy}"`);
  }
  return strategy;
}

/** What balanced sends need from their neighbours. */
export interface BalancedNeighbours {
  peers: PeerTable;
  /** The plain send paths (`Outbound`): a balanced call picks one peer, then sends to it. */
  outbound: {
    asyncMessage(topic: string, payload: Payload, options?: AsyncMessageOptions): boolean;
    /** A sync request to one peer picked from the topic's route, for one response. */
    syncRequestTo(peer: Peer, topic: string, payload: Payload, timeoutMs: number): SyncRequest<Payload>;
    /** The sync requests in flight, whose per-peer counts `least-pending` picks by. */
    requests: { pendingTo(name: string): number };
  };
}

/**
 * The peers of a topic's route that can take the payload: all of them for text and bytes; for a
 * structured payload, those that announced msgpack. Throws `PayloadEncodingUnsupportedError` when
 * peers handle the topic but none accepts the payload.
 */
function eligible(topic: string, routes: Peer[] | undefined, payload: Payload, counters: Counters): Peer[] | undefined {
  if (routes === undefined || routes.length === 0) return undefined;
  const refusing = refusingPeers(routes, payload);
  if (refusing === undefined) return routes;
  if (refusing.length === routes.length) {
    counters.encodingRefusals += refusing.length;
    throw encodingUnsupported(topic, refusing);
  }
  return routes.filter((peer) => !refusing.includes(peer));
}

/**
 * One-of-N sends: `node.request()` asks one of the peers that handle a sync topic (retrying on
 * another when the peer is lost or the send fails before an answer), and `asyncMessage` with
 * `balance` or `key` sends to one of the peers that handle an async topic. The pick is the
 * `Balancer`'s; the send and its settling are `Outbound`'s.
 */
export class Balanced {
  private readonly ctx: NodeContext;
  private readonly n: BalancedNeighbours;
  readonly balancer: Balancer;

  constructor(ctx: NodeContext, neighbours: BalancedNeighbours, random: () => number = Math.random) {
    this.ctx = ctx;
    this.n = neighbours;
    this.balancer = new Balancer(random, (name) => neighbours.outbound.requests.pendingTo(name));
  }

  private assertSending(): void {
    const status = this.ctx.status();
    if (status !== 'started' && status !== 'starting') {
      throw new NodeStatusError(`cannot send: node ${this.ctx.name} is ${status}`);
    }
  }

  /** Sends an async message to one peer that handles `topic`; see `SystemgeNode.asyncMessage`. */
  asyncMessage(topic: string, payload: Payload, options: AsyncMessageOptions): boolean {
    if (options.to !== undefined)
      throw new InvalidArgumentError('options.to', 'a balanced message picks its peer: give either to or balance/key');
    const strategy = strategyOf(options.balance, options.key);
    this.assertSending();
    const counters = this.ctx.counters;
    let routes: Peer[] | undefined;
    try {
      routes = eligible(topic, this.n.peers.asyncRoutes.get(topic), payload, counters);
    } catch (error) {
      counters.balancedAsyncNoPeer++;
      throw error;
    }
    const peer = routes === undefined ? undefined : this.balancer.pick(topic, routes, { strategy, key: options.key, async: true });
    if (peer === undefined) {
      counters.balancedAsyncNoPeer++;
      // No route: the plain path counts the message as unrouted.
      return this.n.outbound.asyncMessage(topic, payload);
    }
    return this.n.outbound.asyncMessage(topic, payload, { to: peer.name });
  }

  /** Asks one peer that handles `topic`; see `SystemgeNode.request`. */
  request(topic: string, payload: Payload, options?: RequestOptions): Promise<Payload> {
    let call: BalancedCall;
    try {
      const strategy = strategyOf(options?.balance, options?.key);
      const retries = options?.retries ?? DEFAULT_REQUEST_RETRIES;
      if (!(Number.isSafeInteger(retries) && retries >= 0 && retries <= MAX_REQUEST_RETRIES)) {
        throw new InvalidArgumentError('options.retries', `expected an integer from 0 to ${MAX_REQUEST_RETRIES}, got ${String(retries)}`);
      }
      const timeoutMs = options?.timeoutMs ?? this.ctx.config.sync.timeoutMs;
      const problem = invalidDuration(timeoutMs, 1);
      if (problem !== undefined) throw new InvalidArgumentError('options.timeoutMs', problem);
      this.assertSending();
      call = new BalancedCall(this.ctx, this.n, this.balancer, topic, payload, strategy, options?.key, retries, timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    calling = call;
    const promise = new Promise<Payload>(captureCall);
    call.attempt();
    return promise;
  }
}

/**
 * One `node.request()`: picks a peer, asks it (`onFirst`, no promise per attempt), and on a retryable
 * failure picks another, until an answer, a failure the handler answered, the retries or the deadline
 * run out. Settles its caller's promise once. It is its own `PickRequest` (strategy, key, the peers
 * already tried), so a pick allocates nothing.
 */
class BalancedCall implements PickRequest {
  readonly strategy: BalanceStrategy;
  readonly key: string | undefined;
  /** Peers already asked (after the first retry). */
  exclude: Set<string> | undefined;
  resolve: ((payload: Payload) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  private readonly ctx: NodeContext;
  private readonly n: BalancedNeighbours;
  private readonly balancer: Balancer;
  private readonly topic: string;
  private readonly payload: Payload;
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly deadline: number;
  private attempts = 0;
  private lastError: unknown;
  /** The peer asked last. */
  private asked = '';
  private readonly onAnswer: FirstCallback = (error, payload) => this.answered(error, payload);

  constructor(
    ctx: NodeContext,
    n: BalancedNeighbours,
    balancer: Balancer,
    topic: string,
    payload: Payload,
    strategy: BalanceStrategy,
    key: string | undefined,
    retries: number,
    timeoutMs: number,
  ) {
    this.ctx = ctx;
    this.n = n;
    this.balancer = balancer;
    this.topic = topic;
    this.payload = payload;
    this.strategy = strategy;
    this.key = key;
    this.retries = retries;
    this.timeoutMs = timeoutMs;
    this.deadline = ctx.clock.now() + timeoutMs;
  }

  /** Asks the next peer; what stops it (no peer, the deadline) rejects the call. */
  attempt(): void {
    try {
      this.ask();
    } catch (error) {
      (this.reject as (error: unknown) => void)(error);
    }
  }

  private ask(): void {
    const counters = this.ctx.counters;
    let routes: Peer[] | undefined;
    try {
      routes = eligible(this.topic, this.n.peers.syncRoutes.get(this.topic), this.payload, counters);
    } catch (error) {
      counters.balancedRequestsNoPeer++;
      throw error;
    }
    const peer = routes === undefined ? undefined : this.balancer.pick(this.topic, routes, this);
    if (peer === undefined) {
      counters.balancedRequestsNoPeer++;
      throw this.lastError ?? new NoRouteError(this.topic);
    }
    const remaining = this.deadline - this.ctx.clock.now();
    if (remaining < 1) throw new SyncTimeoutError(this.topic, this.timeoutMs, [peer.name]);
    this.asked = peer.name;
    if (this.attempts > 0) counters.balancedRetries++;
    // Open to that peer (for least-pending) from here until it answers or the request settles.
    this.n.outbound.syncRequestTo(peer, this.topic, this.payload, Math.ceil(remaining)).onFirst(this.onAnswer);
  }

  private answered(error: Error | undefined, payload: Payload | undefined): void {
    if (error === undefined) {
      (this.resolve as (payload: Payload) => void)(payload as Payload);
      return;
    }
    const reject = this.reject as (error: unknown) => void;
    if (this.attempts >= this.retries || !retryable(error)) {
      if (error instanceof SystemgeError && error.code === SyncTimeoutError.code)
        reject(new SyncTimeoutError(this.topic, this.timeoutMs, [this.asked]));
      else reject(error);
      return;
    }
    this.lastError = error;
    (this.exclude ??= new Set()).add(this.asked);
    this.attempts++;
    this.ctx.logger.debug(
      { topic: this.topic, peer: this.asked, attempt: this.attempts, code: (error as { code?: unknown }).code },
      'balanced request retried on another peer',
    );
    this.attempt();
  }
}

/** The call whose promise is being made (set just before, read once): no executor closure per call. */
let calling: BalancedCall | undefined;

function captureCall(resolve: (payload: Payload) => void, reject: (error: unknown) => void): void {
  const call = calling as BalancedCall;
  calling = undefined;
  call.resolve = resolve;
  call.reject = reject;
}
