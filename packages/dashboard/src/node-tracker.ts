import type { NodeMetrics } from '@systemge/metrics';
import {
  DASHBOARD_DESCRIBE_TOPIC,
  type Logger,
  type NodeDescription,
  type NodeStatus,
  type PeerInfo,
  type ProcessDescription,
  type SystemgeNode,
  type TopicMap,
} from '@systemge/node';
import { DuplicateNodeError, UnknownNodeError } from './errors.js';
import type { LiveFeed } from './live-feed.js';
import { LocalNode, RemoteNode, type DashboardNodeStatus, type TrackedNode } from './tracked-node.js';
import type { DashboardNodeSummary, TopologyEdge } from './views.js';

const NODE_STATUSES: readonly string[] = ['stopped', 'starting', 'started', 'stopping'];

/** What the tracker needs from the dashboard around it. */
export interface NodeTrackerHost {
  readonly logger: Logger;
  readonly feed: LiveFeed;
  /** The dashboard's own Systemge node, when it accepts remote nodes. */
  readonly internal: SystemgeNode | undefined;
  /** The latest reading of this process (CPU, memory, event loop), shown for local nodes. */
  readonly processReading: ProcessDescription | undefined;
  /** Timeouts of remote nodes' describe and command requests, ms. */
  readonly remoteTimeouts: { describeTimeoutMs: number; commandTimeoutMs: number };
  /** The one metrics collector behind `/metrics`: every node is a reader with its `node` label. */
  readonly metrics: NodeMetrics;
}

/**
 * The nodes the dashboard shows: local ones (`addNode`) and remote ones (dashboard links), their status,
 * descriptions and metrics summaries, and the topology between them. Changes are pushed to the live feed.
 */
export class NodeTracker {
  private readonly tracked = new Map<string, TrackedNode>();
  private readonly detach = new Map<TrackedNode, () => void>();
  private topologyKey = '';
  private edges: TopologyEdge[] = [];

  constructor(private readonly host: NodeTrackerHost) {}

  private get logger(): Logger {
    return this.host.logger;
  }

  private get feed(): LiveFeed {
    return this.host.feed;
  }

  private get internal(): SystemgeNode | undefined {
    return this.host.internal;
  }

  get size(): number {
    return this.tracked.size;
  }

  /** Every tracked node, in the order they appeared. */
  values(): TrackedNode[] {
    return [...this.tracked.values()];
  }

  addNode<T extends TopicMap>(added: SystemgeNode<T>): void {
    // Topic typing does not matter here; the dashboard only describes and commands the node.
    const node = added as unknown as SystemgeNode;
    if (this.tracked.has(node.name)) throw new DuplicateNodeError(node.name);
    const local = new LocalNode(node, () => this.host.processReading);
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
    this.track(local);
    this.nodesChanged();
  }

  removeNode(name: string): boolean {
    const node = this.tracked.get(name);
    if (node === undefined) return false;
    this.tracked.delete(name);
    this.host.metrics.remove(name);
    this.detach.get(node)?.();
    this.detach.delete(node);
    this.nodesChanged();
    return true;
  }

  nodes(): DashboardNodeSummary[] {
    return [...this.tracked.values()].map((t) => this.summaryOf(t, t.kind === 'local' ? undefined : t.description));
  }

  get(name: string): TrackedNode {
    const node = this.tracked.get(name);
    if (node === undefined) throw new UnknownNodeError(name, [...this.tracked.keys()]);
    return node;
  }

  summaryOf(t: TrackedNode, known: NodeDescription | undefined): DashboardNodeSummary {
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

  topology(): TopologyEdge[] {
    return this.edges;
  }

  private track(t: TrackedNode): void {
    this.tracked.set(t.name, t);
    this.host.metrics.addReader(t.name, () => (this.tracked.get(t.name) === t && t.status !== 'disconnected' ? t.reading() : undefined));
  }

  /** Detaches from every local node (the dashboard stops; the nodes keep running). */
  dispose(): void {
    for (const detach of this.detach.values()) detach();
    this.detach.clear();
    for (const name of this.tracked.keys()) this.host.metrics.remove(name);
  }

  // ------------------------------------------------------------ remote links

  async onLinkUp(peer: PeerInfo): Promise<void> {
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
      remote = new RemoteNode(peer.name, this.internal!, this.host.remoteTimeouts);
      this.track(remote);
    }
    this.logger.info({ node: peer.name, remote: `${peer.remoteAddress}:${peer.remotePort}` }, 'remote node linked');
    await this.refresh(remote, false);
    if (existing === undefined) this.nodesChanged();
    this.updateTopology();
  }

  onLinkDown(peer: PeerInfo): void {
    const remote = this.tracked.get(peer.name);
    if (!(remote instanceof RemoteNode)) return;
    // A refused second link with the same name must not mark the live one as gone.
    if (this.internal?.peers().some((p) => p.name === peer.name)) return;
    remote.linked = false;
    this.logger.info({ node: peer.name }, 'remote node link lost');
    this.setStatus(remote, 'disconnected');
    this.updateTopology();
  }

  onRemoteStatus(origin: string, payload: unknown): void {
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
    t.summarize();
    const d = t.description;
    if (d === undefined || t.summary === undefined) return;
    const { uptimeMs, address, pid, connections } = this.summaryOf(t, d);
    this.feed.broadcast({
      type: 'metrics',
      name: t.name,
      timestamp: d.timestamp,
      uptimeMs,
      address,
      pid,
      connections,
      summary: t.summary,
      stats: d.stats,
      plugins: d.pluginMetrics ?? {},
    });
  }

  /** Describes every node and pushes its metrics (the metrics interval). */
  async refreshAll(): Promise<void> {
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
