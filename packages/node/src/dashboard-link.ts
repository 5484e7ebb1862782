import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Transport } from '@systemge/protocol';
import type { AnyTopics, TopicMap } from './components.js';
import type { Logger } from './logger.js';
import { createNode } from './node.js';
import type { NodeStatus, PeerInfo, SystemgeNode } from './node-types.js';
import type { NodeStats } from './stats.js';

/** Sync topic a dashboard calls to read a node's description (payload ''). */
export const DASHBOARD_DESCRIBE_TOPIC = 'systemge.dashboard.describe';
/** Sync topic a dashboard calls to run a command (payload: JSON `{ command, args }`). */
export const DASHBOARD_COMMAND_TOPIC = 'systemge.dashboard.command';
/** Async topic a node sends its status changes on (payload: JSON `{ name, status, previous }`). */
export const DASHBOARD_STATUS_TOPIC = 'systemge.dashboard.status';

/** The failure text of a DASHBOARD_COMMAND_TOPIC request: JSON of this shape. */
export interface CommandFailure {
  code: string | undefined;
  message: string;
  /** The node's commands, when the command was unknown. */
  available: string[] | undefined;
}

/** Reads a command failure text; plain text (from older links) becomes a message without a code. */
export function parseCommandFailure(text: string): CommandFailure {
  try {
    const value = JSON.parse(text) as Partial<CommandFailure>;
    if (typeof value === 'object' && value !== null && typeof value.message === 'string') {
      return {
        code: typeof value.code === 'string' ? value.code : undefined,
        message: value.message,
        available: Array.isArray(value.available) ? value.available.map(String) : undefined,
      };
    }
  } catch {
    // Not JSON: keep the text.
  }
  return { code: undefined, message: text, available: undefined };
}

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
  /** Counters of the node's plugins (HTTP, WebSocket...), by plugin name. */
  plugins: Record<string, Record<string, number>>;
  process: ProcessDescription | undefined;
  /** When the description was taken, epoch ms. */
  timestamp: number;
}

interface NodeInternals {
  uptimeMs?: number;
  pluginStats?(): Record<string, Record<string, number>>;
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
  /** Resolves once connected (the link keeps retrying in the background until then). */
  ready(): Promise<void>;
  /** Closes the link. */
  close(): Promise<void>;
}

/**
 * Registers `node` with a dashboard over the Systemge protocol: the dashboard can describe it and
 * run its commands (including `stop` and `start`), and sees its status changes as they happen.
 * The link is its own small node with the same name; it does not listen and reconnects forever.
 */
export async function connectDashboard<T extends TopicMap = AnyTopics>(
  node: SystemgeNode<T>,
  options: DashboardLinkOptions,
): Promise<DashboardLink> {
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
        [DASHBOARD_COMMAND_TOPIC]: async (message) => {
          const request = JSON.parse(String(message.payload)) as { command?: unknown; args?: unknown };
          if (typeof request.command !== 'string') throw new Error('command must be a string');
          const args = Array.isArray(request.args) ? request.args.map(String) : [];
          try {
            return await node.command(request.command, args);
          } catch (error) {
            // The failure text is JSON so the dashboard gets the code (and, for an unknown command, the list).
            const e = error as { code?: unknown; message?: unknown; available?: unknown };
            throw new Error(
              JSON.stringify({
                code: typeof e.code === 'string' ? e.code : undefined,
                message: typeof e.message === 'string' ? e.message : String(error),
                available: Array.isArray(e.available) ? e.available : undefined,
              } satisfies CommandFailure),
            );
          }
        },
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
  await link.start();
  let closed = false;
  const connecting = link
    .connect({ host: options.host, port: options.port, serverName: options.serverName, ca: options.ca })
    .then(
      () => undefined,
      (error: unknown) => {
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
