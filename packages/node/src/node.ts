import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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
  payloadByteLength,
  DialError,
  isSystemgeError,
  PROTOCOL_VERSION,
  ProtocolVersionError,
  FieldTooLargeError,
  type ProtocolLimits,
  type TopicSet,
  type RemoteAddress,
  type SystemgeError,
  type TopicsFrame,
} from '@systemge/protocol';
import { AddressList, AttemptRateLimiter, isLoopbackHost } from './access-control.js';
import { builtinCommands } from './commands.js';
import type {
  AnyTopics,
  Application,
  AsyncMessageHandler,
  CommandHandler,
  CommandResult,
  IncomingMessage,
  NodePlugin,
  AcceptedPlugin,
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
  ConfigError,
  ConnectAttemptsError,
  ConnectionSupersededError,
  DuplicateNameError,
  errorFromRefusal,
  HandshakeError,
  HandshakeTimeoutError,
  HeartbeatTimeoutError,
  InsecureListenError,
  InvalidArgumentError,
  InvalidTopicError,
  NodeStatusError,
  NodeStoppedError,
  NoHandlerError,
  NoRouteError,
  PeerLostError,
  PeerNotConnectedError,
  PeerReconnectingError,
  QueuedMessagesDiscardedError,
  ReconnectQueueFullError,
  SelfDialError,
  UnknownCommandError,
} from './errors.js';
import { Dispatcher } from './handling.js';
import { HANDSHAKE_TOPIC_BYTES, splitTopics, type TopicSplit } from './handshake-topics.js';
import { childLogger, type Logger, silentLogger } from './logger.js';
import type {
  AsyncMessageOptions,
  NodeEventName,
  EmittedNodeEvents,
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
import { invalidDuration, timerDelay } from './timers.js';

/** Extra things a node is built with that are not configuration data. */
export interface NodeOptions<T extends TopicMap = AnyTopics> {
  /** Structured logger (pino-compatible). Default: silent. */
  logger?: Logger;
  /** HTTP, WebSocket, dashboard... components, started in order after the node's own networking. */
  plugins?: AcceptedPlugin<T>[];
}

const SUCCESS_PAYLOAD_TYPES = 'a value msgpack can encode (not a function or a symbol)';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A lone UTF-16 surrogate: such a string has no UTF-8 form, so a peer would receive another topic. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Room a handshake takes besides its topics and name (header, version, auth token, info), bytes; generous. */
const HANDSHAKE_OVERHEAD_BYTES = 4096;

/** Bytes one topic takes in a handshake's topic list (msgpack string header included). */
function announcedSize(topic: string): number {
  return Buffer.byteLength(topic, 'utf8') + 5;
}

/** Throws InvalidArgumentError for a sync request option out of range (a timer cannot wait longer than MAX_TIMER_MS). */
function checkSyncRequestOptions(options: SyncRequestOptions | undefined): void {
  if (options === undefined) return;
  if (options.timeoutMs !== undefined) {
    const problem = invalidDuration(options.timeoutMs, 1);
    if (problem !== undefined) throw new InvalidArgumentError('options.timeoutMs', problem);
  }
  const max = options.maxResponses;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 0)) {
    throw new InvalidArgumentError('options.maxResponses', `expected an integer of 0 or more (0 = one per target), got ${String(max)}`);
  }
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

/** Settles one dial's handshake: an error, or success with the connection that survived (default: the dialed one). */
type HandshakeCallback = (error: Error | undefined, survivor?: Peer) => void;

/** Refusals that another attempt cannot change: never retried. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([AuthenticationError.code, DuplicateNameError.code, SelfDialError.code]);

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
  /** Random id of this node instance, sent in every handshake: tells a self-dial and a second connection to the same node apart from a name clash. */
  private readonly instanceId = randomBytes(16).toString('base64url');
  /** Dials waiting for a connection to a peer name to become ready (the peer kept another connection). */
  private readonly readyWaiters = new Map<string, Set<(peer: Peer | undefined) => void>>();
  /** Ready peers the remote closed as superseded before their replacement completed here, by name. */
  private readonly awaitingReplacement = new Map<string, { peer: Peer; info: CloseInfo; timer: NodeJS.Timeout }>();
  /** Bytes the topic lists take in a handshake (see checkTopic). */
  private topicListBytes = 0;
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
    this.plugins = (options.plugins ?? []) as NodePlugin<T>[];
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
    // A topic the peers' decoders must refuse would break every handshake: refuse it here instead.
    for (const [topic, handler] of Object.entries(app.getAsyncMessageHandlers?.() ?? {})) {
      if (typeof handler !== 'function') continue;
      this.checkHandlerMapTopic(topic, 'getAsyncMessageHandlers', this.asyncHandlers);
      this.asyncHandlers.set(topic, handler as AnyAsyncHandler<T>);
    }
    for (const [topic, handler] of Object.entries(app.getSyncMessageHandlers?.() ?? {})) {
      if (typeof handler !== 'function') continue;
      this.checkHandlerMapTopic(topic, 'getSyncMessageHandlers', this.syncHandlers);
      this.syncHandlers.set(topic, handler as AnySyncHandler<T>);
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
      if (peer.state !== 'ready' || peer.superseded) continue;
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

  override emit<E extends NodeEventName>(event: E, ...args: EmittedNodeEvents[E]): boolean {
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
        this.warnIfOpen(this.listener);
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

  /** A listener other machines can reach, with nothing to tell a peer from a stranger, is worth a warning. */
  private warnIfOpen(listener: Listener): void {
    if (isLoopbackHost(listener.host)) return;
    const { token, peerTokens, requireCertificateName } = this.config.auth;
    if (token !== undefined || (peerTokens !== undefined && Object.keys(peerTokens).length > 0)) return;
    if (requireCertificateName === true || this.config.transport?.verifiesPeers === true) return;
    const warning = new InsecureListenError(listener.host, listener.port);
    this.logger.warn({ host: listener.host, port: listener.port, code: warning.code }, warning.message);
    this.emit('warning', warning);
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
    // Not the connections already closing: a paused socket would never see the peer's FIN.
    for (const peer of this.peers_) if (!peer.closed && !peer.closingLocally) peer.pauseReading();
    if (handlerDeadlineMs > 0) {
      const idle = await this.dispatcher.idle(handlerDeadlineMs);
      if (!idle) this.logger.warn({ deadlineMs: handlerDeadlineMs }, 'handlers still running at the shutdown deadline');
    }
    this.requests.failAll(new NodeStoppedError(this.name));
    for (const { timer } of this.awaitingReplacement.values()) clearTimeout(timer);
    this.awaitingReplacement.clear();
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
    // Each pending handshake may hold up to one first frame, so the byte budget caps their number too.
    const frameCap = Math.min(this.config.limits.maxHandshakeFrameBytes, this.config.limits.maxFrameBytes);
    const byBytes = Math.floor(access.maxPendingHandshakeBytes / frameCap);
    if (this.pendingIncoming.size >= Math.min(access.maxPendingHandshakes, byBytes)) {
      const oldest = this.pendingIncoming.values().next().value;
      const reason =
        byBytes < access.maxPendingHandshakes
          ? `evicted: pending handshakes would hold more than access.maxPendingHandshakeBytes ${access.maxPendingHandshakeBytes} (${byBytes} of ${frameCap} bytes)`
          : `evicted: more than ${access.maxPendingHandshakes} pending handshakes`;
      if (oldest !== undefined) this.dropPending(oldest, reason);
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
  private attach(peer: Peer, onHandshake?: HandshakeCallback): void {
    this.peers_.add(peer);
    peer.connection.setHandlers({
      onFrame: (frame) => this.onFrame(peer, frame, onHandshake),
      onError: (error) => this.onConnectionError(peer, error),
      onDrain: () => this.onDrain(),
      onClose: (info) => {
        this.onPeerClosed(peer, info);
        // No-op once the handshake has settled; a superseded dial is settled by whoever superseded it.
        if (!peer.superseded) onHandshake?.(this.refusalError(info));
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
      // A superseded connection is already closing; it did nothing wrong.
      if (peer.state !== 'handshaking' || peer.superseded) return;
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
            const settle: HandshakeCallback = (error, survivor) => {
              if (settled) return;
              settled = true;
              if (error === undefined) resolve(survivor ?? peer);
              else reject(error);
            };
            this.attach(peer, settle);
            this.armHandshakeTimeout(peer, settle);
            const hello = this.handshakeFrame(endpoint);
            peer.handshakeTopics = { asyncTopics: hello.asyncTopics, syncTopics: hello.syncTopics };
            connection.send(hello);
          }),
      );
  }

  private handshakeFrame(endpoint: EndpointConfig): HandshakeFrame {
    // The listener's limits are unknown yet: the handshake carries what fits any peer, the rest follows.
    const { first } = this.topicsFor(undefined, HANDSHAKE_TOPIC_BYTES);
    return {
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      name: this.name,
      auth: endpoint.token ?? this.config.auth.token,
      asyncTopics: first.asyncTopics,
      syncTopics: first.syncTopics,
      info: this.handshakeInfo(),
      limits: this.config.limits,
    };
  }

  private handshakeInfo(): Record<string, string> {
    const info: Record<string, string> = { instance: this.instanceId };
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
        // The dial resolved with a connection the peer had already made (see keepsExisting).
        if (state.lostName !== undefined) this.flushHeld(state, peer);
        this.connectLog.connected(where, attempt);
        return peer;
      } catch (error) {
        const err = isSystemgeError(error) ? error : new DialError(where, errorText(error), { cause: error });
        if (!state.active) throw new NodeStoppedError(this.name);
        this.counters.connectionFailures++;
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && FINAL_REFUSALS.has(code)) {
          this.logger.error({ endpoint: where, attempt, code, err: err.message }, 'connection refused for good; not retried');
          this.emit('connect:failed', state.endpoint, attempt, err, undefined);
          throw err;
        }
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
    if (fatal && peer.state === 'handshaking' && peer.direction === 'in') {
      // A handshake too large or malformed: a counted, logged refusal; the socket goes at once.
      this.dropPending(peer, error.message, error.code);
      this.emit('warning', error);
      return;
    }
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

  private onFrame(peer: Peer, frame: Frame, onHandshake: HandshakeCallback | undefined): void {
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
      this.completeHandshake(peer, frame, onHandshake);
      return;
    }
    this.protocolViolation(peer, `expected a ${peer.direction === 'in' ? 'handshake' : 'handshake ack'}, got frame kind ${frame.kind}`);
  }

  /** Applies the peer's incoming rate limits. False when the message was delayed or dropped. */
  private admit(peer: Peer, limiter: ConnectionRateLimiter, frame: MessageFrame): boolean {
    const size = payloadByteLength(frame);
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
    }, timerDelay(waitMs));
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
    const instance = frame.info?.instance;
    if (instance === this.instanceId) {
      this.refuseSelfDial(peer);
      return;
    }
    if (!this.authorized(frame, peer)) {
      this.refuse(peer, new AuthenticationError());
      return;
    }
    const owner = `peer "${frame.name}"`;
    peer.connection.setPeerLimits?.(frame.limits ?? {}, owner);
    const nameLimit = frame.limits?.maxNodeNameBytes;
    const nameBytes = Buffer.byteLength(this.name, 'utf8');
    if (nameLimit !== undefined && nameBytes > nameLimit) {
      this.refuse(peer, new FieldTooLargeError('name', nameBytes, nameLimit, { limitOwner: owner }));
      return;
    }
    // A dialer that announced no limits predates the first-frame cap: the whole list fits its answer.
    const budget =
      frame.limits === undefined
        ? Number.POSITIVE_INFINITY
        : Math.floor(Math.min(frame.limits.maxHandshakeFrameBytes ?? 2 * HANDSHAKE_TOPIC_BYTES, frame.limits.maxFrameBytes ?? Number.POSITIVE_INFINITY) / 2);
    const topics = this.topicsFor(frame.limits, budget);
    const existing = this.peersByName.get(frame.name);
    if (existing !== undefined && instance !== undefined && existing.instance === instance) {
      // The same node connected twice (both sides dialed at once): keep one connection per pair.
      if (this.keepsExisting(existing, peer, frame.name)) {
        peer.connection.send(this.ackFrame({ asyncTopics: [], syncTopics: [] }, { superseded: 'true' }));
        this.dropSuperseded(peer);
        return;
      }
      peer.connection.send(this.ackFrame(topics.first));
      this.sendTopicFrames(peer, topics.rest);
      // The dialer of this connection closes the one it replaces when our ack reaches it.
      this.makeReady(peer, frame, existing, false);
      this.warnTopicsTooLarge(peer, topics, frame.limits);
      return;
    }
    const clash = this.nameClash(frame.name);
    if (clash !== undefined) {
      this.refuse(peer, clash);
      return;
    }
    peer.connection.send(this.ackFrame(topics.first));
    this.sendTopicFrames(peer, topics.rest);
    this.makeReady(peer, frame);
    this.warnTopicsTooLarge(peer, topics, frame.limits);
  }

  private ackFrame(topics: TopicSet, extra?: Record<string, string>): HandshakeAckFrame {
    return {
      kind: FrameKind.HandshakeAck,
      version: PROTOCOL_VERSION,
      name: this.name,
      asyncTopics: topics.asyncTopics,
      syncTopics: topics.syncTopics,
      info: { ...this.handshakeInfo(), ...extra },
      limits: this.config.limits,
    };
  }

  /**
   * Topics this node announces, split for a peer with the given limits: what fits `budget` for the
   * handshake, topic frames for the rest, and those the peer's `maxTopicBytes` refuses.
   */
  private topicsFor(limits: Partial<ProtocolLimits> | undefined, budget: number, announced?: TopicSet): TopicSplit {
    const maxTopicBytes = Math.min(this.config.limits.maxTopicBytes, limits?.maxTopicBytes ?? Number.POSITIVE_INFINITY);
    return splitTopics(this.asyncHandlers.keys(), this.syncHandlers.keys(), maxTopicBytes, budget, announced);
  }

  /** Topics that did not fit in the handshake, right after it (before anything else is sent). */
  private sendTopicFrames(peer: Peer, frames: TopicSet[]): void {
    for (const set of frames) {
      try {
        peer.connection.send({ kind: FrameKind.TopicsAdded, asyncTopics: set.asyncTopics, syncTopics: set.syncTopics });
      } catch (error) {
        this.logger.warn({ peer: peer.name, err: errorText(error) }, 'could not announce topics');
      }
    }
  }

  /** Topics over the peer's maxTopicBytes are never announced to it; say so once per connection. */
  private warnTopicsTooLarge(peer: Peer, split: TopicSplit, limits: Partial<ProtocolLimits> | undefined): void {
    const first = split.tooLarge[0];
    if (first === undefined) return;
    const limit = Math.min(this.config.limits.maxTopicBytes, limits?.maxTopicBytes ?? Number.POSITIVE_INFINITY);
    const error = new FieldTooLargeError('topic', first.bytes, limit, { topic: first.topic, limitOwner: `peer "${peer.name}"` });
    this.logger.warn(
      { peer: peer.name, topics: split.tooLarge.map((t) => t.topic) },
      `${split.tooLarge.length} topic(s) not announced: ${error.message}`,
    );
    this.emit('warning', error);
  }

  /** Our own dial reached our own listener: refuse it with the code the dialing side turns into SelfDialError. */
  private refuseSelfDial(peer: Peer): void {
    const where = this.listener === undefined ? 'its own listener' : `${this.listener.host}:${this.listener.port}, its own listener`;
    const error = new SelfDialError(`node "${this.name}" dialed itself: ${where}; remove this node's own address from its endpoints`);
    this.pendingIncoming.delete(peer);
    this.logger.debug({ code: error.code }, error.message);
    peer.closingLocally = true;
    peer.connection.close(error.message, error.code).catch(() => {});
  }

  /**
   * One connection per pair: given a ready connection to a node instance and a second one completing,
   * whether to keep the ready one. Both sides decide alike: of connections dialed by different nodes,
   * the one dialed by the node whose name sorts first wins; of two dialed by the same node, the first.
   */
  private keepsExisting(existing: Peer, candidate: Peer, remoteName: string): boolean {
    const dialer = (p: Peer): string => (p.direction === 'out' ? this.name : remoteName);
    const kept = dialer(existing);
    const other = dialer(candidate);
    return kept === other || kept < other;
  }

  /** Closes a redundant connection quietly: no failure, no loss, no warning. */
  private dropSuperseded(peer: Peer): void {
    this.pendingIncoming.delete(peer);
    peer.superseded = true;
    peer.closingLocally = true;
    this.logger.debug(
      { remote: `${peer.connection.remoteAddress}:${peer.connection.remotePort}`, direction: peer.direction },
      'redundant connection closed: one connection per pair is kept',
    );
    const reason = new ConnectionSupersededError();
    peer.connection.close(reason.message, reason.code).catch(() => {});
  }

  /** A dial whose peer kept another connection resolves with that connection once it is ready here. */
  private adoptSurvivor(peer: Peer, name: string, done: HandshakeCallback | undefined): void {
    this.dropSuperseded(peer);
    const ready = this.peersByName.get(name);
    if (ready !== undefined) {
      done?.(undefined, ready);
      return;
    }
    const timeoutMs = this.config.connection.handshakeTimeoutMs;
    let waiters = this.readyWaiters.get(name);
    if (waiters === undefined) this.readyWaiters.set(name, (waiters = new Set()));
    const waiter = (survivor: Peer | undefined): void => {
      clearTimeout(timer);
      waiters.delete(waiter);
      if (waiters.size === 0 && this.readyWaiters.get(name) === waiters) this.readyWaiters.delete(name);
      if (survivor !== undefined) done?.(undefined, survivor);
      else done?.(new HandshakeError(`peer "${name}" kept another connection to ${this.name}, which did not complete within ${timeoutMs} ms`));
    };
    const timer = setTimeout(() => waiter(undefined), timerDelay(timeoutMs));
    timer.unref();
    waiters.add(waiter);
  }

  /** Dialing side: checks the listener's answer and settles the dial through `done`. */
  private completeHandshake(peer: Peer, frame: HandshakeAckFrame, done: HandshakeCallback | undefined): void {
    let error: SystemgeError | undefined;
    const instance = frame.info?.instance;
    if (frame.version !== PROTOCOL_VERSION) {
      error = new ProtocolVersionError(frame.version, PROTOCOL_VERSION);
    } else if (instance === this.instanceId) {
      error = new SelfDialError(`node "${this.name}" dialed itself at ${endpointKey(peer.endpoint as EndpointConfig)}`);
    } else if (!this.certificateNames(peer, frame.name)) {
      error = new AuthenticationError();
    } else if (peer.endpoint?.name !== undefined && peer.endpoint.name !== frame.name) {
      error = new HandshakeError(`expected peer "${peer.endpoint.name}" at ${endpointKey(peer.endpoint)}, it is "${frame.name}"`);
    } else if (frame.info?.superseded === 'true') {
      this.adoptSurvivor(peer, frame.name, done);
      return;
    } else {
      const existing = this.peersByName.get(frame.name);
      if (existing !== undefined && instance !== undefined && existing.instance === instance) {
        if (this.keepsExisting(existing, peer, frame.name)) {
          this.dropSuperseded(peer);
          done?.(undefined, existing);
        } else {
          peer.connection.setPeerLimits?.(frame.limits ?? {}, `peer "${frame.name}"`);
          const topics = this.topicsFor(frame.limits, 0, peer.handshakeTopics);
          this.sendTopicFrames(peer, topics.rest);
          this.makeReady(peer, frame, existing, true);
          this.warnTopicsTooLarge(peer, topics, frame.limits);
          done?.(undefined);
        }
        return;
      }
      error = this.nameClash(frame.name);
    }
    if (error !== undefined) {
      this.refuse(peer, error);
      done?.(error);
      return;
    }
    peer.connection.setPeerLimits?.(frame.limits ?? {}, `peer "${frame.name}"`);
    // What did not fit in the handshake, now that the listener's limits are known.
    const topics = this.topicsFor(frame.limits, 0, peer.handshakeTopics);
    this.sendTopicFrames(peer, topics.rest);
    this.makeReady(peer, frame);
    this.warnTopicsTooLarge(peer, topics, frame.limits);
    done?.(undefined);
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

  /**
   * Makes a connection the peer's connection. `replaced`: a ready connection to the same node instance
   * that this one supersedes (closed now with `closeReplaced`, else by the remote side, which dialed this one).
   */
  private makeReady(peer: Peer, frame: HandshakeFrame | HandshakeAckFrame, replaced?: Peer, closeReplaced = true): void {
    this.pendingIncoming.delete(peer);
    const limits = this.config.rateLimits;
    if (limits.messagesPerSecond > 0 || limits.bytesPerSecond > 0) peer.limiter = new ConnectionRateLimiter(limits);
    peer.name = frame.name;
    peer.info = frame.info;
    peer.instance = frame.info?.instance;
    let predecessor = replaced;
    if (replaced !== undefined) {
      this.retire(replaced);
      if (closeReplaced) this.dropSuperseded(replaced);
      else {
        // Normally closed by the remote within one round trip; never left open for good.
        setTimeout(() => {
          if (!replaced.closed) this.dropSuperseded(replaced);
        }, timerDelay(this.config.connection.handshakeTimeoutMs)).unref();
      }
    } else {
      const awaiting = this.awaitingReplacement.get(frame.name);
      if (awaiting !== undefined) {
        clearTimeout(awaiting.timer);
        this.awaitingReplacement.delete(frame.name);
        predecessor = awaiting.peer;
      }
    }
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
    if (predecessor !== undefined) {
      // The endpoint that dialed the replaced connection now owns this one (and redials it if lost).
      for (const s of this.endpoints.values()) if (s.peer === predecessor) s.peer = peer;
    }
    const state = peer.endpoint === undefined ? undefined : this.endpoints.get(endpointKey(peer.endpoint));
    // Before anything else can be sent to it, so held messages keep their order.
    if (state !== undefined && state.lostName !== undefined) this.flushHeld(state, peer);
    const waiters = this.readyWaiters.get(peer.name);
    if (waiters !== undefined) for (const waiter of [...waiters]) waiter(peer);
    if (predecessor !== undefined) {
      // The application saw one peer all along: no connected/disconnected pair for the swap.
      this.logger.debug({ peer: peer.name, direction: peer.direction }, 'connection replaced: one connection per pair is kept');
      return;
    }
    this.logger.info({ peer: peer.name, direction: peer.direction }, 'peer connected');
    this.emit('peer:connected', peer.describe());
  }

  /** Takes a ready connection out of routing, marked superseded: its close is neither a loss nor a failure. */
  private retire(peer: Peer): void {
    peer.superseded = true;
    peer.closingLocally = true;
    if (this.peersByName.get(peer.name) === peer) this.peersByName.delete(peer.name);
    for (const t of peer.asyncTopics) this.asyncRoutes.remove(t, peer);
    for (const t of peer.syncTopics) this.syncRoutes.remove(t, peer);
  }

  /** The ready peer's current connection: a response to a request that came on a superseded one takes its successor. */
  private currentConnectionOf(peer: Peer): Peer {
    if (!peer.superseded && !peer.connection.closed) return peer;
    return this.peersByName.get(peer.name) ?? peer;
  }

  /**
   * The remote closed a ready connection as superseded before the connection it keeps completed here:
   * wait for that one quietly, and count the loss only if it does not come.
   */
  private awaitReplacement(peer: Peer, info: CloseInfo): void {
    const timer = setTimeout(() => {
      if (this.awaitingReplacement.get(peer.name)?.peer !== peer) return;
      this.awaitingReplacement.delete(peer.name);
      this.peerGone(peer, { ...info, reason: `${info.reason}; the kept connection did not complete` });
    }, timerDelay(this.config.connection.handshakeTimeoutMs));
    timer.unref();
    this.awaitingReplacement.set(peer.name, { peer, info, timer });
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
    // Replaced by another connection to the same node: nothing was lost.
    if (peer.superseded) return;
    const running = this.status === 'started' || this.status === 'starting';
    if (running && info.initiator === 'remote' && info.code === ConnectionSupersededError.code) {
      this.awaitReplacement(peer, info);
      return;
    }
    this.peerGone(peer, info);
  }

  /** A ready peer is gone for good: fail its requests, report it, and redial or stop as configured. */
  private peerGone(peer: Peer, info: CloseInfo): void {
    this.requests.peerLost(peer.name, info.reason);
    const lost = !peer.closingLocally;
    if (lost) this.counters.connectionsLost++;
    this.logger.info({ peer: peer.name, code: info.code, reason: info.reason, initiator: info.initiator }, 'peer disconnected');
    this.emit('peer:disconnected', peer.describe(), { code: info.code, reason: info.reason, initiator: info.initiator });
    this.onDrain();
    if (!lost) return;
    let state: EndpointState | undefined;
    for (const s of this.endpoints.values()) if (s.peer === peer) state = s;
    if (state === undefined || !state.active) return;
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
      if (peer.state !== 'ready' || peer.superseded) continue;
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
      checkSyncRequestOptions(options);
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

  private sendResponse(from: Peer, topic: string, token: string, payload: unknown): void {
    if (typeof payload === 'function' || typeof payload === 'symbol') {
      this.counters.handlerErrors++;
      this.sendFailure(from, topic, token, `handler for ${topic} returned ${typeof payload}, expected ${SUCCESS_PAYLOAD_TYPES}`);
      return;
    }
    const peer = this.currentConnectionOf(from);
    if (peer.connection.closed) return;
    try {
      peer.connection.send({ kind: FrameKind.SyncResponse, topic, payload, syncToken: token });
      this.counters.syncResponsesSent++;
    } catch (error) {
      // A response over the limits still owes the requester an answer.
      this.sendFailure(peer, topic, token, errorText(error));
    }
  }

  private sendFailure(from: Peer, topic: string, token: string, text: string): void {
    const peer = this.currentConnectionOf(from);
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
    if (isNew) this.checkTopic(topic);
    this.asyncHandlers.set(topic, handler);
    if (isNew) {
      this.topicListBytes += announcedSize(topic);
      this.announce(FrameKind.TopicsAdded, [topic], []);
    }
  }

  addSyncTopic(topic: string, handler: AnySyncHandler<T>): void {
    const isNew = !this.syncHandlers.has(topic);
    if (isNew) this.checkTopic(topic);
    this.syncHandlers.set(topic, handler);
    if (isNew) {
      this.topicListBytes += announcedSize(topic);
      this.announce(FrameKind.TopicsAdded, [], [topic]);
    }
  }

  removeAsyncTopic(topic: string): boolean {
    if (!this.asyncHandlers.delete(topic)) return false;
    this.topicListBytes -= announcedSize(topic);
    this.announce(FrameKind.TopicsRemoved, [topic], []);
    return true;
  }

  removeSyncTopic(topic: string): boolean {
    if (!this.syncHandlers.delete(topic)) return false;
    this.topicListBytes -= announcedSize(topic);
    this.announce(FrameKind.TopicsRemoved, [], [topic]);
    return true;
  }

  /**
   * Throws InvalidTopicError for a topic peers would refuse in a handshake or topic update: not a
   * string, empty, not well-formed Unicode, over `limits.maxTopicBytes`, or one too many for the
   * handshake listing every topic to fit in `limits.maxFrameBytes`.
   */
  private checkTopic(topic: unknown): void {
    const { maxTopicBytes, maxFrameBytes } = this.config.limits;
    if (typeof topic !== 'string') {
      throw new InvalidTopicError(String(topic), 0, maxTopicBytes, `a topic must be a string, got ${typeof topic}`);
    }
    if (topic.length === 0) throw new InvalidTopicError(topic, 0, maxTopicBytes, 'a topic must not be empty');
    const bytes = Buffer.byteLength(topic, 'utf8');
    if (LONE_SURROGATE.test(topic)) {
      throw new InvalidTopicError(topic, bytes, maxTopicBytes, 'a topic must be well-formed Unicode (it has a lone surrogate)');
    }
    if (bytes > maxTopicBytes) {
      throw new InvalidTopicError(topic, bytes, maxTopicBytes, `${bytes} bytes (UTF-8) exceeds limits.maxTopicBytes ${maxTopicBytes}`);
    }
    const total = this.topicListBytes + announcedSize(topic) + HANDSHAKE_OVERHEAD_BYTES + this.config.limits.maxNodeNameBytes;
    if (total > maxFrameBytes) {
      throw new InvalidTopicError(
        topic,
        bytes,
        maxTopicBytes,
        `the handshake listing every topic would take about ${total} bytes, above limits.maxFrameBytes ${maxFrameBytes}`,
      );
    }
  }

  /** checkTopic for a handler map read at creation: a config error naming the map, with the topic error as cause. */
  private checkHandlerMapTopic(topic: string, method: string, handlers: Map<string, unknown>): void {
    if (handlers.has(topic)) return;
    try {
      this.checkTopic(topic);
    } catch (error) {
      throw new ConfigError(`application.${method}()`, (error as Error).message, { cause: error });
    }
    this.topicListBytes += announcedSize(topic);
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
