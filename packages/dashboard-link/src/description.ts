import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { DiscoveryState, NodeStats, NodeStatus, PeerInfo, PluginMetric, SystemgeNode, TopicMap } from '@systemge/node';

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
  /** What the node knows through its discovery (`node.discoveryState()`); null without discovery. */
  discovery: DiscoveryState | null;
  /** When the description was taken, epoch ms. */
  timestamp: number;
}

/** The labelled samples of a node's plugins (`NodePlugin.getMetrics()`), by plugin name. */
export function pluginMetricsOf<T extends TopicMap>(node: SystemgeNode<T>): Record<string, PluginMetric[]> {
  return node.pluginMetrics();
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
  return {
    name: node.name,
    status: node.status,
    uptimeMs: node.uptimeMs,
    address: node.address,
    commands: node.commandNames(),
    peers: node.peers(),
    topics: node.topics(),
    stats: node.stats,
    plugins: node.pluginStats(),
    pluginMetrics: pluginMetricsOf(node),
    process: probe?.read(),
    discovery: node.discoveryState() ?? null,
    timestamp: Date.now(),
  };
}
