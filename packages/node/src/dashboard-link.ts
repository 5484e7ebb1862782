import { isIP } from 'node:net';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { SystemgeError, type Transport } from '@systemge/protocol';
import { answerCommandRequest, parseCommandRequest } from './command-protocol.js';
import type { AnyTopics, PluginMetric, TopicMap } from './components.js';
import { AuthenticationError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { createNode } from './node.js';
import type { NodeStatus, PeerInfo, SystemgeNode } from './node-types.js';
import type { NodeStats } from './stats.js';

/** Sync topic a dashboard calls to read a node's description (payload ''). */
export const DASHBOARD_DESCRIBE_TOPIC = 'systemge.dashboard.describe';
/** Sync topic a dashboard calls to run a command (payload: JSON `{ command, args }`; response: JSON `{ result }`). */
export const DASHBOARD_COMMAND_TOPIC = 'systemge.dashboard.command';
/** Async topic a node sends its status changes on (payload: JSON `{ name, status, previous }`). */
export const DASHBOARD_STATUS_TOPIC = 'systemge.dashboard.status';

export { parseCommandFailure, type CommandFailure } from './command-protocol.js';

/** Process figures of the process a node runs in. */
export interface ProcessDescription {
  pid: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  rssBytes: number;
  /** Event-loop delay since the previous description, ms. */
  eventLoopLagMs: { p50: number; p99: number; max: number };
}

/** Everything a dashboard shows about one node; the same shape for local and remote nodes. */
export interface NodeDescription {
  name: string;
  status: NodeStatus;
  uptimeMs: number;
  address: { host: string; port: number } | undefined;
  commands: string[];
  peers: PeerInfo[];
  topics: { asyncTopics: string[]; syncTopics: string[] };
  stats: NodeStats;
  /** Totals of the node's plugins (HTTP, WebSocket...), by plugin name. */
  plugins: Record<string, Record<string, number>>;
  /** Labelled samples of the node's plugins (`getMetrics()`), by plugin name. */
  pluginMetrics: Record<string, PluginMetric[]>;
  process: ProcessDescription | undefined;
  /** When the description was taken, epoch ms. */
  timestamp: number;
}

interface NodeInternals {
  uptimeMs?: number;
  pluginStats?(): Record<string, Record<string, number>>;
  pluginMetrics?(): Record<string, PluginMetric[]>;
}

/** The labelled samples of a node's plugins (`NodePlugin.getMetrics()`), by plugin name. */
export function pluginMetricsOf<T extends TopicMap>(node: SystemgeNode<T>): Record<string, PluginMetric[]> {
  return (node as unknown as NodeInternals).pluginMetrics?.() ?? (Object.create(null) as Record<string, PluginMetric[]>);
}

/** Event-loop delay sampling for one process, reset at every read. */
export class EventLoopProbe {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  read(): ProcessDescription {
    const h = this.histogram;
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - 10) : 0);
    const lag = h.count === 0 ? { p50: 0, p99: 0, max: 0 } : { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
    const memory = process.memoryUsage();
    return {
      pid: process.pid,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      rssBytes: memory.rss,
      eventLoopLagMs: lag,
    };
  }

  stop(): void {
    this.histogram.disable();
  }
}

/** Describes a node for a dashboard. Pass a probe to include process figures. */
export function describeNode<T extends TopicMap>(node: SystemgeNode<T>, probe?: EventLoopProbe): NodeDescription {
  const internals = node as unknown as NodeInternals;
  return {
    name: node.name,
    status: node.status,
    uptimeMs: internals.uptimeMs ?? 0,
    address: node.address,
    commands: node.commandNames(),
    peers: node.peers(),
    topics: node.topics(),
    stats: node.stats,
    plugins: internals.pluginStats?.() ?? {},
    pluginMetrics: pluginMetricsOf(node),
    process: probe?.read(),
    timestamp: Date.now(),
  };
}

export interface DashboardLinkOptions {
  /** Dashboard's Systemge address. */
  host: string;
  port: number;
  /** Transport to reach it, e.g. `tcpTransport()` or `tlsTransport(...)`. */
  transport: Transport;
  /** Token the dashboard requires. Never logged. */
  token?: string;
  /** TLS server name of the dashboard. */
  serverName?: string;
  /** TLS CA certificate (PEM) of the dashboard. */
  ca?: string;
  /**
   * Send `token` over a transport that does not encrypt (anything but `tls` and `memory`) to a
   * host that is not loopback (127.0.0.0/8, ::1, localhost). Without it such a link is refused
   * with `SYSTEMGE_ERR_INSECURE_LINK`, since anyone on the path could read the token. Default false.
   */
  allowInsecure?: boolean;
  /** Delay before the second connection attempt, ms; attempts go on forever with backoff. Default 200. */
  initialDelayMs?: number;
  /** Cap on the delay between attempts, ms. Default 5000. */
  maxDelayMs?: number;
  /** Heartbeat interval / timeout of the link, ms. Defaults 2000 / 6000. */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  logger?: Logger;
}

/** A node's connection to a dashboard. It outlives the node's own stop/start, so a dashboard can start it again. */
export interface DashboardLink {
  /** True while connected to the dashboard. */
  readonly connected: boolean;
  /**
   * Resolves once connected (the link keeps retrying in the background until then). Rejects with
   * `SYSTEMGE_ERR_AUTH_FAILED` when the dashboard refuses the token: that refusal is final, the
   * link stops and is logged at error level.
   */
  ready(): Promise<void>;
  /** Closes the link. */
  close(): Promise<void>;
}

/**
 * A dashboard link would send its token unencrypted across the network: the transport does not
 * encrypt and the host is not loopback. Thrown by `connectDashboard` before anything is dialed.
 */
export class InsecureLinkError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INSECURE_LINK';
  readonly host: string;
  readonly transport: string;
  constructor(host: string, port: number, transport: string) {
    super(
      InsecureLinkError.code,
      `dashboard link to ${host}:${port} would send its token over the unencrypted "${transport}" transport to a non-loopback host: ` +
        'use a TLS transport (tlsTransport) or set allowInsecure: true',
    );
    this.host = host;
    this.transport = transport;
  }
}

/** Transports that do not put the token on a network in clear text. */
const ENCRYPTED_TRANSPORTS: ReadonlySet<string> = new Set(['tls', 'memory']);

/** True for hosts only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** The auth refusal in a connection failure (directly, or as the cause of a wrapping error). */
function authRefusal(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === AuthenticationError.code) return e as Error;
  }
  return undefined;
}

/**
 * Registers `node` with a dashboard over the Systemge protocol: the dashboard can describe it and
 * run its commands (including `stop` and `start`), and sees its status changes as they happen.
 * The link is its own small node with the same name; it does not listen and reconnects forever,
 * except after an auth refusal, which is final. Rejects with `SYSTEMGE_ERR_INSECURE_LINK` when a
 * token would cross the network unencrypted (see `allowInsecure`).
 */
export async function connectDashboard<T extends TopicMap = AnyTopics>(
  node: SystemgeNode<T>,
  options: DashboardLinkOptions,
): Promise<DashboardLink> {
  const transportName = String(options.transport?.name);
  if (
    options.token !== undefined &&
    options.allowInsecure !== true &&
    !ENCRYPTED_TRANSPORTS.has(transportName) &&
    !isLoopbackHost(String(options.host))
  ) {
    throw new InsecureLinkError(String(options.host), options.port, transportName);
  }
  const logger = options.logger ?? silentLogger;
  const probe = new EventLoopProbe();
  const link = createNode(
    {
      name: node.name,
      transport: options.transport,
      listen: false,
      connection: {
        maxAttempts: 0,
        initialDelayMs: options.initialDelayMs ?? 200,
        maxDelayMs: options.maxDelayMs ?? 5000,
      },
      heartbeat: { intervalMs: options.heartbeatIntervalMs ?? 2000, timeoutMs: options.heartbeatTimeoutMs ?? 6000 },
      auth: options.token === undefined ? undefined : { token: options.token },
    },
    {
      getSyncMessageHandlers: () => ({
        [DASHBOARD_DESCRIBE_TOPIC]: () => JSON.stringify(describeNode(node, probe)),
        [DASHBOARD_COMMAND_TOPIC]: (message) => answerCommandRequest(node, parseCommandRequest(String(message.payload))),
      }),
    },
    options.logger === undefined ? {} : { logger: options.logger },
  );
  const onStatus = (status: NodeStatus, previous: NodeStatus): void => {
    if (link.status !== 'started' || link.peers().length === 0) return;
    try {
      link.asyncMessage(DASHBOARD_STATUS_TOPIC, JSON.stringify({ name: node.name, status, previous }));
    } catch {
      // The dashboard re-reads the status on its next describe.
    }
  };
  node.on('status', onStatus);
  let closed = false;
  let refused: Error | undefined;
  // An auth refusal will not change by retrying: stop the link, so `connect` below settles.
  link.on('connect:failed', (_endpoint, attempt, error) => {
    const refusal = authRefusal(error);
    if (refusal === undefined || closed || refused !== undefined) return;
    refused = refusal;
    logger.error(
      { node: node.name, dashboard: `${options.host}:${options.port}`, attempt, code: (refusal as { code?: string }).code },
      'dashboard refused the link token; not retrying',
    );
    link.stop('dashboard refused the token').catch(() => {});
  });
  await link.start();
  const connecting = link
    .connect({ host: options.host, port: options.port, serverName: options.serverName, ca: options.ca })
    .then(
      () => undefined,
      (error: unknown) => {
        if (refused !== undefined) throw refused;
        const refusal = authRefusal(error);
        if (refusal !== undefined && !closed) {
          refused = refusal;
          logger.error({ node: node.name, dashboard: `${options.host}:${options.port}` }, 'dashboard refused the link token; not retrying');
          throw refusal;
        }
        if (!closed) throw error;
      },
    );
  connecting.catch(() => {});
  return {
    get connected() {
      return link.peers().length > 0;
    },
    ready: () => connecting,
    close: async () => {
      closed = true;
      node.off('status', onStatus);
      probe.stop();
      await link.stop('dashboard link closed');
    },
  };
}
