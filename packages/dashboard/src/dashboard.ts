import websocket from '@fastify/websocket';
import { isLoopbackHost, TokenCheck } from '@systemge/access';
import { DASHBOARD_STATUS_TOPIC, DASHBOARD_UPDATE_TOPIC, EventLoopProbe, type ProcessDescription } from '@systemge/dashboard-link';
import { nodeMetrics, type NodeMetrics } from '@systemge/metrics';
import { Registry } from 'prom-client';
import { createNode, silentLogger, type Logger, type SystemgeNode, type TopicMap, type CommandResult } from '@systemge/node';
import fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { DASHBOARD_WS_PROTOCOL, normalizeOrigin } from './access.js';
import { DashboardStateError } from './errors.js';
import { LiveFeed } from './live-feed.js';
import { NodeTracker } from './node-tracker.js';
import { checkDashboardOptions, liveFeedLimits, urlHost, type DashboardOptions, type DashboardSystemgeOptions } from './options.js';
import { registerRoutes, type AccessRules, type DashboardCore, type Caller } from './routes.js';
import type { DashboardNodeDetails, DashboardNodeSummary, Topology } from './views.js';

export { checkDashboardOptions, type DashboardHTTPSOptions, type DashboardOptions, type DashboardSystemgeOptions } from './options.js';
export type { DashboardNodeDetails, DashboardNodeSummary, DiscoveredLink, Topology, TopologyEdge } from './views.js';

/** A dashboard server. Create with `createDashboard(options)`. */
export interface Dashboard {
  /** Starts the Systemge listener (when configured), the HTTP server and the metrics interval. */
  start(): Promise<void>;
  /** Closes WebSocket clients, the HTTP server and the Systemge listener. Local nodes keep running. */
  stop(): Promise<void>;
  /** `http://host:port` (`https://` with `https`) once started. */
  readonly url: string | undefined;
  /** Address remote nodes dial (`connectDashboard(node, { host, port, ... })`) once started. */
  readonly systemgeAddress: { host: string; port: number } | undefined;
  /** Shows a node of this process. Throws `SYSTEMGE_ERR_DASHBOARD_DUPLICATE_NODE` for a name already shown. */
  addNode<T extends TopicMap>(node: SystemgeNode<T>): void;
  /** Stops showing a node. A remote node whose link is up comes back when the link reconnects. */
  removeNode(name: string): boolean;
  /** Every node shown, in the order they appeared. */
  nodes(): DashboardNodeSummary[];
  /** Answers a request without a socket (Fastify's `inject`), e.g. in tests. */
  inject(options: InjectOptions | string): Promise<LightMyRequestResponse>;
}

/**
 * The dashboard's Fastify server: HTTP or HTTPS (`https` options already checked), the WebSocket plugin
 * for `/ws` (only the dashboard subprotocol), and the routes.
 */
function createServer(httpsOptions: Record<string, unknown> | undefined, core: DashboardCore, rules: AccessRules): FastifyInstance {
  // Node names may be 128 bytes (more with a raised limit), i.e. several hundred URL-encoded characters.
  const app = fastify({
    ...(httpsOptions === undefined ? {} : { https: httpsOptions }),
    logger: false,
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 2048 },
    forceCloseConnections: true,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  void app.register(websocket, {
    options: {
      maxPayload: 64 * 1024,
      handleProtocols: (protocols: Set<string>) => (protocols.has(DASHBOARD_WS_PROTOCOL) ? DASHBOARD_WS_PROTOCOL : false),
    },
  });
  void app.register(async (instance) => {
    registerRoutes(instance, core, rules);
  });
  return app;
}

/** The dashboard's front: lifecycle, the Systemge listener for remote nodes, and what the routes ask. */
class DashboardServer implements Dashboard, DashboardCore {
  readonly feed: LiveFeed;
  readonly logger: Logger;
  private readonly host: string;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly tokenCheck: TokenCheck | undefined;
  private readonly secure: boolean;
  private readonly app: FastifyInstance;
  private readonly tracker: NodeTracker;
  readonly metrics: NodeMetrics;
  private readonly probe = new EventLoopProbe();
  processReading: ProcessDescription | undefined;
  internal: SystemgeNode | undefined;
  readonly remoteTimeouts: { describeTimeoutMs: number; commandTimeoutMs: number };
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private listening: { host: string; port: number } | undefined;
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';

  constructor(private readonly options: DashboardOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.intervalMs = options.metricsIntervalMs ?? 1000;
    this.logger = options.logger ?? silentLogger;
    const { token } = options;
    const httpsOptions = checkDashboardOptions(options);
    this.secure = httpsOptions !== undefined;
    const allowedOrigins = options.allowedOrigins;
    this.tokenCheck = token === undefined ? undefined : new TokenCheck(token);
    this.remoteTimeouts = {
      describeTimeoutMs: options.systemge?.describeTimeoutMs ?? 5000,
      commandTimeoutMs: options.systemge?.commandTimeoutMs ?? 15_000,
    };
    this.feed = new LiveFeed(liveFeedLimits(options.liveFeed), (reason, bufferedBytes) =>
      this.logger.info({ reason, bufferedBytes }, 'dashboard feed client too slow, disconnected'),
    );
    this.metrics = nodeMetrics([], { registry: options.metricsRegistry ?? new Registry() });
    this.tracker = new NodeTracker(this);
    this.probe.read();
    this.app = createServer(httpsOptions, this, {
      tokenCheck: this.tokenCheck,
      allowedOrigins: allowedOrigins === undefined ? undefined : new Set(allowedOrigins.map(normalizeOrigin)),
      loopbackOnly: isLoopbackHost(this.host),
    });
  }

  // ------------------------------------------------------------ lifecycle

  get url(): string | undefined {
    if (this.listening === undefined) return undefined;
    return `${this.secure ? 'https' : 'http'}://${urlHost(this.listening.host)}:${this.listening.port}`;
  }

  get systemgeAddress(): { host: string; port: number } | undefined {
    return this.internal?.status === 'started' ? this.internal.address : undefined;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new DashboardStateError(`start() is called once on a new dashboard (this one is ${this.state})`);
    this.state = 'starting';
    try {
      if (this.options.systemge !== undefined) await this.startSystemge(this.options.systemge);
      await this.app.listen({ host: this.host, port: this.port });
    } catch (error) {
      this.state = 'stopped';
      await this.internal?.stop('dashboard failed to start').catch(() => {});
      await this.app.close().catch(() => {});
      this.probe.stop();
      throw error;
    }
    const address = this.app.server.address();
    if (address !== null && typeof address === 'object') this.listening = { host: this.host, port: address.port };
    this.startedAt = Date.now();
    this.state = 'started';
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.logger.info({ url: this.url, systemge: this.systemgeAddress }, 'dashboard started');
    if (!this.secure && this.tokenCheck !== undefined && !isLoopbackHost(this.host)) {
      this.logger.warn(
        { host: this.host },
        'dashboard serves plain HTTP on a non-loopback address: the token crosses the network in clear text; set https',
      );
    }
    const sys = this.options.systemge;
    if (sys !== undefined && this.tokenCheck !== undefined && sys.transport.name !== 'tls' && !isLoopbackHost(sys.host ?? this.host)) {
      this.logger.warn(
        { host: sys.host ?? this.host, transport: sys.transport.name },
        'dashboard links use an unencrypted transport on a non-loopback address: remote nodes send the token in clear text; use tlsTransport',
      );
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearInterval(this.timer);
    this.feed.closeAll();
    await this.app.close();
    await this.internal?.stop('dashboard stopped');
    this.probe.stop();
    this.tracker.dispose();
    this.logger.info({}, 'dashboard stopped');
  }

  inject(options: InjectOptions | string): Promise<LightMyRequestResponse> {
    return this.app.inject(options);
  }

  private async startSystemge(options: DashboardSystemgeOptions): Promise<void> {
    const internal = createNode(
      {
        name: options.name ?? 'dashboard',
        transport: options.transport,
        listen: { host: options.host ?? this.host, port: options.port ?? 0 },
        auth: this.options.token === undefined ? undefined : { token: this.options.token },
        heartbeat: options.heartbeat,
        limits: options.limits,
      },
      {
        getAsyncMessageHandlers: () => ({
          [DASHBOARD_STATUS_TOPIC]: (message) => this.tracker.onRemoteStatus(message.origin, message.payload),
          [DASHBOARD_UPDATE_TOPIC]: (message) => this.tracker.onRemoteUpdate(message.origin, message.payload),
        }),
      },
      { logger: this.logger },
    );
    internal.on('peer:connected', (peer) => void this.tracker.onLinkUp(peer));
    internal.on('peer:disconnected', (peer) => this.tracker.onLinkDown(peer));
    this.internal = internal;
    await internal.start();
  }

  // ------------------------------------------------------------ nodes

  addNode<T extends TopicMap>(added: SystemgeNode<T>): void {
    this.tracker.addNode(added);
  }

  removeNode(name: string): boolean {
    return this.tracker.removeNode(name);
  }

  nodes(): DashboardNodeSummary[] {
    return this.tracker.nodes();
  }

  list(): DashboardNodeSummary[] {
    return this.nodes();
  }

  async details(name: string): Promise<DashboardNodeDetails> {
    const t = this.tracker.get(name);
    let d = t.description;
    if (t.reachable) {
      try {
        d = await t.describe();
        t.description = d;
      } catch (error) {
        this.logger.debug({ node: name, err: error }, 'describe failed; showing the last description');
      }
    }
    return {
      ...this.tracker.summaryOf(t, d),
      peers: t.status === 'disconnected' ? [] : (d?.peers ?? []),
      topics: d?.topics ?? { asyncTopics: [], syncTopics: [] },
      commands: d?.commands ?? [],
      stats: d?.stats ?? null,
      plugins: d?.plugins ?? {},
      pluginMetrics: d?.pluginMetrics ?? {},
      process: d?.process ?? null,
    };
  }

  async run(name: string, command: string, args: string[], caller: Caller): Promise<CommandResult> {
    const t = this.tracker.get(name);
    this.logger.info({ node: name, command, argc: args.length, remote: caller.remote, via: caller.via }, 'dashboard command');
    try {
      const result = await t.command(command, args);
      this.feed.broadcast({ type: 'command', id: caller.id, name, command, result });
      return result;
    } catch (error) {
      const e = error as { message?: string; code?: string };
      this.logger.warn({ node: name, command, remote: caller.remote, via: caller.via, code: e.code }, 'dashboard command failed');
      this.feed.broadcast({ type: 'command', id: caller.id, name, command, error: e.message ?? String(error), code: e.code });
      throw error;
    }
  }

  async runAll(command: string, caller: Caller): Promise<Record<string, { result: CommandResult } | { error: string; code: string }>> {
    const names = this.tracker
      .values()
      .filter((t) => t.reachable)
      .map((t) => t.name);
    const settled = await Promise.allSettled(names.map((name) => this.run(name, command, [], caller)));
    // fromEntries defines own properties: a node named `__proto__` is a key like any other.
    return Object.fromEntries(
      settled.map((s, i): [string, { result: CommandResult } | { error: string; code: string }] => {
        if (s.status === 'fulfilled') return [names[i]!, { result: s.value }];
        const e = s.reason as { message?: string; code?: string };
        return [names[i]!, { error: e.message ?? String(s.reason), code: e.code ?? 'SYSTEMGE_ERR_DASHBOARD_COMMAND_FAILED' }];
      }),
    );
  }

  async prometheus(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
  }

  health(): Record<string, unknown> {
    return {
      status: this.state === 'started' ? 'ok' : this.state,
      uptimeMs: this.state === 'started' ? Date.now() - this.startedAt : 0,
      nodes: this.tracker.size,
      feedClients: this.feed.size,
      feedSlowDisconnects: this.feed.slowDisconnects,
      systemge: this.systemgeAddress ?? null,
    };
  }

  topology(): Topology {
    return this.tracker.topology();
  }

  private async tick(): Promise<void> {
    this.processReading = this.probe.read();
    await this.tracker.refreshAll();
  }
}

/**
 * Creates a dashboard: a JSON HTTP API, a live WebSocket feed at `/ws` and a Prometheus
 * endpoint for the nodes added with `addNode` and the remote nodes whose links dial
 * `systemge`. Throws `SYSTEMGE_ERR_DASHBOARD_TOKEN_REQUIRED` when it would listen on a
 * non-loopback address without a token, `SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION` for a bad option.
 */
export function createDashboard(options: DashboardOptions = {}): Dashboard {
  return new DashboardServer(options);
}
