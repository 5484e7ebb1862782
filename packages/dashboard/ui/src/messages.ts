/** Shapes of the dashboard's `/ws` feed and JSON API, as the page reads them. */

export type NodeStatus = 'stopped' | 'starting' | 'started' | 'stopping' | 'disconnected';

export interface Address {
  host: string;
  port: number;
}

/** The condensed metrics of one interval (`NodeMetricsSummary` of the server). */
export interface MetricsSummary {
  /** Totals since the node started counting. */
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  syncRequestsServed: number;
  syncRequestsFailed: number;
  messagesSentPerSecond: number;
  messagesReceivedPerSecond: number;
  bytesSentPerSecond: number;
  bytesReceivedPerSecond: number;
  syncRequestsSentPerSecond?: number;
  syncRequestsReceivedPerSecond?: number;
  connectionsIn: number;
  connectionsOut: number;
  rejectedPerSecond: number;
  syncLatencyP50Ms: number | null;
  syncLatencyP99Ms: number | null;
  heapUsedBytes: number | null;
  rssBytes: number | null;
  eventLoopLagP99Ms: number | null;
}

/** What a node knows through its discovery (`node.discoveryState()` of the server). */
export interface DiscoveryState {
  kind: string;
  members: { id: string; name: string | null; host: string; port: number }[];
  memberCount: number;
  degraded: boolean;
  degradedReason: string | null;
  skipped: { total: number; byReason: Record<string, number> };
  changedAt: number | null;
}

export interface NodeSummary {
  name: string;
  kind: 'local' | 'remote';
  status: NodeStatus;
  address: Address | null;
  uptimeMs: number;
  pid: number | null;
  connections: number;
  metrics: MetricsSummary | null;
  /** Null for a node without discovery (and from dashboards before discovery). */
  discovery?: DiscoveryState | null;
}

/** A node's counters (`NodeStats` of the server): numbers, the latency histogram and per-topic counts. */
export type NodeStats = Record<string, number | number[] | Record<string, { received: number; sent: number }>>;

export interface PluginMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: Record<string, string>;
  value: number;
}

export interface Edge {
  from: string;
  to: string;
}

export type FeedMessage =
  | { type: 'nodes'; nodes: NodeSummary[] }
  /** `discovered`: `from`'s discovery lists `to`, and the two are not connected. */
  | { type: 'topology'; edges: Edge[]; discovered?: Edge[] }
  | { type: 'status'; name: string; status: NodeStatus; previous: NodeStatus }
  | {
      type: 'metrics';
      name: string;
      timestamp: number;
      uptimeMs?: number;
      address?: Address | null;
      pid?: number | null;
      connections?: number;
      summary: MetricsSummary;
      /** Every counter of the node (`NodeStats`), as the node reported it. */
      stats?: NodeStats;
      /** Labelled samples of the node's plugins, by plugin name. */
      plugins?: Record<string, PluginMetric[]>;
    }
  | { type: 'command'; id?: unknown; name: string; command: string; result?: unknown; error?: string; code?: string }
  | { type: 'error'; id?: unknown; error: string; code: string };
