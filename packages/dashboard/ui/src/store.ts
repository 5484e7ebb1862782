import type {
  Address,
  DiscoveryState,
  Edge,
  FeedMessage,
  MetricsSummary,
  NodeStats,
  NodeStatus,
  NodeSummary,
  PluginMetric,
} from './messages.js';

/** One node as the page knows it. */
export interface NodeView {
  name: string;
  kind: 'local' | 'remote';
  status: NodeStatus;
  address: Address | null;
  /** Uptime as last reported, and when (page clock): the list adds the time since. */
  uptimeMs: number;
  uptimeAt: number;
  pid: number | null;
  connections: number;
  metrics: MetricsSummary | null;
  /** Every counter, from the latest metrics message. */
  stats: NodeStats | null;
  plugins: Record<string, PluginMetric[]>;
  /** What the node knows through its discovery; null without discovery. */
  discovery: DiscoveryState | null;
}

export type StoreChange =
  | { kind: 'nodes' }
  | { kind: 'status'; name: string; status: NodeStatus; previous: NodeStatus }
  | { kind: 'metrics'; name: string; timestamp: number; summary: MetricsSummary }
  | { kind: 'topology' };

/** What the feed has said so far: the nodes, their latest figures, and the edges between them. */
export class Store {
  readonly nodes = new Map<string, NodeView>();
  edges: Edge[] = [];
  /** Members a node knows through discovery without a connection: `from` knows `to`. */
  discovered: Edge[] = [];
  /** Set once the first node list has arrived. */
  loaded = false;
  private readonly listeners = new Set<(change: StoreChange) => void>();

  subscribe(listener: (change: StoreChange) => void): void {
    this.listeners.add(listener);
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Nodes in the order the dashboard lists them. */
  list(): NodeView[] {
    return [...this.nodes.values()];
  }

  apply(message: FeedMessage): void {
    const now = performance.now();
    switch (message.type) {
      case 'nodes': {
        const before = new Map(this.nodes);
        this.nodes.clear();
        for (const n of message.nodes) {
          const view = fromSummary(n, now);
          const known = before.get(n.name);
          if (known !== undefined) {
            view.stats = known.stats;
            view.plugins = known.plugins;
          }
          this.nodes.set(n.name, view);
        }
        this.loaded = true;
        this.emit({ kind: 'nodes' });
        return;
      }
      case 'topology':
        this.edges = message.edges;
        this.discovered = message.discovered ?? [];
        this.emit({ kind: 'topology' });
        return;
      case 'status': {
        const node = this.nodes.get(message.name);
        if (node === undefined) return;
        node.status = message.status;
        if (message.status !== 'started') node.connections = 0;
        if (message.status === 'started' || message.status === 'starting') {
          node.uptimeMs = 0;
          node.uptimeAt = now;
        }
        this.emit({ kind: 'status', name: message.name, status: message.status, previous: message.previous });
        return;
      }
      case 'metrics': {
        const node = this.nodes.get(message.name);
        if (node === undefined) return;
        node.metrics = message.summary;
        if (message.stats !== undefined) node.stats = message.stats;
        if (message.plugins !== undefined) node.plugins = message.plugins;
        if (message.uptimeMs !== undefined) {
          node.uptimeMs = message.uptimeMs;
          node.uptimeAt = now;
        }
        if (message.address !== undefined) node.address = message.address;
        if (message.pid !== undefined) node.pid = message.pid;
        if (message.connections !== undefined) node.connections = message.connections;
        this.emit({ kind: 'metrics', name: message.name, timestamp: message.timestamp, summary: message.summary });
        return;
      }
      default:
        return;
    }
  }
}

function fromSummary(n: NodeSummary, now: number): NodeView {
  return {
    name: n.name,
    kind: n.kind,
    status: n.status,
    address: n.address,
    uptimeMs: n.uptimeMs,
    uptimeAt: now,
    pid: n.pid,
    connections: n.connections,
    metrics: n.metrics,
    stats: null,
    plugins: {},
    discovery: n.discovery ?? null,
  };
}

/** Uptime now, counting on from the last report while the node runs. */
export function currentUptime(node: NodeView): number | undefined {
  if (node.status !== 'started') return undefined;
  return node.uptimeMs + (performance.now() - node.uptimeAt);
}
