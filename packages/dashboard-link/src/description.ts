import type {
  DiscoveryState,
  EventLoopProbe,
  NodeStats,
  NodeStatus,
  PeerInfo,
  PluginMetric,
  ProcessDescription,
  SystemgeNode,
  TopicMap,
} from '@systemge/node';

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
