import type { ProcessDescription } from '@systemge/dashboard-link';
import type { DiscoveryState, NodeStats, PeerInfo, PluginMetric } from '@systemge/node';
import type { NodeMetricsSummary } from './summary.js';
import type { DashboardNodeStatus } from './tracked-node.js';

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
  /**
   * What the node knows through its discovery (`node.discoveryState()`: `kind`, `members`, `memberCount`,
   * `degraded`, `degradedReason`, `skipped`, `changedAt`); null for a node without discovery.
   */
  discovery: DiscoveryState | null;
}

/** One node in full. */
export interface DashboardNodeDetails extends DashboardNodeSummary {
  peers: PeerInfo[];
  topics: { asyncTopics: string[]; syncTopics: string[] };
  commands: string[];
  stats: NodeStats | null;
  plugins: Record<string, Record<string, number>>;
  /** Labelled samples of the node's plugins (`getMetrics()`), by plugin name. */
  pluginMetrics: Record<string, PluginMetric[]>;
  process: ProcessDescription | null;
}

/** A connection between two nodes: `from` dialed `to`. */
export interface TopologyEdge {
  from: string;
  to: string;
}

/**
 * A member `from`'s discovery lists while the two are not connected (yet, or not by its `connectTo`
 * policy): `to` is the member's name, or `host:port` when the backend gives only an address (DNS).
 */
export interface DiscoveredLink {
  from: string;
  to: string;
}

/** Who is connected to whom, and who knows of whom through discovery without a connection. */
export interface Topology {
  edges: TopologyEdge[];
  discovered: DiscoveredLink[];
}
