import websocket from '@fastify/websocket';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '@systemge/metrics';
import {
  createNode,
  DASHBOARD_DESCRIBE_TOPIC,
  DASHBOARD_STATUS_TOPIC,
  EventLoopProbe,
  silentLogger,
  type HeartbeatConfig,
  type Logger,
  type NodeDescription,
  type NodeStats,
  type NodeStatus,
  type PeerInfo,
  type ProcessDescription,
  type SystemgeNode,
  type TopicMap,
} from '@systemge/node';
import type { ProtocolLimits, Transport } from '@systemge/protocol';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { DASHBOARD_WS_PROTOCOL, isLoopbackHost, normalizeOrigin, TokenCheck, TOKEN_PATTERN } from './access.js';
import { DashboardOptionError, DashboardTokenRequiredError, DuplicateNodeError, UnknownNodeError } from './errors.js';
import { LiveFeed } from './live-feed.js';
import { registerRoutes, type DashboardCore, type Caller } from './routes.js';
import type { NodeMetricsSummary } from './summary.js';
import { LocalNode, RemoteNode, type DashboardNodeStatus, type TrackedNode } from './tracked-node.js';

/** Where remote nodes reach the dashboard: its own Systemge node, which their `connectDashboard` links dial. */
export interface DashboardSystemgeOptions {
  /** Transport the links use, e.g. `tcpTransport()` or `tlsTransport(...)`. */
  transport: Transport;
  /** Interface to bind. Default: the dashboard's `host`. */
  host?: string;
  /** Port; 0 picks a free one (read it from `systemgeAddress`). Default 0. */
  port?: number;
  /** Name of the dashboard's Systemge node; no remote node may use it. Default `dashboard`. */
  name?: string;
  /** Liveness of the links: probe interval and dead-peer timeout, ms. Defaults 5000 / 15000 (the node's). */
  heartbeat?: HeartbeatConfig;
  /** Codec limits of the dashboard's Systemge node. Default: the protocol's. */
  limits?: Partial<ProtocolLimits>;
  /** How long a remote node may take to describe itself, ms. Default 5000. */
  describeTimeoutMs?: number;
  /** How long a remote node may take to answer a command, ms. Default 15000. */
  commandTimeoutMs?: number;
}

/** TLS of the dashboard's HTTP server: the page, the API, `/metrics` and `/ws` are served over HTTPS. */
export interface DashboardHTTPSOptions {
  /** PEM certificate chain of the server. */
  cert: string | Buffer;
  /** PEM private key of `cert`. */
  key: string | Buffer;
  /** Passphrase of an encrypted `key`. Default: none. */
  passphrase?: string;
  /** PEM CA certificate(s) that verify client certificates; required with `requestClientCert`. */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Mutual TLS: every client (browser, API client, WebSocket) must present a certificate that
   * `ca` verifies; others are refused in the TLS handshake, before any HTTP is read. Default false.
   */
  requestClientCert?: boolean;
  /** Lowest TLS version accepted. Default `'TLSv1.2'`. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** Options of `createDashboard`. */
export interface DashboardOptions {
  /** Interface the HTTP server binds. Anything but loopback requires `token`. Default `127.0.0.1`. */
  host?: string;
  /** HTTP port; 0 picks a free one (read it from `url`). Default 0. */
  port?: number;
  /** Serve HTTPS (optionally requiring client certificates) instead of HTTP. Default: plain HTTP. */
  https?: DashboardHTTPSOptions;
  /**
   * Token every API request, WebSocket client and remote node must present
   * (`Authorization: Bearer <token>`, the `systemge.bearer.<token>` WebSocket subprotocol, the
   * Systemge handshake). Required when `host` or `systemge.host` is not loopback. Characters:
   * letters, digits and ``!#$%&'*+.^_`|~-``. Never logged. Default: none.
   */
  token?: string;
  /**
   * Browser origins allowed to open `/ws` and to send requests, e.g. `['https://ops.example.com']`.
   * Default: only the dashboard's own origin.
   */
  allowedOrigins?: readonly string[];
  /** How often nodes are described and metrics pushed to WebSocket clients, ms. Default 1000. */
  metricsIntervalMs?: number;
  /** Accept remote nodes over the Systemge protocol. Default: none (only nodes added with `addNode`). */
  systemge?: DashboardSystemgeOptions;
  /** Structured logger (pino-compatible); start/stop/command operations are logged at `info`. Default: silent. */
  logger?: Logger;
}

/** One node as the list shows it. */
export interface DashboardNodeSummary {
  name: string;
  /** `local`: added with `addNode`; `remote`: registered through a dashboard link. */
  kind: 'local' | 'remote';
  status: DashboardNodeStatus;
  address: { host: string; port: number } | null;
  uptimeMs: number;
  /** Process id of the node's process, when known. */
  pid: number | null;
  /** Connected peers. */
  connections: number;
  /** Figures from the latest metrics interval; null before the first. */
  metrics: NodeMetricsSummary | null;
  /** When the node was last described, epoch ms. */
  updatedAt: number | null;
}

/** One node in full. */
export interface DashboardNodeDetails extends DashboardNodeSummary {
  peers: PeerInfo[];
  topics: { asyncTopics: string[]; syncTopics: string[] };
  commands: string[];
  stats: NodeStats | null;
  plugins: Record<string, Record<string, number>>;
  process: ProcessDescription | null;
}

/** A connection between two nodes: `from` dialed `to`. */
export interface TopologyEdge {
  from: string;
  to: string;
}

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

const NODE_STATUSES: readonly string[] = ['stopped', 'starting', 'started', 'stopping'];

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

const MIN_TLS_VERSIONS: readonly string[] = ['TLSv1.2', 'TLSv1.3'];

function isPEM(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0);
}

/** Checks `https` and turns it into the options of Node's `https.createServer`. */
function httpsServerOptions(https: DashboardHTTPSOptions): Record<string, unknown> {
  if (typeof https !== 'object' || https === null) throw new DashboardOptionError('https', 'an object { cert, key, ca?, requestClientCert? }');
  if (!isPEM(https.cert)) throw new DashboardOptionError('https.cert', 'a PEM certificate chain (string or Buffer)');
  if (!isPEM(https.key)) throw new DashboardOptionError('https.key', 'a PEM private key (string or Buffer)');
  const cas = https.ca === undefined ? [] : Array.isArray(https.ca) ? https.ca : [https.ca];
  if (cas.some((ca) => !isPEM(ca))) throw new DashboardOptionError('https.ca', 'PEM CA certificate(s) (string, Buffer or an array of them)');
  if (https.requestClientCert !== undefined && typeof https.requestClientCert !== 'boolean') {
    throw new DashboardOptionError('https.requestClientCert', 'true or false');
  }
  if (https.requestClientCert === true && cas.length === 0) {
    throw new DashboardOptionError('https.ca', 'set when https.requestClientCert is true (the CA that verifies client certificates)');
  }
  const minVersion = https.minVersion ?? 'TLSv1.2';
  if (!MIN_TLS_VERSIONS.includes(minVersion)) throw new DashboardOptionError('https.minVersion', `"TLSv1.2" or "TLSv1.3", got ${String(minVersion)}`);
  const options: Record<string, unknown> = { cert: https.cert, key: https.key, minVersion };
  if (https.passphrase !== undefined) options.passphrase = https.passphrase;
  if (cas.length > 0) options.ca = cas;
  if (https.requestClientCert === true) {
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  // Certificates and keys are parsed now, so a bad one fails createDashboard rather than start().
  try {
    createSecureContext(options as SecureContextOptions);
  } catch (cause) {
    throw new DashboardOptionError('https', `a usable certificate, key and CA: ${(cause as Error).message}`, { cause });
  }
  return options;
}

function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DashboardOptionError(option, `an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/**
 * Runs every check `createDashboard` runs on `options`, without creating or binding anything, and
 * throws the same errors (`SYSTEMGE_ERR_DASHBOARD_TOKEN_REQUIRED`, `SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION`).
 * Returns the options of Node's `https.createServer` when `https` is set.
 */
export function checkDashboardOptions(options: DashboardOptions): Record<string, unknown> | undefined {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new DashboardOptionError('host', 'a non-empty string');
  checkInteger('port', options.port ?? 0, 0, 65535);
  checkInteger('metricsIntervalMs', options.metricsIntervalMs ?? 1000, 10, 3_600_000);
  const { token, systemge } = options;
  if (token !== undefined && (typeof token !== 'string' || !TOKEN_PATTERN.test(token))) {
    throw new DashboardOptionError('token', "a non-empty string of letters, digits and !#$%&'*+.^_`|~-");
  }
  if (token === undefined && !isLoopbackHost(host)) throw new DashboardTokenRequiredError(host, 'dashboard');
  if (systemge !== undefined) {
    const sysHost = systemge.host ?? host;
    if (typeof sysHost !== 'string' || sysHost === '') throw new DashboardOptionError('systemge.host', 'a non-empty string');
    if (token === undefined && !isLoopbackHost(sysHost)) throw new DashboardTokenRequiredError(sysHost, 'systemge');
    checkInteger('systemge.port', systemge.port ?? 0, 0, 65535);
    checkInteger('systemge.describeTimeoutMs', systemge.describeTimeoutMs ?? 5000, 1, 3_600_000);
    checkInteger('systemge.commandTimeoutMs', systemge.commandTimeoutMs ?? 15_000, 1, 3_600_000);
    if (typeof systemge.transport !== 'object' || systemge.transport === null) {
      throw new DashboardOptionError('systemge.transport', 'a Transport, e.g. tcpTransport()');
    }
  }
  const allowedOrigins = options.allowedOrigins;
  if (allowedOrigins !== undefined && (!Array.isArray(allowedOrigins) || allowedOrigins.some((o) => typeof o !== 'string'))) {
    throw new DashboardOptionError('allowedOrigins', 'an array of origins such as "https://ops.example.com"');
  }
  return options.https === undefined ? undefined : httpsServerOptions(options.https);
}

class DashboardServer implements Dashboard, DashboardCore {
  readonly feed = new LiveFeed();
  private readonly host: string;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly tokenCheck: TokenCheck | undefined;
  private readonly secure: boolean;
  private readonly app: FastifyInstance;
  private readonly tracked = new Map<string, TrackedNode>();
  private readonly detach = new Map<TrackedNode, () => void>();
  private readonly probe = new EventLoopProbe();
  private processReading: ProcessDescription | undefined;
  private internal: SystemgeNode | undefined;
  private timer: NodeJS.Timeout | undefined;
  private topologyKey = '';
  private edges: TopologyEdge[] = [];
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
    this.probe.read();

    // Node names may be 128 bytes (more with a raised limit), i.e. several hundred URL-encoded characters.
    this.app = fastify({
      ...(httpsOptions === undefined ? {} : { https: httpsOptions }),
      logger: false,
      bodyLimit: 64 * 1024,
      routerOptions: { maxParamLength: 2048 },
      forceCloseConnections: true,
      return503OnClosing: true,
    });
    void this.app.register(websocket, {
      options: {
        maxPayload: 64 * 1024,
        handleProtocols: (protocols: Set<string>) => (protocols.has(DASHBOARD_WS_PROTOCOL) ? DASHBOARD_WS_PROTOCOL : false),
      },
    });
    void this.app.register(async (instance) => {
      registerRoutes(instance, this, {
        tokenCheck: this.tokenCheck,
        allowedOrigins: allowedOrigins === undefined ? undefined : new Set(allowedOrigins.map(normalizeOrigin)),
        loopbackOnly: isLoopbackHost(this.host),
      });
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
    if (this.state !== 'new') throw new DashboardOptionError('start()', `called once on a new dashboard (this one is ${this.state})`);
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
      this.logger.warn({ host: this.host }, 'dashboard serves plain HTTP on a non-loopback address: the token crosses the network in clear text; set https');
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
    for (const [node, detach] of this.detach) {
      detach();
      node.dispose();
    }
    this.detach.clear();
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
          [DASHBOARD_STATUS_TOPIC]: (message) => this.onRemoteStatus(message.origin, message.payload),
        }),
      },
      { logger: this.logger },
    );
    internal.on('peer:connected', (peer) => void this.onLinkUp(peer));
    internal.on('peer:disconnected', (peer) => this.onLinkDown(peer));
    this.internal = internal;
    await internal.start();
  }

  // ------------------------------------------------------------ nodes

  addNode<T extends TopicMap>(added: SystemgeNode<T>): void {
    // Topic typing does not matter here; the dashboard only describes and commands the node.
    const node = added as unknown as SystemgeNode;
    if (this.tracked.has(node.name)) throw new DuplicateNodeError(node.name);
    const local = new LocalNode(node, () => this.processReading);
    const onStatus = (status: NodeStatus): void => this.setStatus(local, status);
    const onPeers = (): void => this.updateTopology();
    node.on('status', onStatus);
    node.on('peer:connected', onPeers);
    node.on('peer:disconnected', onPeers);
    this.detach.set(local, () => {
      node.off('status', onStatus);
      node.off('peer:connected', onPeers);
      node.off('peer:disconnected', onPeers);
    });
    this.tracked.set(node.name, local);
    this.nodesChanged();
  }

  removeNode(name: string): boolean {
    const node = this.tracked.get(name);
    if (node === undefined) return false;
    this.tracked.delete(name);
    this.detach.get(node)?.();
    this.detach.delete(node);
    node.dispose();
    this.nodesChanged();
    return true;
  }

  nodes(): DashboardNodeSummary[] {
    return [...this.tracked.values()].map((t) => this.summaryOf(t, t.kind === 'local' ? undefined : t.description));
  }

  private get(name: string): TrackedNode {
    const node = this.tracked.get(name);
    if (node === undefined) throw new UnknownNodeError(name, [...this.tracked.keys()]);
    return node;
  }

  private summaryOf(t: TrackedNode, known: NodeDescription | undefined): DashboardNodeSummary {
    const d = known ?? (t instanceof LocalNode ? t.current() : t.description);
    const live = t.status !== 'disconnected';
    return {
      name: t.name,
      kind: t.kind,
      status: t.status,
      address: d?.address ?? null,
      uptimeMs: live ? (d?.uptimeMs ?? 0) : 0,
      pid: d?.process?.pid ?? null,
      connections: live ? (d?.peers.length ?? 0) : 0,
      metrics: t.summary ?? null,
      updatedAt: d?.timestamp ?? null,
    };
  }

  list(): DashboardNodeSummary[] {
    return this.nodes();
  }

  async details(name: string): Promise<DashboardNodeDetails> {
    const t = this.get(name);
    let d = t.description;
    if (t.reachable) {
      try {
        d = await t.describe();
        t.description = d;
      } catch (error) {
        this.logger.debug({ node: name, err: (error as Error).message }, 'describe failed; showing the last description');
      }
    }
    return {
      ...this.summaryOf(t, d),
      peers: t.status === 'disconnected' ? [] : (d?.peers ?? []),
      topics: d?.topics ?? { asyncTopics: [], syncTopics: [] },
      commands: d?.commands ?? [],
      stats: d?.stats ?? null,
      plugins: d?.plugins ?? {},
      process: d?.process ?? null,
    };
  }

  async run(name: string, command: string, args: string[], caller: Caller): Promise<string> {
    const t = this.get(name);
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

  async runAll(command: string, caller: Caller): Promise<Record<string, { result: string } | { error: string; code: string }>> {
    const names = [...this.tracked.values()].filter((t) => t.reachable).map((t) => t.name);
    const settled = await Promise.allSettled(names.map((name) => this.run(name, command, [], caller)));
    // fromEntries defines own properties: a node named `__proto__` is a key like any other.
    return Object.fromEntries(
      settled.map((s, i): [string, { result: string } | { error: string; code: string }] => {
        if (s.status === 'fulfilled') return [names[i]!, { result: s.value }];
        const e = s.reason as { message?: string; code?: string };
        return [names[i]!, { error: e.message ?? String(s.reason), code: e.code ?? 'SYSTEMGE_ERR_DASHBOARD_COMMAND_FAILED' }];
      }),
    );
  }

  prometheus(): { contentType: string; body: string } {
    return { contentType: PROMETHEUS_CONTENT_TYPE, body: renderPrometheus([...this.tracked.values()].map((t) => t.registry)) };
  }

  health(): Record<string, unknown> {
    return {
      status: this.state === 'started' ? 'ok' : this.state,
      uptimeMs: this.state === 'started' ? Date.now() - this.startedAt : 0,
      nodes: this.tracked.size,
      feedClients: this.feed.size,
      systemge: this.systemgeAddress ?? null,
    };
  }

  topology(): TopologyEdge[] {
    return this.edges;
  }

  // ------------------------------------------------------------ remote links

  private async onLinkUp(peer: PeerInfo): Promise<void> {
    if (!peer.syncTopics.includes(DASHBOARD_DESCRIBE_TOPIC)) {
      this.logger.debug({ peer: peer.name }, 'peer without a dashboard link connected; not shown');
      return;
    }
    const existing = this.tracked.get(peer.name);
    if (existing instanceof LocalNode) {
      this.logger.warn({ node: peer.name }, 'a remote node uses the name of a local node; its link is closed');
      await this.internal?.disconnect(peer.name, 'name taken by a node of the dashboard process').catch(() => {});
      return;
    }
    let remote: RemoteNode;
    if (existing instanceof RemoteNode) {
      remote = existing;
      remote.linked = true;
    } else {
      const sys = this.options.systemge!;
      remote = new RemoteNode(peer.name, this.internal!, {
        describeTimeoutMs: sys.describeTimeoutMs ?? 5000,
        commandTimeoutMs: sys.commandTimeoutMs ?? 15_000,
      });
      this.tracked.set(peer.name, remote);
    }
    this.logger.info({ node: peer.name, remote: `${peer.remoteAddress}:${peer.remotePort}` }, 'remote node linked');
    await this.refresh(remote, false);
    if (existing === undefined) this.nodesChanged();
    this.updateTopology();
  }

  private onLinkDown(peer: PeerInfo): void {
    const remote = this.tracked.get(peer.name);
    if (!(remote instanceof RemoteNode)) return;
    // A refused second link with the same name must not mark the live one as gone.
    if (this.internal?.peers().some((p) => p.name === peer.name)) return;
    remote.linked = false;
    this.logger.info({ node: peer.name }, 'remote node link lost');
    this.setStatus(remote, 'disconnected');
    this.updateTopology();
  }

  private onRemoteStatus(origin: string, payload: unknown): void {
    const remote = this.tracked.get(origin);
    if (!(remote instanceof RemoteNode) || !remote.linked) return;
    try {
      const { status } = JSON.parse(String(payload)) as { status?: unknown };
      if (typeof status === 'string' && NODE_STATUSES.includes(status)) this.setStatus(remote, status as NodeStatus);
    } catch {
      this.logger.debug({ node: origin }, 'malformed status message ignored');
    }
  }

  // ------------------------------------------------------------ live updates

  private setStatus(t: TrackedNode, status: DashboardNodeStatus): void {
    if (t.status === status || this.tracked.get(t.name) !== t) return;
    const previous = t.status;
    t.status = status;
    this.logger.info({ node: t.name, status, previous }, 'node status');
    this.feed.broadcast({ type: 'status', name: t.name, status, previous });
    if (status === 'stopped' || status === 'started' || status === 'disconnected') this.updateTopology();
  }

  private nodesChanged(): void {
    this.feed.broadcast({ type: 'nodes', nodes: this.nodes() });
    this.updateTopology();
  }

  private async refresh(t: TrackedNode, snapshot: boolean): Promise<void> {
    if (t.refreshing) return;
    if (t.reachable) {
      t.refreshing = true;
      try {
        const d = await t.describe();
        t.description = d;
        if (t.reachable) this.setStatus(t, d.status);
      } catch (error) {
        this.logger.debug({ node: t.name, err: (error as Error).message }, 'describe failed');
      } finally {
        t.refreshing = false;
      }
    }
    if (!snapshot || this.tracked.get(t.name) !== t || t.status === 'disconnected') return;
    t.takeSnapshot();
    const { uptimeMs, address, pid, connections } = this.summaryOf(t, t.description);
    this.feed.broadcast({
      type: 'metrics',
      name: t.name,
      timestamp: t.snapshot!.timestamp,
      uptimeMs,
      address,
      pid,
      connections,
      summary: t.summary,
      snapshot: t.snapshot,
    });
  }

  private async tick(): Promise<void> {
    this.processReading = this.probe.read();
    await Promise.all([...this.tracked.values()].map((t) => this.refresh(t, true)));
    this.updateTopology();
  }

  /** Recomputes who is connected to whom and pushes it when it changed. */
  private updateTopology(): void {
    const keys = new Set<string>();
    for (const t of this.tracked.values()) {
      if (t.status === 'disconnected') continue;
      const peers = t instanceof LocalNode ? t.node.peers() : (t.description?.peers ?? []);
      for (const p of peers) {
        if (p.name === '') continue;
        const [from, to] = p.direction === 'out' ? [t.name, p.name] : [p.name, t.name];
        keys.add(`${from}\u0000${to}`);
      }
    }
    const key = [...keys].sort().join('\n');
    if (key === this.topologyKey) return;
    this.topologyKey = key;
    this.edges =
      key === ''
        ? []
        : key.split('\n').map((k) => {
            const [from, to] = k.split('\u0000') as [string, string];
            return { from, to };
          });
    this.feed.broadcast({ type: 'topology', edges: this.edges });
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
