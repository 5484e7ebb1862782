import type { PeerInfo, NodeStats, PluginMetric, ProcessDescription } from '@systemge/node';
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
