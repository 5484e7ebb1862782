import {
  type CloseInfo,
  DialError,
  FieldTooLargeError,
  InvalidLimitsError,
  isSystemgeError,
  ProtocolVersionError,
} from '@systemge/protocol';
import type { EndpointConfig } from '../config.js';
import { errorText, type NodeContext } from '../context.js';
import {
  AuthenticationError,
  ConnectAttemptsError,
  DuplicateNameError,
  NodeStatusError,
  NodeStoppedError,
  PeerLostError,
  SelfDialError,
} from '../errors.js';
import { emptyHoldSlot, type HoldOwner, type HoldQueue, type HoldSlot } from '../messaging/hold-queue.js';
import type { PeerInfo } from '../node-types.js';
import { Peer } from '../peers/peer.js';
import { backoffDelay, endpointKey, Sleeper } from './backoff.js';
import { CONNECT_PROGRESS_INTERVAL_MS, ConnectProgressLog } from './connect-progress.js';
import type { HandshakeSettle } from './handshaker.js';

/** Refusals that another attempt cannot change: never retried. */
/**
 * Refusals that another attempt cannot change: credentials, names, protocol versions and limits are
 * configuration. They reject the dial at once instead of spending `maxAttempts`.
 */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([
  AuthenticationError.code,
  DuplicateNameError.code,
  SelfDialError.code,
  ProtocolVersionError.code,
  FieldTooLargeError.code,
  InvalidLimitsError.code,
]);

/** One configured (or runtime) endpoint: attempts, backoff, reconnects. Written only by `Dialer`. */
export interface EndpointState extends HoldOwner {
  endpoint: EndpointConfig;
  active: boolean;
  sleeper: Sleeper;
  peer: Peer | undefined;
  reconnecting: boolean;
  /** Dialed and redialed without an attempt limit until forgotten (a discovered member). */
  untilForgotten: boolean;
  /** Why `forgetEndpoint` dropped it; a dial completing afterwards closes its connection with this reason. */
  forgotten: string | undefined;
  /** Held messages for the lost peer (written only by `HoldQueue`). */
  hold: HoldSlot;
}

/** What the dialer needs from its neighbours. */
export interface DialerNeighbours {
  /** Wires a new connection to the node (frames, close); `settle` learns how its handshake ended. */
  attach(peer: Peer, settle: HandshakeSettle): void;
  /** Arms the handshake timeout and sends the hello. */
  handshake(peer: Peer, settle: HandshakeSettle): void;
  holds: HoldQueue<EndpointState>;
}

/**
 * Outgoing connections: the endpoint table, dial attempts with backoff, give-up, reconnect after a
 * loss (with the hold queue), and the `onLoss` / `onFailure` policies. One dial at a time per endpoint.
 */
export class Dialer {
  private readonly ctx: NodeContext;
  private readonly n: DialerNeighbours;
  private readonly endpoints = new Map<string, EndpointState>();
  /** Says what the node is waiting for while an endpoint cannot be reached, rate-limited. */
  private readonly connectLog: ConnectProgressLog;

  constructor(ctx: NodeContext, neighbours: DialerNeighbours) {
    this.ctx = ctx;
    this.n = neighbours;
    this.connectLog = new ConnectProgressLog(ctx.logger, CONNECT_PROGRESS_INTERVAL_MS, () => ctx.clock.now());
    for (const endpoint of ctx.config.endpoints) this.endpoints.set(endpointKey(endpoint), this.newState(endpoint));
  }

  private newState(endpoint: EndpointConfig): EndpointState {
    return {
      endpoint,
      active: false,
      sleeper: new Sleeper(this.ctx.clock),
      peer: undefined,
      reconnecting: false,
      untilForgotten: false,
      forgotten: undefined,
      hold: emptyHoldSlot(),
    };
  }

  /** At start: dials every configured endpoint; rejects when one gives up and `onFailure` is 'stop'. */
  async start(): Promise<void> {
    for (const state of this.endpoints.values()) state.active = true;
    await Promise.all([...this.endpoints.values()].map((state) => this.initialConnect(state)));
  }

  /** Stops every attempt in progress (a stop during start). */
  cancel(): void {
    for (const state of this.endpoints.values()) {
      state.active = false;
      state.sleeper.cancel();
    }
  }

  /** At stop: stops every attempt and discards what is held. */
  shutdown(): void {
    for (const state of this.endpoints.values()) {
      state.active = false;
      state.sleeper.cancel();
      this.n.holds.endReconnecting(state, `node ${this.ctx.name} stopped`);
    }
  }

  /**
   * `node.connect()`: dials an endpoint now, with the attempt policy; the same endpoint is dialed once.
   * `untilForgotten` (discovery's members): no attempt limit, for the first dial and every redial after
   * a loss, until `forgetEndpoint`; the membership, not `maxAttempts`, says when to stop.
   */
  async connect(endpoint: EndpointConfig, options: { untilForgotten?: boolean } = {}): Promise<PeerInfo> {
    const status = this.ctx.status();
    if (status !== 'started' && status !== 'starting') {
      throw new NodeStatusError(`cannot connect: node ${this.ctx.name} is ${status}`);
    }
    const key = endpointKey(endpoint);
    const existing = this.endpoints.get(key);
    if (existing?.peer !== undefined && !existing.peer.closed) return existing.peer.describe();
    const state = this.newState({ ...endpoint });
    state.active = true;
    state.untilForgotten = options.untilForgotten === true;
    this.endpoints.set(key, state);
    try {
      const peer = await this.connectWithRetries(state);
      return peer.describe();
    } catch (error) {
      // Not a newer dial of the same endpoint (forgotten, then dialed again while this one ended).
      if (this.endpoints.get(key) === state) this.endpoints.delete(key);
      throw error;
    }
  }

  /**
   * Discovery says this endpoint's member left: stop dialing or redialing it. Returns the peer it
   * owned, if connected, for the caller to close.
   */
  forgetEndpoint(endpoint: EndpointConfig, reason: string): Peer | undefined {
    const key = endpointKey(endpoint);
    const state = this.endpoints.get(key);
    if (state === undefined) return undefined;
    state.active = false;
    state.forgotten = reason;
    state.sleeper.cancel();
    this.endpoints.delete(key);
    this.n.holds.endReconnecting(state, reason);
    return state.peer;
  }

  /** `node.disconnect()` of a lost peer being redialed: stop redialing it. False when `name` is not redialed. */
  forgetLost(name: string, reason: string): boolean {
    const redialing = this.n.holds.lookup(name);
    if (redialing === undefined) return false;
    redialing.active = false;
    redialing.sleeper.cancel();
    this.endpoints.delete(endpointKey(redialing.endpoint));
    this.n.holds.endReconnecting(redialing, reason);
    return true;
  }

  /** `node.disconnect()` of a connected peer: its endpoint (if dialed) is no longer dialed. */
  forgetEndpointOf(peer: Peer): void {
    if (peer.endpoint === undefined) return;
    const key = endpointKey(peer.endpoint);
    const state = this.endpoints.get(key);
    if (state === undefined) return;
    state.active = false;
    state.sleeper.cancel();
    this.endpoints.delete(key);
  }

  /** A dialed peer completed its handshake: what was held for its endpoint goes out first. */
  onPeerReady(peer: Peer): void {
    const state = peer.endpoint === undefined ? undefined : this.endpoints.get(endpointKey(peer.endpoint));
    if (state !== undefined && this.n.holds.isHolding(state)) this.n.holds.flush(state, peer);
  }

  /** `peer` replaced `predecessor` (one connection per pair): the endpoint that dialed the predecessor owns `peer` now. */
  transferEndpoint(predecessor: Peer, peer: Peer): void {
    for (const s of this.endpoints.values()) if (s.peer === predecessor) s.peer = peer;
  }

  /**
   * A ready peer owned by an endpoint was lost (not closed by this side): stop the node, or redial it.
   * The owner is found by connection, not by the peer's endpoint: a kept incoming connection may own it.
   */
  onPeerLost(peer: Peer, info: CloseInfo): void {
    let state: EndpointState | undefined;
    for (const s of this.endpoints.values()) if (s.peer === peer) state = s;
    if (state === undefined || !state.active) return;
    state.peer = undefined;
    if (this.ctx.config.connection.onLoss === 'stop') {
      const error = new PeerLostError(peer.name, info.reason);
      this.ctx.logger.warn({ peer: peer.name, reason: info.reason }, `${error.message}; connection.onLoss is "stop", stopping`);
      this.ctx.emit('warning', error);
      this.ctx.requestStop(`lost peer ${peer.name}: ${info.reason}`);
      return;
    }
    this.n.holds.markReconnecting(state, peer);
    this.reconnect(state);
  }

  /** One dial + handshake. Resolves with the ready peer (the connection the peer kept, when it kept another). */
  private dialOnce(state: EndpointState): Promise<Peer> {
    const { transport } = this.ctx.config;
    if (transport === undefined) return Promise.reject(new NodeStatusError('no transport configured'));
    const endpoint = state.endpoint;
    return transport
      .dial(
        { host: endpoint.host, port: endpoint.port, serverName: endpoint.serverName, ca: endpoint.ca },
        {
          limits: this.ctx.config.limits,
          highWaterMark: this.ctx.config.connection.highWaterMark,
          timeoutMs: this.ctx.config.connection.dialTimeoutMs,
        },
      )
      .then(
        (connection) =>
          new Promise<Peer>((resolve, reject) => {
            if (!state.active) {
              connection.close('node is stopping').catch(() => {});
              reject(new NodeStoppedError(this.ctx.name));
              return;
            }
            const peer = new Peer(connection, 'out', endpoint, this.ctx.clock.now());
            let settled = false;
            const settle: HandshakeSettle = (error, survivor) => {
              if (settled) return;
              settled = true;
              if (error === undefined) resolve(survivor ?? peer);
              else reject(error);
            };
            this.n.attach(peer, settle);
            this.n.handshake(peer, settle);
          }),
      );
  }

  /** Dials with the attempt policy. Resolves with the peer, or rejects after the last attempt. */
  private async connectWithRetries(state: EndpointState): Promise<Peer> {
    const policy = this.ctx.config.connection;
    const where = endpointKey(state.endpoint);
    let attempt = 0;
    for (;;) {
      if (!state.active) throw new NodeStoppedError(this.ctx.name);
      attempt++;
      this.ctx.counters.connectionAttempts++;
      this.ctx.emit('connect:attempt', state.endpoint, attempt);
      try {
        const peer = await this.dialOnce(state);
        if (state.forgotten !== undefined) {
          // The member left while its handshake completed: the caller found no peer to close.
          if (!peer.closed) peer.close(state.forgotten, 'normal').catch(() => {});
          throw new NodeStoppedError(this.ctx.name);
        }
        state.peer = peer;
        // The dial resolved with a connection the peer had already made (one connection per pair).
        if (this.n.holds.isHolding(state)) this.n.holds.flush(state, peer);
        this.connectLog.connected(where, attempt);
        return peer;
      } catch (error) {
        const err = isSystemgeError(error) ? error : new DialError(where, errorText(error), { cause: error });
        if (!state.active) throw new NodeStoppedError(this.ctx.name);
        this.ctx.counters.connectionFailures++;
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && FINAL_REFUSALS.has(code)) {
          this.ctx.logger.error({ endpoint: where, attempt, code, err }, 'connection refused for good; not retried');
          this.ctx.emit('connect:failed', state.endpoint, attempt, err, undefined);
          throw err;
        }
        const maxAttempts = state.untilForgotten ? 0 : policy.maxAttempts;
        const last = maxAttempts > 0 && attempt >= maxAttempts;
        const retryInMs = last ? undefined : backoffDelay(policy, attempt);
        this.connectLog.failed(where, attempt, err, retryInMs);
        this.ctx.emit('connect:failed', state.endpoint, attempt, err, retryInMs);
        if (last) throw new ConnectAttemptsError(where, attempt, { cause: err });
        const completed = await state.sleeper.sleep(retryInMs ?? 0);
        if (!completed) throw new NodeStoppedError(this.ctx.name);
      }
    }
  }

  private async initialConnect(state: EndpointState): Promise<void> {
    try {
      await this.connectWithRetries(state);
    } catch (error) {
      if (error instanceof NodeStoppedError || !state.active) throw error;
      this.ctx.emit('connect:gave-up', state.endpoint, error as Error);
      if (this.ctx.config.connection.onFailure === 'stop') throw error;
      this.ctx.logger.warn({ err: error }, 'giving up on endpoint, node keeps running');
    }
  }

  private reconnect(state: EndpointState): void {
    if (state.reconnecting || !state.active) return;
    state.reconnecting = true;
    this.connectWithRetries(state).then(
      (peer) => {
        state.reconnecting = false;
        this.ctx.counters.reconnects++;
        this.ctx.emit('reconnected', peer.describe());
      },
      (error: Error) => {
        state.reconnecting = false;
        if (!state.active || error instanceof NodeStoppedError) return;
        this.n.holds.endReconnecting(state, `gave up reconnecting: ${error.message}`);
        this.ctx.emit('connect:gave-up', state.endpoint, error);
        if (this.ctx.config.connection.onFailure === 'stop') {
          this.ctx.requestStop(`gave up reconnecting to ${endpointKey(state.endpoint)}: ${error.message}`);
        }
      },
    );
  }
}
