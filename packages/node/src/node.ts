import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  type CloseInfo,
  type Connection,
  type Frame,
  FrameKind,
  type HandshakeAckFrame,
  type HandshakeFrame,
  type Listener,
  type MessageFrame,
  type Payload,
  PROTOCOL_VERSION,
  ProtocolVersionError,
  type RemoteAddress,
  type SystemgeError,
  type TopicsFrame,
} from '@systemge/protocol';
import { AddressList, AttemptRateLimiter } from './access-control.js';
import { builtinCommands } from './commands.js';
import type {
  AnyTopics,
  Application,
  AsyncMessageHandler,
  CommandHandler,
  CommandResult,
  IncomingMessage,
  NodePlugin,
  PluginContext,
  SyncMessageHandler,
  TopicMap,
} from './components.js';
import { type EndpointConfig, type NodeConfig, resolveNodeConfig, type ResolvedNodeConfig } from './config.js';
import { backoffDelay, endpointKey, Sleeper } from './endpoint-dialer.js';
import { ConnectProgressLog } from './connect-progress.js';
import {
  AuthenticationError,
  BackpressureError,
  ConnectAttemptsError,
  DuplicateNameError,
  errorFromRefusal,
  HandshakeError,
  HandshakeTimeoutError,
  HeartbeatTimeoutError,
  NodeStatusError,
  NodeStoppedError,
  NoHandlerError,
  NoRouteError,
  PeerLostError,
  PeerNotConnectedError,
  PeerReconnectingError,
  QueuedMessagesDiscardedError,
  ReconnectQueueFullError,
  UnknownCommandError,
} from './errors.js';
import { Dispatcher } from './handling.js';
import { childLogger, type Logger, silentLogger } from './logger.js';
import type {
  AsyncMessageOptions,
  NodeEventName,
  NodeEvents,
  NodeStatus,
  PeerInfo,
  SyncRequest,
  SyncRequestOptions,
  SyncResponse,
  SystemgeNode,
} from './node-types.js';
import { Peer, RoutingTable } from './peer.js';
import { ConnectionRateLimiter } from './rate-limits.js';
import { Counters, type NodeStats } from './stats.js';
import { SyncRequests } from './sync-requests.js';

/** Extra things a node is built with that are not configuration data. */
export interface NodeOptions<T extends TopicMap = AnyTopics> {
  /** Structured logger (pino-compatible). Default: silent. */
  logger?: Logger;
  /** HTTP, WebSocket, dashboard... components, started in order after the node's own networking. */
  plugins?: NodePlugin<T>[];
}

const SUCCESS_PAYLOAD_TYPES = 'a string or a Uint8Array';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Tracks one configured (or runtime) endpoint: attempts, backoff, reconnects. */
interface EndpointState {
  endpoint: EndpointConfig;
  active: boolean;
  sleeper: Sleeper;
  peer: Peer | undefined;
  reconnecting: boolean;
  /** Name and async topics of the lost peer while reconnecting (messages `to` it are held or rejected). */
  lostName: string | undefined;
  lostAsyncTopics: ReadonlySet<string>;
  /** Async messages held for the lost peer (`whileReconnecting: 'queue'`), bounded by `reconnectQueueSize`. */
  held: { topic: string; payload: Payload }[];
}

/**
 * Creates a node. `application` is any object; its components are found by the methods it has
 * (`getAsyncMessageHandlers`, `getSyncMessageHandlers`, `getCommandHandlers`, `onStart`, `onStop`).
 * Throws `SYSTEMGE_ERR_INVALID_CONFIG` naming the field when the config is invalid.
 */
export function createNode<T extends TopicMap = AnyTopics>(
  config: NodeConfig,
  application: Application<T> = {},
  options: NodeOptions<T> = {},
): SystemgeNode<T> {
  return new NodeImpl<T>(config, application, options) as unknown as SystemgeNode<T>;
}

type AnyAsyncHandler<T extends TopicMap> = (message: IncomingMessage, node: SystemgeNode<T>) => unknown;
type AnySyncHandler<T extends TopicMap> = (message: IncomingMessage, node: SystemgeNode<T>) => unknown;

class NodeImpl<T extends TopicMap> extends EventEmitter {
  readonly name: string;
  status: NodeStatus = 'stopped';
  private readonly config: ResolvedNodeConfig;
  private readonly application: Application<T>;
  private readonly plugins: NodePlugin<T>[];
  private readonly logger: Logger;
  private readonly counters = new Counters();
  private readonly requests = new SyncRequests(this.counters);
  private readonly dispatcher: Dispatcher<Peer>;
  /** This node as its public interface (handlers and plugins get this). */
  private readonly self: SystemgeNode<T>;
  private readonly asyncHandlers = new Map<string, AnyAsyncHandler<T>>();
  private readonly syncHandlers = new Map<string, AnySyncHandler<T>>();
  private readonly appCommands = new Map<string, CommandHandler>();
  private readonly peers_ = new Set<Peer>();
  private readonly peersByName = new Map<string, Peer>();
  private readonly asyncRoutes = new RoutingTable();
  private readonly syncRoutes = new RoutingTable();
  private readonly endpoints = new Map<string, EndpointState>();
  /** Lost outgoing peers being redialed, by the name they had. */
  private readonly reconnectingByName = new Map<string, EndpointState>();
  private lastLivenessCheckAt = 0;
  private listener: Listener | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private startedPlugins: NodePlugin<T>[] = [];
  private drainWaiters: (() => void)[] = [];
  private transition: Promise<void> | undefined;
  private startedAt = 0;
  /** Accepted connections still handshaking, oldest first. */
  private readonly pendingIncoming = new Set<Peer>();
  /** Addresses allowed to connect (empty: all); editable at runtime. */
  readonly allowList: AddressList;
  /** Addresses refused before any handshake; editable at runtime. */
  readonly denyList: AddressList;
  private readonly attemptLimiter: AttemptRateLimiter;
  /** Says what the node is waiting for while an endpoint cannot be reached, rate-limited. */
  private readonly connectLog: ConnectProgressLog;

  constructor(config: NodeConfig, application: Application<T>, options: NodeOptions<T>) {
    super();
    this.config = resolveNodeConfig(config);
    this.name = this.config.name;
    this.allowList = new AddressList(this.config.access.allow, 'access.allow');
    this.denyList = new AddressList(this.config.access.deny, 'access.deny');
    this.attemptLimiter = new AttemptRateLimiter(this.config.access.maxAttemptsPerIp, this.config.access.attemptWindowMs);
    this.application = application;
    this.self = this as unknown as SystemgeNode<T>;
    this.plugins = options.plugins ?? [];
    this.logger = childLogger(options.logger ?? silentLogger, { node: this.name });
    this.connectLog = new ConnectProgressLog(this.logger);
    const pluginNames = new Set<string>();
    for (const plugin of this.plugins) {
      if (pluginNames.has(plugin.name)) throw new NodeStatusError(`two plugins are named "${plugin.name}"`);
      pluginNames.add(plugin.name);
    }
    const { mode, queueSize, concurrency } = this.config.handling;
    this.dispatcher = new Dispatcher<Peer>(mode, queueSize, concurrency, (peer, frame) => this.handle(peer, frame));

    // Components are detected by the methods the application has.
    const app = application as Application<T>;
    for (const [topic, handler] of Object.entries(app.getAsyncMessageHandlers?.() ?? {})) {
      if (typeof handler === 'function') this.asyncHandlers.set(topic, handler as AnyAsyncHandler<T>);
    }
    for (const [topic, handler] of Object.entries(app.getSyncMessageHandlers?.() ?? {})) {
      if (typeof handler === 'function') this.syncHandlers.set(topic, handler as AnySyncHandler<T>);
    }
    for (const [name, handler] of Object.entries(app.getCommandHandlers?.() ?? {})) {
      this.appCommands.set(name, handler);
    }
    for (const plugin of this.plugins) {
      for (const [name, handler] of Object.entries(plugin.getCommandHandlers?.() ?? {})) {
        if (this.appCommands.has(name)) throw new NodeStatusError(`command "${name}" is defined twice`);
        this.appCommands.set(name, handler);
      }
    }
    for (const endpoint of this.config.endpoints) {
      this.endpoints.set(endpointKey(endpoint), this.endpointState(endpoint));
    }
  }

  // ---------------------------------------------------------------- status

  get address(): { host: string; port: number } | undefined {
    return this.listener === undefined ? undefined : { host: this.listener.host, port: this.listener.port };
  }

  get uptimeMs(): number {
    return this.status === 'started' ? Date.now() - this.startedAt : 0;
  }

  get stats(): NodeStats {
    const c = this.counters;
    let bytesIn = c.closedBytesIn;
    let bytesOut = c.closedBytesOut;
    let connectionsIn = 0;
    let connectionsOut = 0;
    let queued = this.dispatcher.queued;
    let paused = 0;
    for (const peer of this.peers_) {
      bytesIn += peer.connection.bytesIn;
      bytesOut += peer.connection.bytesOut;
      queued += peer.queue.length;
      if (peer.connection.paused) paused++;
      if (peer.state !== 'ready') continue;
      if (peer.direction === 'in') connectionsIn++;
      else connectionsOut++;
    }
    return {
      asyncSent: c.asyncSent,
      asyncReceived: c.asyncReceived,
      syncRequestsSent: c.syncRequestsSent,
      syncRequestsReceived: c.syncRequestsReceived,
      syncResponsesSent: c.syncResponsesSent,
      syncFailuresSent: c.syncFailuresSent,
      syncResponsesReceived: c.syncResponsesReceived,
      syncFailuresReceived: c.syncFailuresReceived,
      syncTimeouts: c.syncTimeouts,
      syncPeerLost: c.syncPeerLost,
      unroutedMessages: c.unroutedMessages,
      invalidMessages: c.invalidMessages,
      noHandlerMessages: c.noHandlerMessages,
      handlerErrors: c.handlerErrors,
      unknownTokenResponses: c.unknownTokenResponses,
      backpressureRejections: c.backpressureRejections,
      bytesIn,
      bytesOut,
      connectionsIn,
      connectionsOut,
      connectionsAccepted: c.connectionsAccepted,
      connectionsRefused: c.connectionsRefused,
      connectionAttempts: c.connectionAttempts,
      connectionFailures: c.connectionFailures,
      connectionsLost: c.connectionsLost,
      reconnects: c.reconnects,
      handshakeFailures: c.handshakeFailures,
      heartbeatTimeouts: c.heartbeatTimeouts,
      rateLimited: c.rateLimited,
      rateLimitDrops: c.rateLimitDrops,
      reconnectQueued: c.reconnectQueued,
      reconnectQueueOverflows: c.reconnectQueueOverflows,
      reconnectQueueDiscarded: c.reconnectQueueDiscarded,
      reconnectRejections: c.reconnectRejections,
      queuedMessages: queued,
      pausedConnections: paused,
      syncLatencyBuckets: c.syncLatencyBuckets.slice(),
      syncLatencySumMs: c.syncLatencySumMs,
      syncLatencyCount: c.syncLatencyCount,
      topics: c.topicsRecord(),
    };
  }

  /** Largest handling queue length seen since creation. */
  get peakQueueLength(): number {
    return this.dispatcher.peakQueue;
  }

  get writable(): boolean {
    for (const peer of this.peersByName.values()) if (!peer.connection.writable) return false;
    return true;
  }

  private setStatus(status: NodeStatus): void {
    const previous = this.status;
    if (previous === status) return;
    this.status = status;
    this.logger.info({ status, previous }, `node ${status}`);
    this.emit('status', status, previous);
  }

  override emit<E extends NodeEventName>(event: E, ...args: NodeEvents[E]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (error) {
      // A throwing listener must not break the node's own state machine.
      this.logger.error({ err: error, event }, 'event listener threw');
      return true;
    }
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.status !== 'stopped') {
      return Promise.reject(new NodeStatusError(`cannot start node ${this.name}: it is ${this.status}`));
    }
    const run = this.doStart().finally(() => {
      this.transition = undefined;
    });
    this.transition = run;
    return run;
  }

  private async doStart(): Promise<void> {
    this.setStatus('starting');
    try {
      const { transport } = this.config;
      if (this.config.listen !== false && transport !== undefined) {
        this.listener = await transport.listen({
          host: this.config.listen.host,
          port: this.config.listen.port,
          limits: this.config.limits,
          highWaterMark: this.config.connection.highWaterMark,
          onConnection: (connection) => this.onIncoming(connection),
          onRefused: (remote, reason) => this.onRefused(remote, reason),
          accept: (remote) => this.checkAccess(remote),
        });
        this.logger.info({ host: this.listener.host, port: this.listener.port }, 'listening');
      }
      for (const state of this.endpoints.values()) state.active = true;
      await Promise.all([...this.endpoints.values()].map((state) => this.initialConnect(state)));
      this.startHeartbeats();
      const context = this.pluginContext();
      for (const plugin of this.plugins) {
        await plugin.start(context);
        this.startedPlugins.push(plugin);
      }
      await this.application.onStart?.(this.self);
      this.startedAt = Date.now();
      this.setStatus('started');
    } catch (error) {
      this.logger.error({ err: error }, 'start failed');
      await this.teardown(error instanceof Error ? error.message : 'start failed', 0);
      this.setStatus('stopped');
      throw error;
    }
  }

  async stop(reason = 'node stopping'): Promise<void> {
    if (this.status === 'stopped') return;
    if (this.status === 'stopping') {
      await this.transition;
      return;
    }
    if (this.status === 'starting') {
      // start() may be waiting on endpoint attempts (forever with maxAttempts 0): cancel them.
      for (const state of this.endpoints.values()) {
        state.active = false;
        state.sleeper.cancel();
      }
      await this.transition?.catch(() => {});
      if ((this.status as NodeStatus) !== 'started') return;
    }
    const run = this.doStop(reason).finally(() => {
      this.transition = undefined;
    });
    this.transition = run;
    await run;
  }

  private async doStop(reason: string): Promise<void> {
    this.setStatus('stopping');
    try {
      await this.application.onStop?.(this.self);
    } catch (error) {
      this.logger.error({ err: error }, 'onStop failed');
    }
    await this.teardown(reason, this.config.shutdownTimeoutMs);
    this.setStatus('stopped');
  }

  /** Releases everything start() acquired: plugins, listener, dials, handlers, requests, sockets. */
  private async teardown(reason: string, handlerDeadlineMs: number): Promise<void> {
    this.stopHeartbeats();
    const context = this.pluginContext();
    for (const plugin of this.startedPlugins.reverse()) {
      try {
        await plugin.stop(context);
      } catch (error) {
        this.logger.error({ err: error, plugin: plugin.name }, 'plugin stop failed');
      }
    }
    this.startedPlugins = [];
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
    for (const state of this.endpoints.values()) {
      state.active = false;
      state.sleeper.cancel();
      this.endReconnecting(state, `node ${this.name} stopped`);
    }
    // A counted pause: the dispatcher releasing its own backpressure pause must not resume reading now.
    for (const peer of this.peers_) if (!peer.closed) peer.pauseReading();
    if (handlerDeadlineMs > 0) {
      const idle = await this.dispatcher.idle(handlerDeadlineMs);
      if (!idle) this.logger.warn({ deadlineMs: handlerDeadlineMs }, 'handlers still running at the shutdown deadline');
    }
    this.requests.failAll(new NodeStoppedError(this.name));
    await Promise.all(
      [...this.peers_].map((peer) => {
        peer.closingLocally = true;
        return peer.connection.close(reason, 'normal');
      }),
    );
    this.resolveDrainWaiters();
  }

  async restart(): Promise<void> {
    await this.stop('node restarting');
    await this.start();
  }

  private pluginContext(): PluginContext<T> {
    return { node: this.self, application: this.application, logger: this.logger };
  }

  // ---------------------------------------------------------------- connections

  private endpointState(endpoint: EndpointConfig): EndpointState {
    return {
      endpoint,
      active: false,
      sleeper: new Sleeper(),
      peer: undefined,
      reconnecting: false,
      lostName: undefined,
      lostAsyncTopics: new Set(),
      held: [],
    };
  }

  /** Remembers a lost peer's name so messages addressed to it are held or rejected while it is redialed. */
  private markReconnecting(state: EndpointState, lost: Peer): void {
    state.lostName = lost.name;
    state.lostAsyncTopics = new Set(lost.asyncTopics);
    this.reconnectingByName.set(lost.name, state);
  }

  /** The endpoint is no longer being redialed: forget the lost name, discard (and report) what is held. */
  private endReconnecting(state: EndpointState, reason: string): void {
    const name = state.lostName;
    if (name === undefined) return;
    if (this.reconnectingByName.get(name) === state) this.reconnectingByName.delete(name);
    state.lostName = undefined;
    const count = state.held.length;
    state.held = [];
    this.reportDiscarded(name, count, reason);
  }

  private reportDiscarded(name: string, count: number, reason: string): void {
    if (count === 0) return;
    this.counters.reconnectQueueDiscarded += count;
    const error = new QueuedMessagesDiscardedError(name, count, reason);
    this.logger.warn({ peer: name, count }, error.message);
    this.emit('warning', error);
  }

  /** Checks that a message `to` a reconnecting peer may be held; throws the typed refusal otherwise. */
  private checkHold(state: EndpointState, name: string, topic: string): EndpointState {
    const { whileReconnecting, reconnectQueueSize } = this.config.connection;
    if (whileReconnecting === 'reject') {
      this.counters.reconnectRejections++;
      throw new PeerReconnectingError(name, endpointKey(state.endpoint));
    }
    if (!state.lostAsyncTopics.has(topic)) throw new NoRouteError(topic, `peer "${name}" does not handle topic "${topic}"`);
    if (state.held.length >= reconnectQueueSize) {
      this.counters.reconnectQueueOverflows++;
      throw new ReconnectQueueFullError(name, reconnectQueueSize);
    }
    return state;
  }

  /** Sends what was held for an endpoint, in order, to the peer that just completed the handshake. */
  private flushHeld(state: EndpointState, peer: Peer): void {
    const name = state.lostName ?? peer.name;
    if (this.reconnectingByName.get(name) === state) this.reconnectingByName.delete(name);
    state.lostName = undefined;
    const held = state.held;
    if (held.length === 0) return;
    state.held = [];
    let sent = 0;
    for (let i = 0; i < held.length; i++) {
      const { topic, payload } = held[i] as { topic: string; payload: Payload };
      if (!peer.asyncTopics.has(topic)) continue;
      try {
        peer.connection.send({ kind: FrameKind.AsyncMessage, topic, payload, syncToken: undefined });
        sent++;
        this.counters.asyncSent++;
        this.counters.topic(topic).sent++;
      } catch {
        // Counted below with the rest that could not be sent.
      }
    }
    this.reportDiscarded(name, held.length - sent, 'not sendable after the reconnect (topic no longer handled, or over a limit)');
  }

  /** Cheap checks on a raw socket, before any per-connection work. Returns a reason to refuse. */
  private checkAccess(remote: RemoteAddress): string | undefined {
    const access = this.config.access;
    if (this.denyList.has(remote.address)) return 'address is denied';
    if (this.allowList.size > 0 && !this.allowList.has(remote.address)) return 'address is not allowed';
    if (!this.attemptLimiter.attempt(remote.address)) return 'too many connection attempts';
    // A full set of pending handshakes evicts its oldest member instead of refusing the newcomer:
    // silent sockets then cannot lock real peers out, they only push each other out.
    if (this.pendingIncoming.size >= access.maxPendingHandshakes) {
      const oldest = this.pendingIncoming.values().next().value;
      if (oldest !== undefined) this.dropPending(oldest, `evicted: more than ${access.maxPendingHandshakes} pending handshakes`);
    }
    if (this.peers_.size >= access.maxConnections) return 'too many connections';
    return undefined;
  }

  /** Ends an unauthenticated incoming connection at once; its handshake slot is free immediately. */
  private dropPending(peer: Peer, reason: string, code: string = HandshakeError.code): void {
    this.pendingIncoming.delete(peer);
    this.counters.handshakeFailures++;
    this.logger.warn({ remote: `${peer.connection.remoteAddress}:${peer.connection.remotePort}` }, `handshake dropped: ${reason}`);
    peer.closingLocally = true;
    peer.connection.close(reason, code).catch(() => {});
    // The goodbye is a courtesy; a peer that does not read it does not keep the socket open.
    setTimeout(() => peer.connection.destroy(), 200).unref();
  }

  private onRefused(remote: RemoteAddress, reason: string): void {
    this.counters.connectionsRefused++;
    this.logger.warn({ remote: `${remote.address}:${remote.port}`, reason }, 'connection refused');
  }

  private onIncoming(connection: Connection): void {
    if (this.status === 'stopping' || this.status === 'stopped') {
      connection.close('node is stopping', 'SYSTEMGE_ERR_NODE_STOPPED').catch(() => {});
      return;
    }
    this.counters.connectionsAccepted++;
    const peer = new Peer(connection, 'in');
    this.pendingIncoming.add(peer);
    this.attach(peer);
    this.armHandshakeTimeout(peer, undefined);
  }

  /** Wires a connection's callbacks to this node. */
  private attach(peer: Peer, onHandshake?: (error: Error | undefined) => void): void {
    this.peers_.add(peer);
    peer.connection.setHandlers({
      onFrame: (frame) => this.onFrame(peer, frame, onHandshake),
      onError: (error) => this.onConnectionError(peer, error),
      onDrain: () => this.onDrain(),
      onClose: (info) => {
        this.onPeerClosed(peer, info);
        // No-op once the handshake has settled.
        onHandshake?.(this.refusalError(info));
      },
    });
  }

  private refusalError(info: CloseInfo): Error {
    if (info.initiator === 'remote' && info.code !== 'normal' && info.code !== 'SYSTEMGE_ERR_CONNECTION_CLOSED') {
      return errorFromRefusal(info.code, info.reason);
    }
    return info.error ?? new HandshakeError(`connection closed during handshake: ${info.reason}`);
  }

  private armHandshakeTimeout(peer: Peer, onTimeout: ((error: Error) => void) | undefined): void {
    const timeoutMs = this.config.connection.handshakeTimeoutMs;
    const timer = setTimeout(() => {
      if (peer.state !== 'handshaking') return;
      const error = new HandshakeTimeoutError(timeoutMs);
      if (peer.direction === 'in') {
        this.dropPending(peer, error.message, error.code);
        return;
      }
      this.counters.handshakeFailures++;
      this.logger.warn(
        { remote: `${peer.connection.remoteAddress}:${peer.connection.remotePort}` },
        error.message,
      );
      onTimeout?.(error);
      peer.closingLocally = true;
      peer.connection.close(error.message, error.code).catch(() => {});
    }, timeoutMs);
    timer.unref();
  }

  /** One dial + handshake. Resolves with the ready peer. */
  private dialOnce(state: EndpointState): Promise<Peer> {
    const { transport } = this.config;
    if (transport === undefined) return Promise.reject(new NodeStatusError('no transport configured'));
    const endpoint = state.endpoint;
    return transport
      .dial(
        { host: endpoint.host, port: endpoint.port, serverName: endpoint.serverName, ca: endpoint.ca },
        {
          limits: this.config.limits,
          highWaterMark: this.config.connection.highWaterMark,
          timeoutMs: this.config.connection.dialTimeoutMs,
        },
      )
      .then(
        (connection) =>
          new Promise<Peer>((resolve, reject) => {
            if (!state.active) {
              connection.close('node is stopping').catch(() => {});
              reject(new NodeStoppedError(this.name));
              return;
            }
            const peer = new Peer(connection, 'out', endpoint);
            let settled = false;
            const settle = (error: Error | undefined): void => {
              if (settled) return;
              settled = true;
              if (error === undefined) resolve(peer);
              else reject(error);
            };
            this.attach(peer, settle);
            this.armHandshakeTimeout(peer, settle);
            connection.send(this.handshakeFrame(endpoint));
          }),
      );
  }

  private handshakeFrame(endpoint: EndpointConfig): HandshakeFrame {
    return {
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      name: this.name,
      auth: endpoint.token ?? this.config.auth.token,
      asyncTopics: [...this.asyncHandlers.keys()],
      syncTopics: [...this.syncHandlers.keys()],
      info: this.handshakeInfo(),
    };
  }

  private handshakeInfo(): Record<string, string> {
    const info: Record<string, string> = {};
    if (this.listener !== undefined) info.listen = `${this.listener.host}:${this.listener.port}`;
    return info;
  }

  /** Dials with the attempt policy. Resolves with the peer, or rejects after the last attempt. */
  private async connectWithRetries(state: EndpointState): Promise<Peer> {
    const policy = this.config.connection;
    const where = endpointKey(state.endpoint);
    let attempt = 0;
    for (;;) {
      if (!state.active) throw new NodeStoppedError(this.name);
      attempt++;
      this.counters.connectionAttempts++;
      this.emit('connect:attempt', state.endpoint, attempt);
      try {
        const peer = await this.dialOnce(state);
        state.peer = peer;
        this.connectLog.connected(where, attempt);
        return peer;
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        if (!state.active) throw new NodeStoppedError(this.name);
        this.counters.connectionFailures++;
        const last = policy.maxAttempts > 0 && attempt >= policy.maxAttempts;
        const retryInMs = last ? undefined : backoffDelay(policy, attempt);
        this.connectLog.failed(where, attempt, err, retryInMs);
        this.emit('connect:failed', state.endpoint, attempt, err, retryInMs);
        if (last) throw new ConnectAttemptsError(where, attempt, { cause: err });
        const completed = await state.sleeper.sleep(retryInMs ?? 0);
        if (!completed) throw new NodeStoppedError(this.name);
      }
    }
  }

  private async initialConnect(state: EndpointState): Promise<void> {
    try {
      await this.connectWithRetries(state);
    } catch (error) {
      if (error instanceof NodeStoppedError || !state.active) throw error;
      this.emit('connect:gave-up', state.endpoint, error as Error);
      if (this.config.connection.onFailure === 'stop') throw error;
      this.logger.warn({ err: (error as Error).message }, 'giving up on endpoint, node keeps running');
    }
  }

  private reconnect(state: EndpointState): void {
    if (state.reconnecting || !state.active) return;
    state.reconnecting = true;
    this.connectWithRetries(state).then(
      (peer) => {
        state.reconnecting = false;
        this.counters.reconnects++;
        this.emit('reconnected', peer.describe());
      },
      (error: Error) => {
        state.reconnecting = false;
        if (!state.active || error instanceof NodeStoppedError) return;
        this.endReconnecting(state, `gave up reconnecting: ${error.message}`);
        this.emit('connect:gave-up', state.endpoint, error);
        if (this.config.connection.onFailure === 'stop') {
          this.stop(`gave up reconnecting to ${endpointKey(state.endpoint)}: ${error.message}`).catch(() => {});
        }
      },
    );
  }

  async connect(endpoint: EndpointConfig): Promise<PeerInfo> {
    if (this.status !== 'started' && this.status !== 'starting') {
      throw new NodeStatusError(`cannot connect: node ${this.name} is ${this.status}`);
    }
    const key = endpointKey(endpoint);
    const existing = this.endpoints.get(key);
    if (existing?.peer !== undefined && !existing.peer.closed) return existing.peer.describe();
    const state = this.endpointState({ ...endpoint });
    state.active = true;
    this.endpoints.set(key, state);
    try {
      const peer = await this.connectWithRetries(state);
      return peer.describe();
    } catch (error) {
      this.endpoints.delete(key);
      throw error;
    }
  }

  async disconnect(name: string, reason = `disconnected by ${this.name}`): Promise<void> {
    const peer = this.peersByName.get(name);
    const redialing = peer === undefined ? this.reconnectingByName.get(name) : undefined;
    if (redialing !== undefined) {
      // Stop redialing a lost peer.
      redialing.active = false;
      redialing.sleeper.cancel();
      this.endpoints.delete(endpointKey(redialing.endpoint));
      this.endReconnecting(redialing, reason);
      return;
    }
    if (peer === undefined) throw new PeerNotConnectedError(name);
    if (peer.endpoint !== undefined) {
      const key = endpointKey(peer.endpoint);
      const state = this.endpoints.get(key);
      if (state !== undefined) {
        state.active = false;
        state.sleeper.cancel();
        this.endpoints.delete(key);
      }
    }
    peer.closingLocally = true;
    await peer.connection.close(reason, 'normal');
  }

  peers(): PeerInfo[] {
    return [...this.peersByName.values()].map((p) => p.describe());
  }

  // ---------------------------------------------------------------- frames

  private onConnectionError(peer: Peer, error: SystemgeError): void {
    const fatal = (error as { fatal?: boolean }).fatal === true;
    if (!fatal && 'frameKind' in error) {
      this.counters.invalidMessages++;
      const e = error as SystemgeError & { frameKind?: number; syncToken?: string; topic?: string };
      this.logger.warn({ peer: peer.name, code: error.code }, error.message);
      // A rejected sync request still gets an answer, so the caller is not left waiting.
      if (e.frameKind === FrameKind.SyncRequest && e.syncToken !== undefined && peer.state === 'ready') {
        this.sendFailure(peer, e.topic ?? '?', e.syncToken, error.message);
      }
      return;
    }
    this.logger.warn({ peer: peer.name, code: error.code }, error.message);
    this.emit('warning', error);
  }

  private onFrame(peer: Peer, frame: Frame, onHandshake: ((error: Error | undefined) => void) | undefined): void {
    if (peer.state === 'ready') {
      switch (frame.kind) {
        case FrameKind.AsyncMessage:
        case FrameKind.SyncRequest:
          if (peer.limiter !== undefined && !this.admit(peer, peer.limiter, frame)) return;
          this.dispatcher.dispatch(peer, frame);
          return;
        case FrameKind.SyncResponse:
        case FrameKind.SyncFailure:
          this.onResponse(peer, frame);
          return;
        case FrameKind.Heartbeat:
          if (!peer.connection.closed) peer.connection.send({ kind: FrameKind.HeartbeatAck, nonce: frame.nonce });
          return;
        case FrameKind.HeartbeatAck:
          return;
        case FrameKind.TopicsAdded:
        case FrameKind.TopicsRemoved:
          this.onTopics(peer, frame);
          return;
        default:
          this.protocolViolation(peer, `unexpected ${frame.kind === FrameKind.Handshake ? 'handshake' : 'handshake ack'} after the handshake`);
          return;
      }
    }
    if (peer.state !== 'handshaking') return;
    if (peer.direction === 'in' && frame.kind === FrameKind.Handshake) {
      this.acceptHandshake(peer, frame);
      return;
    }
    if (peer.direction === 'out' && frame.kind === FrameKind.HandshakeAck) {
      const error = this.completeHandshake(peer, frame);
      onHandshake?.(error);
      return;
    }
    this.protocolViolation(peer, `expected a ${peer.direction === 'in' ? 'handshake' : 'handshake ack'}, got frame kind ${frame.kind}`);
  }

  /** Applies the peer's incoming rate limits. False when the message was delayed or dropped. */
  private admit(peer: Peer, limiter: ConnectionRateLimiter, frame: MessageFrame): boolean {
    const size = typeof frame.payload === 'string' ? frame.payload.length : frame.payload.byteLength;
    const waitMs = limiter.admit(size);
    if (waitMs === 0) return true;
    this.counters.rateLimited++;
    if (limiter.mode === 'drop') {
      this.counters.rateLimitDrops++;
      this.logger.warn({ peer: peer.name, topic: frame.topic }, 'message over the rate limit dropped');
      if (frame.kind === FrameKind.SyncRequest) {
        this.sendFailure(peer, frame.topic, frame.syncToken as string, `rate limit of ${peer.name} exceeded on ${this.name}`);
      }
      return false;
    }
    // Backpressure: stop reading until the tokens are there, then deliver this message first.
    peer.pauseReading();
    setTimeout(() => {
      if (peer.state === 'ready') {
        limiter.messages?.force(1);
        limiter.bytes?.force(size);
        this.dispatcher.dispatch(peer, frame);
      }
      peer.resumeReading();
    }, waitMs);
    return false;
  }

  private protocolViolation(peer: Peer, message: string): void {
    const error = new HandshakeError(message);
    if (peer.state === 'handshaking') this.counters.handshakeFailures++;
    this.logger.warn({ peer: peer.name }, message);
    peer.closingLocally = true;
    peer.connection.close(message, error.code).catch(() => {});
  }

  private refuse(peer: Peer, error: SystemgeError): void {
    this.counters.handshakeFailures++;
    this.logger.warn(
      { remote: `${peer.connection.remoteAddress}:${peer.connection.remotePort}`, code: error.code },
      `handshake refused: ${error.message}`,
    );
    this.emit('warning', error);
    peer.closingLocally = true;
    peer.connection.close(error.message, error.code).catch(() => {});
  }

  /** Listening side: checks the dialer's handshake and answers it. */
  private acceptHandshake(peer: Peer, frame: HandshakeFrame): void {
    if (frame.version !== PROTOCOL_VERSION) {
      this.refuse(peer, new ProtocolVersionError(frame.version, PROTOCOL_VERSION));
      return;
    }
    if (!this.authorized(frame, peer)) {
      this.refuse(peer, new AuthenticationError());
      return;
    }
    const clash = this.nameClash(frame.name);
    if (clash !== undefined) {
      this.refuse(peer, clash);
      return;
    }
    peer.connection.send({
      kind: FrameKind.HandshakeAck,
      version: PROTOCOL_VERSION,
      name: this.name,
      asyncTopics: [...this.asyncHandlers.keys()],
      syncTopics: [...this.syncHandlers.keys()],
      info: this.handshakeInfo(),
    });
    this.makeReady(peer, frame);
  }

  /** Dialing side: checks the listener's answer. Returns the error that refused it. */
  private completeHandshake(peer: Peer, frame: HandshakeAckFrame): Error | undefined {
    let error: SystemgeError | undefined;
    if (frame.version !== PROTOCOL_VERSION) {
      error = new ProtocolVersionError(frame.version, PROTOCOL_VERSION);
    } else if (!this.certificateNames(peer, frame.name)) {
      error = new AuthenticationError();
    } else if (peer.endpoint?.name !== undefined && peer.endpoint.name !== frame.name) {
      error = new HandshakeError(`expected peer "${peer.endpoint.name}" at ${endpointKey(peer.endpoint)}, it is "${frame.name}"`);
    } else {
      error = this.nameClash(frame.name);
    }
    if (error !== undefined) {
      this.refuse(peer, error);
      return error;
    }
    this.makeReady(peer, frame);
    return undefined;
  }

  /** Constant-time token check; digests make the comparison independent of the token lengths. */
  private authorized(frame: HandshakeFrame, peer: Peer): boolean {
    if (!this.certificateNames(peer, frame.name)) return false;
    const { token, peerTokens } = this.config.auth;
    const expected = (peerTokens !== undefined && Object.hasOwn(peerTokens, frame.name) ? peerTokens[frame.name] : undefined) ?? token;
    if (expected === undefined) return true;
    const given = createHash('sha256').update(frame.auth ?? '').digest();
    const wanted = createHash('sha256').update(expected).digest();
    return timingSafeEqual(given, wanted) && frame.auth !== undefined;
  }

  /** With `auth.requireCertificateName`, the verified peer certificate must carry the announced name. */
  private certificateNames(peer: Peer, name: string): boolean {
    if (this.config.auth.requireCertificateName !== true) return true;
    const cert = peer.connection.peerCertificate;
    if (cert === undefined) return false;
    return cert.subjectCN === name || cert.subjectAltNames.includes(`DNS:${name}`) || cert.subjectAltNames.includes(name);
  }

  private nameClash(name: string): DuplicateNameError | undefined {
    if (name === this.name) return new DuplicateNameError(`peer uses this node's own name "${name}"`);
    if (this.peersByName.has(name)) return new DuplicateNameError(`a node named "${name}" is already connected to ${this.name}`);
    return undefined;
  }

  private makeReady(peer: Peer, frame: HandshakeFrame | HandshakeAckFrame): void {
    this.pendingIncoming.delete(peer);
    const limits = this.config.rateLimits;
    if (limits.messagesPerSecond > 0 || limits.bytesPerSecond > 0) peer.limiter = new ConnectionRateLimiter(limits);
    peer.name = frame.name;
    peer.info = frame.info;
    peer.state = 'ready';
    peer.connectedAt = Date.now();
    peer.lastHeardAt = Date.now();
    peer.lastBytesIn = peer.connection.bytesIn;
    this.peersByName.set(peer.name, peer);
    for (const t of frame.asyncTopics) {
      peer.asyncTopics.add(t);
      this.asyncRoutes.add(t, peer);
    }
    for (const t of frame.syncTopics) {
      peer.syncTopics.add(t);
      this.syncRoutes.add(t, peer);
    }
    const state = peer.endpoint === undefined ? undefined : this.endpoints.get(endpointKey(peer.endpoint));
    // Before anything else can be sent to it, so held messages keep their order.
    if (state !== undefined && state.lostName !== undefined) this.flushHeld(state, peer);
    this.logger.info({ peer: peer.name, direction: peer.direction }, 'peer connected');
    this.emit('peer:connected', peer.describe());
  }

  private onTopics(peer: Peer, frame: TopicsFrame): void {
    const add = frame.kind === FrameKind.TopicsAdded;
    for (const t of frame.asyncTopics) {
      if (add) {
        peer.asyncTopics.add(t);
        this.asyncRoutes.add(t, peer);
      } else {
        peer.asyncTopics.delete(t);
        this.asyncRoutes.remove(t, peer);
      }
    }
    for (const t of frame.syncTopics) {
      if (add) {
        peer.syncTopics.add(t);
        this.syncRoutes.add(t, peer);
      } else {
        peer.syncTopics.delete(t);
        this.syncRoutes.remove(t, peer);
      }
    }
  }

  private onPeerClosed(peer: Peer, info: CloseInfo): void {
    const wasReady = peer.state === 'ready';
    this.pendingIncoming.delete(peer);
    peer.state = 'closed';
    this.peers_.delete(peer);
    this.counters.closedBytesIn += peer.connection.bytesIn;
    this.counters.closedBytesOut += peer.connection.bytesOut;
    const dropped = this.dispatcher.forget(peer);
    if (dropped > 0) this.logger.warn({ peer: peer.name, dropped }, 'peer closed with messages still queued');
    if (!wasReady) return;
    if (this.peersByName.get(peer.name) === peer) this.peersByName.delete(peer.name);
    for (const t of peer.asyncTopics) this.asyncRoutes.remove(t, peer);
    for (const t of peer.syncTopics) this.syncRoutes.remove(t, peer);
    this.requests.peerLost(peer.name, info.reason);
    const lost = !peer.closingLocally;
    if (lost) this.counters.connectionsLost++;
    this.logger.info({ peer: peer.name, code: info.code, reason: info.reason, initiator: info.initiator }, 'peer disconnected');
    this.emit('peer:disconnected', peer.describe(), { code: info.code, reason: info.reason, initiator: info.initiator });
    this.onDrain();
    if (!lost || peer.endpoint === undefined) return;
    const state = this.endpoints.get(endpointKey(peer.endpoint));
    if (state === undefined || !state.active || state.peer !== peer) return;
    state.peer = undefined;
    if (this.config.connection.onLoss === 'stop') {
      const error = new PeerLostError(peer.name, info.reason);
      this.logger.warn({ peer: peer.name, reason: info.reason }, `${error.message}; connection.onLoss is "stop", stopping`);
      this.emit('warning', error);
      this.stop(`lost peer ${peer.name}: ${info.reason}`).catch(() => {});
      return;
    }
    this.markReconnecting(state, peer);
    this.reconnect(state);
  }

  private onDrain(): void {
    if (this.drainWaiters.length === 0 || !this.writable) return;
    this.resolveDrainWaiters();
  }

  private resolveDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  drained(): Promise<void> {
    if (this.writable || this.status === 'stopped') return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // ---------------------------------------------------------------- heartbeats

  private startHeartbeats(): void {
    const { intervalMs } = this.config.heartbeat;
    if (intervalMs <= 0) return;
    this.lastLivenessCheckAt = Date.now();
    this.heartbeatTimer = setInterval(() => this.checkLiveness(), Math.max(10, intervalMs >> 1));
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Probes idle peers and destroys the ones silent for longer than the timeout. */
  private checkLiveness(): void {
    const { intervalMs, timeoutMs } = this.config.heartbeat;
    const now = Date.now();
    const stalled = now - this.lastLivenessCheckAt > 2 * Math.max(10, intervalMs >> 1);
    this.lastLivenessCheckAt = now;
    // After this node's own event loop was blocked, timers run before pending socket data is read:
    // skip one round so that data counts, instead of declaring peers dead for our own stall.
    if (stalled) return;
    for (const peer of this.peers_) {
      if (peer.state !== 'ready') continue;
      const connection = peer.connection;
      // While we do not read (backpressure), silence says nothing about the peer.
      if (connection.bytesIn !== peer.lastBytesIn || connection.paused) {
        peer.lastBytesIn = connection.bytesIn;
        peer.lastHeardAt = now;
        continue;
      }
      const silent = now - peer.lastHeardAt;
      if (silent >= timeoutMs) {
        const error = new HeartbeatTimeoutError(peer.name, silent, timeoutMs);
        this.counters.heartbeatTimeouts++;
        this.logger.warn({ peer: peer.name }, error.message);
        this.emit('peer:dead', peer.describe());
        connection.destroy(error);
      } else if (silent >= intervalMs && now - peer.lastProbeAt >= intervalMs) {
        peer.lastProbeAt = now;
        peer.probeNonce = (peer.probeNonce + 1) >>> 0;
        try {
          connection.send({ kind: FrameKind.Heartbeat, nonce: peer.probeNonce });
        } catch {
          // Closed meanwhile; onClose handles it.
        }
      }
    }
  }

  // ---------------------------------------------------------------- messaging

  private assertSending(): void {
    if (this.status !== 'started' && this.status !== 'starting') {
      throw new NodeStatusError(`cannot send: node ${this.name} is ${this.status}`);
    }
  }

  private namedTargets(to: string | readonly string[], topic: string, routes: RoutingTable): Peer[] {
    const names = typeof to === 'string' ? [to] : to;
    const out: Peer[] = [];
    for (const name of names) {
      const peer = this.peersByName.get(name);
      if (peer === undefined) throw new PeerNotConnectedError(name);
      const handles = routes === this.asyncRoutes ? peer.asyncTopics.has(topic) : peer.syncTopics.has(topic);
      if (!handles) throw new NoRouteError(topic, `peer "${name}" does not handle topic "${topic}"`);
      out.push(peer);
    }
    return out;
  }

  private checkBuffers(targets: Peer[]): void {
    const limit = this.config.connection.maxBufferedBytes;
    for (const peer of targets) {
      const buffered = peer.connection.bufferedBytes;
      if (buffered > limit) {
        this.counters.backpressureRejections++;
        throw new BackpressureError(peer.name, buffered, limit);
      }
    }
  }

  asyncMessage(topic: string, payload: Payload, options?: AsyncMessageOptions): boolean {
    this.assertSending();
    let targets: Peer[] | undefined;
    let hold: EndpointState[] | undefined;
    if (options?.to === undefined) targets = this.asyncRoutes.get(topic);
    else if (this.reconnectingByName.size === 0) targets = this.namedTargets(options.to, topic, this.asyncRoutes);
    else {
      const names = typeof options.to === 'string' ? [options.to] : options.to;
      const connected: string[] = [];
      for (const name of names) {
        const state = this.peersByName.has(name) ? undefined : this.reconnectingByName.get(name);
        if (state === undefined) connected.push(name);
        else (hold ??= []).push(this.checkHold(state, name, topic));
      }
      targets = this.namedTargets(connected, topic, this.asyncRoutes);
    }
    if (hold !== undefined) {
      this.checkBuffers(targets ?? []);
      for (const state of hold) state.held.push({ topic, payload });
      this.counters.reconnectQueued += hold.length;
    }
    if (targets === undefined || targets.length === 0) {
      if (hold !== undefined) return true;
      this.counters.unroutedMessages++;
      this.logger.debug({ topic }, 'async message has no route');
      return true;
    }
    this.checkBuffers(targets);
    const frame: MessageFrame = { kind: FrameKind.AsyncMessage, topic, payload, syncToken: undefined };
    let writable = true;
    for (let i = 0; i < targets.length; i++) {
      if (!(targets[i] as Peer).connection.send(frame)) writable = false;
    }
    this.counters.asyncSent += targets.length;
    this.counters.topic(topic).sent += targets.length;
    return writable;
  }

  syncRequest(topic: string, payload: Payload, options?: SyncRequestOptions): SyncRequest<Payload> {
    let targets: Peer[] | undefined;
    try {
      this.assertSending();
      targets =
        options?.to === undefined ? this.syncRoutes.get(topic) : this.namedTargets(options.to, topic, this.syncRoutes);
      if (targets === undefined || targets.length === 0) throw new NoRouteError(topic);
      this.checkBuffers(targets);
    } catch (error) {
      return this.requests.failed(topic, error as SystemgeError);
    }
    const names = targets.map((p) => p.name);
    const request = this.requests.create<Payload>(
      topic,
      names,
      options?.maxResponses ?? this.config.sync.maxResponses,
      options?.timeoutMs ?? this.config.sync.timeoutMs,
    );
    const frame: MessageFrame = { kind: FrameKind.SyncRequest, topic, payload, syncToken: request.token };
    try {
      for (let i = 0; i < targets.length; i++) (targets[i] as Peer).connection.send(frame);
    } catch (error) {
      request.settle('failed', error as Error);
      return request;
    }
    this.counters.syncRequestsSent++;
    this.counters.topic(topic).sent++;
    request.arm();
    return request;
  }

  private onResponse(peer: Peer, frame: MessageFrame): void {
    const ok = frame.kind === FrameKind.SyncResponse;
    if (ok) this.counters.syncResponsesReceived++;
    else this.counters.syncFailuresReceived++;
    const response: SyncResponse = ok
      ? { origin: peer.name, ok: true, payload: frame.payload }
      : { origin: peer.name, ok: false, error: String(frame.payload), code: 'SYSTEMGE_ERR_SYNC_FAILURE' };
    if (!this.requests.deliver(frame.syncToken as string, peer.name, response)) {
      this.counters.unknownTokenResponses++;
      this.logger.debug({ peer: peer.name, topic: frame.topic }, 'response for an unknown or settled sync token ignored');
    }
  }

  /** Runs the handler of one incoming message (called by the dispatcher). Never throws. */
  private handle(peer: Peer, frame: MessageFrame): void | Promise<void> {
    const message: IncomingMessage = {
      topic: frame.topic,
      payload: frame.payload,
      origin: peer.name,
      syncToken: frame.syncToken,
    };
    this.counters.topic(frame.topic).received++;
    if (frame.kind === FrameKind.AsyncMessage) {
      this.counters.asyncReceived++;
      const handler = this.asyncHandlers.get(frame.topic);
      if (handler === undefined) {
        this.counters.noHandlerMessages++;
        this.logger.warn({ peer: peer.name, topic: frame.topic }, new NoHandlerError(frame.topic).message);
        return;
      }
      try {
        const result = handler(message, this.self);
        if (isThenable(result)) {
          return Promise.resolve(result).then(undefined, (error: unknown) => this.onHandlerError(frame, error));
        }
      } catch (error) {
        this.onHandlerError(frame, error);
      }
      return;
    }
    this.counters.syncRequestsReceived++;
    const token = frame.syncToken as string;
    const handler = this.syncHandlers.get(frame.topic);
    if (handler === undefined) {
      this.counters.noHandlerMessages++;
      this.sendFailure(peer, frame.topic, token, new NoHandlerError(frame.topic).message);
      return;
    }
    let result: unknown;
    try {
      result = handler(message, this.self);
    } catch (error) {
      this.onHandlerError(frame, error);
      this.sendFailure(peer, frame.topic, token, errorText(error));
      return;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.sendResponse(peer, frame.topic, token, value),
        (error: unknown) => {
          this.onHandlerError(frame, error);
          this.sendFailure(peer, frame.topic, token, errorText(error));
        },
      );
    }
    this.sendResponse(peer, frame.topic, token, result);
  }

  private onHandlerError(frame: MessageFrame, error: unknown): void {
    this.counters.handlerErrors++;
    this.logger.error({ topic: frame.topic, err: errorText(error) }, 'handler failed');
  }

  private sendResponse(peer: Peer, topic: string, token: string, payload: unknown): void {
    if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
      this.counters.handlerErrors++;
      this.sendFailure(peer, topic, token, `handler for ${topic} returned ${typeof payload}, expected ${SUCCESS_PAYLOAD_TYPES}`);
      return;
    }
    if (peer.connection.closed) return;
    try {
      peer.connection.send({ kind: FrameKind.SyncResponse, topic, payload, syncToken: token });
      this.counters.syncResponsesSent++;
    } catch (error) {
      // A response over the limits still owes the requester an answer.
      this.sendFailure(peer, topic, token, errorText(error));
    }
  }

  private sendFailure(peer: Peer, topic: string, token: string, text: string): void {
    if (peer.connection.closed) return;
    try {
      peer.connection.send({ kind: FrameKind.SyncFailure, topic, payload: text.slice(0, 4096), syncToken: token });
      this.counters.syncFailuresSent++;
    } catch (error) {
      this.logger.error({ peer: peer.name, err: errorText(error) }, 'could not send failure response');
    }
  }

  // ---------------------------------------------------------------- topics

  topics(): { asyncTopics: string[]; syncTopics: string[] } {
    return { asyncTopics: [...this.asyncHandlers.keys()].sort(), syncTopics: [...this.syncHandlers.keys()].sort() };
  }

  addAsyncTopic(topic: string, handler: AnyAsyncHandler<T>): void {
    const isNew = !this.asyncHandlers.has(topic);
    this.asyncHandlers.set(topic, handler);
    if (isNew) this.announce(FrameKind.TopicsAdded, [topic], []);
  }

  addSyncTopic(topic: string, handler: AnySyncHandler<T>): void {
    const isNew = !this.syncHandlers.has(topic);
    this.syncHandlers.set(topic, handler);
    if (isNew) this.announce(FrameKind.TopicsAdded, [], [topic]);
  }

  removeAsyncTopic(topic: string): boolean {
    if (!this.asyncHandlers.delete(topic)) return false;
    this.announce(FrameKind.TopicsRemoved, [topic], []);
    return true;
  }

  removeSyncTopic(topic: string): boolean {
    if (!this.syncHandlers.delete(topic)) return false;
    this.announce(FrameKind.TopicsRemoved, [], [topic]);
    return true;
  }

  private announce(kind: TopicsFrame['kind'], asyncTopics: string[], syncTopics: string[]): void {
    for (const peer of this.peersByName.values()) {
      if (peer.connection.closed) continue;
      try {
        peer.connection.send({ kind, asyncTopics, syncTopics });
      } catch (error) {
        this.logger.warn({ peer: peer.name, err: errorText(error) }, 'could not announce topics');
      }
    }
  }

  // ---------------------------------------------------------------- commands

  private allCommands(): Map<string, CommandHandler> {
    const all = new Map<string, CommandHandler>(Object.entries(builtinCommands(this.self, () => this.describeNode())));
    for (const [name, handler] of this.appCommands) all.set(name, handler);
    return all;
  }

  commandNames(): string[] {
    return [...this.allCommands().keys()].sort();
  }

  async command(name: string, args: string[] = []): Promise<CommandResult> {
    const commands = this.allCommands();
    const handler = commands.get(name);
    if (handler === undefined) throw new UnknownCommandError(name, [...commands.keys()].sort());
    this.logger.info({ command: name, argc: args.length }, 'command');
    return await handler(args);
  }

  private describeNode(): Record<string, unknown> {
    const plugins: Record<string, unknown> = {};
    for (const plugin of this.plugins) plugins[plugin.name] = plugin.describe?.() ?? {};
    return {
      name: this.name,
      status: this.status,
      uptimeMs: this.uptimeMs,
      address: this.address,
      transport: this.config.transport?.name,
      handling: this.config.handling.mode,
      peers: this.peersByName.size,
      pendingSyncRequests: this.requests.size,
      plugins,
    };
  }

  /** Counters of the plugins, by plugin name. */
  pluginStats(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const plugin of this.plugins) {
      const stats = plugin.getStats?.();
      if (stats !== undefined) out[plugin.name] = stats;
    }
    return out;
  }
}
