import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Payload } from '@systemge/protocol';
import type {
  AcceptedPlugin,
  AnyTopics,
  Application,
  CommandResult,
  NodePlugin,
  PluginContext,
  PluginMetric,
  TopicMap,
} from './components.js';
import { type EndpointConfig, type NodeConfig, resolveNodeConfig, type ResolvedNodeConfig } from './config.js';
import type { AddressList } from './connect/access-control.js';
import { Connections } from './connect/connections.js';
import { type EndpointState, Dialer } from './connect/dialer.js';
import { DuplicateResolution } from './connect/duplicate-resolution.js';
import type { HandshakeIdentity } from './connect/handshake.js';
import { Handshaker } from './connect/handshaker.js';
import { InboundGate } from './connect/inbound-gate.js';
import { type Clock, type NodeContext, systemClock } from './context.js';
import { DiscoveryMesh, type DiscoveryState, type NodeDiscoveryOptions } from './discovery/mesh.js';
import { PeerNotConnectedError } from './errors.js';
import { CommandRegistry } from './host/commands.js';
import { Lifecycle } from './host/lifecycle.js';
import { PluginHost } from './host/plugin-host.js';
import { Balanced } from './messaging/balanced.js';
import { type AnyAsyncHandler, type AnySyncHandler, TopicHandlers } from './messaging/handlers.js';
import { HoldQueue } from './messaging/hold-queue.js';
import { Inbound } from './messaging/inbound.js';
import { Outbound } from './messaging/outbound.js';
import { childLogger, type Logger, silentLogger } from './logger.js';
import type {
  AsyncMessageOptions,
  NodeEventName,
  EmittedNodeEvents,
  NodeStatus,
  PeerInfo,
  RequestOptions,
  SyncRequest,
  SyncRequestOptions,
  SystemgeNode,
} from './node-types.js';
import { Liveness } from './peers/liveness.js';
import { PeerTable } from './peers/peer-table.js';
import { Counters, type NodeStats, statsSnapshot } from './stats.js';

/** Extra things a node is built with that are not configuration data. */
export interface NodeOptions<T extends TopicMap = AnyTopics> {
  /** Structured logger (pino-compatible). Default: silent. */
  logger?: Logger;
  /** HTTP, WebSocket, dashboard... components, started in order after the node's own networking. */
  plugins?: AcceptedPlugin<T>[];
  /**
   * Find peers through a discovery instead of (or besides) `endpoints`: the node announces itself
   * once started, dials the members `connectTo` selects and drops members that left. Withdrawn
   * first on stop.
   */
  discovery?: NodeDiscoveryOptions;
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
  return new NodeImpl<T>(config, application, options, systemClock) as unknown as SystemgeNode<T>;
}

/**
 * The node's front: builds the parts around one shared context, runs the lifecycle, and hands every
 * public call to the part that owns it. See ARCHITECTURE.md for the parts and their invariants.
 */
class NodeImpl<T extends TopicMap> extends EventEmitter {
  readonly name: string;
  private readonly config: ResolvedNodeConfig;
  private readonly logger: Logger;
  private readonly ctx: NodeContext;
  /** This node as its public interface (handlers and plugins get this). */
  private readonly self: SystemgeNode<T>;
  private readonly plugins: PluginHost<T>;
  private readonly commands: CommandRegistry<T>;
  private readonly peerTable = new PeerTable();
  private readonly gate: InboundGate;
  private readonly duplicates: DuplicateResolution;
  private readonly handlers: TopicHandlers<T>;
  private readonly holds: HoldQueue<EndpointState>;
  private readonly handshaker: Handshaker;
  private readonly dialer: Dialer;
  private readonly connections: Connections;
  private readonly inbound: Inbound<T>;
  private readonly outbound: Outbound;
  private readonly balanced: Balanced;
  private readonly liveness: Liveness;
  private readonly lifecycle: Lifecycle;
  private readonly mesh: DiscoveryMesh | undefined;

  constructor(config: NodeConfig, application: Application<T>, options: NodeOptions<T>, clock: Clock) {
    super();
    this.config = resolveNodeConfig(config);
    this.name = this.config.name;
    this.self = this as unknown as SystemgeNode<T>;
    this.logger = childLogger(options.logger ?? silentLogger, { node: this.name });
    const ctx: NodeContext = {
      name: this.name,
      instance: randomBytes(16).toString('base64url'),
      config: this.config,
      logger: this.logger,
      counters: new Counters(),
      clock,
      emit: (event, ...args) => void this.emit(event, ...args),
      status: () => this.lifecycle.status,
      requestStop: (reason) => void this.stop(reason).catch(() => {}),
    };
    this.ctx = ctx;
    this.plugins = new PluginHost((options.plugins ?? []) as NodePlugin<T>[], this.logger);
    const peers = this.peerTable;
    this.gate = new InboundGate(ctx, { connectionCount: () => peers.size });
    this.duplicates = new DuplicateResolution(ctx, {
      peers,
      gate: this.gate,
      peerGone: (peer, info) => this.connections.peerGone(peer, info),
    });
    this.handlers = new TopicHandlers(ctx, peers, application);
    this.inbound = new Inbound(ctx, {
      handlers: this.handlers,
      node: this.self,
      currentConnectionOf: (peer) => this.duplicates.currentConnectionOf(peer),
    });
    this.commands = new CommandRegistry(
      this.self,
      () => this.describeNode(),
      this.logger,
      application.getCommandHandlers?.() ?? {},
      this.plugins.commandHandlers(),
    );
    this.holds = new HoldQueue<EndpointState>(ctx);
    this.outbound = new Outbound(ctx, { peers, holds: this.holds });
    this.balanced = new Balanced(ctx, { peers, outbound: this.outbound });
    this.liveness = new Liveness(ctx, { connections: () => peers.connections() });
    this.handshaker = new Handshaker(ctx, {
      peers,
      gate: this.gate,
      duplicates: this.duplicates,
      identity: () => this.identity(),
      onReplaced: (predecessor, peer) => this.dialer.transferEndpoint(predecessor, peer),
      onReady: (peer) => this.dialer.onPeerReady(peer),
    });
    this.dialer = new Dialer(ctx, {
      attach: (peer, settle) => this.connections.attach(peer, settle),
      handshake: (peer, settle) => this.handshaker.dial(peer, settle),
      holds: this.holds,
    });
    this.connections = new Connections(ctx, {
      peers,
      gate: this.gate,
      handshaker: this.handshaker,
      inbound: this.inbound,
      outbound: this.outbound,
      liveness: this.liveness,
      dialer: this.dialer,
      duplicates: this.duplicates,
    });
    this.mesh =
      options.discovery === undefined
        ? undefined
        : new DiscoveryMesh(ctx, options.discovery, {
            listener: () => this.address,
            topics: () => {
              const { asyncTopics, syncTopics } = this.handlers.topics();
              return [...new Set([...asyncTopics, ...syncTopics])];
            },
            connect: (endpoint) => this.dialer.connect(endpoint, { untilForgotten: true }),
            isConnected: (name) => this.peerTable.get(name) !== undefined,
            forget: async (endpoint, reason) => {
              const peer = this.dialer.forgetEndpoint(endpoint, reason);
              if (peer !== undefined && !peer.closed) await peer.close(reason, 'normal');
            },
          });
    const pluginContext: PluginContext<T> = { node: this.self, application, logger: this.logger };
    this.lifecycle = new Lifecycle(
      ctx,
      {
        onConnection: (connection) => this.connections.onIncoming(connection),
        onRefused: (remote, reason) => this.gate.onRefused(remote, reason),
        accept: (remote) => this.gate.check(remote),
        dialAll: () => this.dialer.start(),
        cancelDials: () => this.dialer.cancel(),
        shutdownDials: () => this.dialer.shutdown(),
        startLiveness: () => this.liveness.start(),
        stopLiveness: () => this.liveness.stop(),
        startPlugins: () => this.plugins.startAll(pluginContext),
        stopPlugins: () => this.plugins.stopAll(pluginContext),
        appStart: () => application.onStart?.(this.self),
        appStop: () => application.onStop?.(this.self),
        connections: () => peers.connections(),
        handlersIdle: (ms) => this.inbound.dispatcher.idle(ms),
        failRequests: (error) => this.outbound.requests.failAll(error),
        forgetReplacements: () => this.duplicates.shutdown(),
        releaseDrainWaiters: () => this.outbound.resolveDrainWaiters(),
      },
      (status, previous) => this.emit('status', status, previous),
    );
  }

  // ---------------------------------------------------------------- status

  get status(): NodeStatus {
    return this.lifecycle.status;
  }

  get address(): { host: string; port: number } | undefined {
    const listener = this.lifecycle.listener;
    return listener === undefined ? undefined : { host: listener.host, port: listener.port };
  }

  get uptimeMs(): number {
    return this.lifecycle.uptimeMs;
  }

  get authenticatesPeers(): boolean {
    const { token, peerTokens, requireCertificateName } = this.config.auth;
    return token !== undefined || Object.keys(peerTokens ?? {}).length > 0 || requireCertificateName === true;
  }

  get stats(): NodeStats {
    return statsSnapshot(this.ctx.counters, this.peerTable.connections(), this.inbound.dispatcher.queued);
  }

  /** Largest handling queue length seen since creation. */
  get peakQueueLength(): number {
    return this.inbound.dispatcher.peakQueue;
  }

  get writable(): boolean {
    return this.peerTable.writable;
  }

  /** Addresses allowed to connect (empty: all); editable at runtime. */
  get allowList(): AddressList {
    return this.gate.allowList;
  }

  /** Addresses refused before any handshake; editable at runtime. */
  get denyList(): AddressList {
    return this.gate.denyList;
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

  /** What this node announces in a handshake: its name, handled topics, instance id and listen address. */
  private identity(): HandshakeIdentity {
    const info: Record<string, string> = { instance: this.ctx.instance };
    const listener = this.lifecycle.listener;
    if (listener !== undefined) info.listen = `${listener.host}:${listener.port}`;
    return {
      name: this.name,
      asyncTopics: [...this.handlers.async.keys()],
      syncTopics: [...this.handlers.sync.keys()],
      info,
      limits: this.config.limits,
    };
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    await this.lifecycle.start();
    if (this.mesh === undefined) return;
    try {
      await this.mesh.start();
    } catch (error) {
      await this.lifecycle.stop(`discovery failed to start: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  async stop(reason?: string): Promise<void> {
    if (this.mesh !== undefined && this.lifecycle.status === 'started') {
      await this.mesh.stop().catch((error: unknown) => this.logger.warn({ err: error }, 'discovery did not stop cleanly'));
    }
    return this.lifecycle.stop(reason);
  }

  async restart(): Promise<void> {
    await this.stop('node restarting');
    await this.start();
  }

  // ---------------------------------------------------------------- connections

  connect(endpoint: EndpointConfig): Promise<PeerInfo> {
    return this.dialer.connect(endpoint);
  }

  async disconnect(name: string, reason = `disconnected by ${this.name}`): Promise<void> {
    const peer = this.peerTable.get(name);
    // A lost peer being redialed: stop redialing it.
    if (peer === undefined && this.dialer.forgetLost(name, reason)) return;
    if (peer === undefined) throw new PeerNotConnectedError(name);
    this.dialer.forgetEndpointOf(peer);
    await peer.close(reason, 'normal');
  }

  peers(): PeerInfo[] {
    return this.peerTable.describe();
  }

  discoveryState(): DiscoveryState | undefined {
    return this.mesh?.state();
  }

  drained(): Promise<void> {
    return this.outbound.drained();
  }

  // ---------------------------------------------------------------- messaging

  asyncMessage(topic: string, payload: Payload, options?: AsyncMessageOptions): boolean {
    if (options !== undefined && (options.balance !== undefined || options.key !== undefined)) {
      return this.balanced.asyncMessage(topic, payload, options);
    }
    return this.outbound.asyncMessage(topic, payload, options);
  }

  request(topic: string, payload: Payload, options?: RequestOptions): Promise<Payload> {
    return this.balanced.request(topic, payload, options);
  }

  syncRequest(topic: string, payload: Payload, options?: SyncRequestOptions): SyncRequest<Payload> {
    return this.outbound.syncRequest(topic, payload, options);
  }

  // ---------------------------------------------------------------- topics

  topics(): { asyncTopics: string[]; syncTopics: string[] } {
    return this.handlers.topics();
  }

  addAsyncTopic(topic: string, handler: AnyAsyncHandler<T>): void {
    this.handlers.addAsync(topic, handler);
    this.mesh?.topicsChanged();
  }

  addSyncTopic(topic: string, handler: AnySyncHandler<T>): void {
    this.handlers.addSync(topic, handler);
    this.mesh?.topicsChanged();
  }

  removeAsyncTopic(topic: string): boolean {
    const removed = this.handlers.removeAsync(topic);
    if (removed) this.mesh?.topicsChanged();
    return removed;
  }

  removeSyncTopic(topic: string): boolean {
    const removed = this.handlers.removeSync(topic);
    if (removed) this.mesh?.topicsChanged();
    return removed;
  }

  // ---------------------------------------------------------------- commands

  commandNames(): string[] {
    return this.commands.names();
  }

  command(name: string, args: string[] = []): Promise<CommandResult> {
    return this.commands.run(name, args);
  }

  private describeNode(): Record<string, unknown> {
    return {
      name: this.name,
      status: this.status,
      uptimeMs: this.uptimeMs,
      address: this.address,
      transport: this.config.transport?.name,
      handling: this.config.handling.mode,
      peers: this.peerTable.namedCount,
      pendingSyncRequests: this.outbound.requests.size,
      plugins: this.plugins.describe(),
    };
  }

  /** Counters of the plugins, by plugin name. */
  pluginStats(): Record<string, Record<string, number>> {
    return this.plugins.stats();
  }

  /** Labelled samples of the plugins, by plugin name. */
  pluginMetrics(): Record<string, PluginMetric[]> {
    return this.plugins.metrics();
  }
}
