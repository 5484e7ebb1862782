import { DASHBOARD_DESCRIBE_TOPIC, type NodeDescription, type ProcessDescription } from '@systemge/dashboard-link';
import type { NodeMetrics } from '@systemge/metrics';
import type { DiscoveryState, Logger, NodeStatus, PeerInfo, SystemgeNode, TopicMap } from '@systemge/node';
import { DuplicateNodeError, UnknownNodeError } from './errors.js';
import type { LiveFeed } from './live-feed.js';
import { LocalNode, RemoteNode, type DashboardNodeStatus, type TrackedNode } from './tracked-node.js';
import type { DashboardNodeSummary, DiscoveredLink, Topology, TopologyEdge } from './views.js';

/** Peer and membership events of local nodes within this long go out as one update, ms. */
const LOCAL_UPDATE_DELAY_MS = 20;

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
  private topologyKey = JSON.stringify({ edges: [], discovered: [] });
  private current: Topology = { edges: [], discovered: [] };
  /** What the last `nodes` message said about each node's status, peers and discovery. */
  private listKey = '';
  private updateTimer: NodeJS.Timeout | undefined;

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
    const onChange = (): void => this.scheduleUpdate();
    node.on('status', onStatus);
    node.on('peer:connected', onChange);
    node.on('peer:disconnected', onChange);
    node.on('discovery:changed', onChange);
    this.detach.set(local, () => {
      node.off('status', onStatus);
      node.off('peer:connected', onChange);
      node.off('peer:disconnected', onChange);
      node.off('discovery:changed', onChange);
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
      discovery: live ? this.discoveryOf(t, d) : (d?.discovery ?? null),
    };
  }

  /** The node's discovery state: read live from a local node, from the latest description of a remote one. */
  private discoveryOf(t: TrackedNode, d: NodeDescription | undefined): DiscoveryState | null {
    if (t instanceof LocalNode) return t.node.discoveryState() ?? null;
    return d?.discovery ?? null;
  }

  topology(): Topology {
    return this.current;
  }

  private track(t: TrackedNode): void {
    this.tracked.set(t.name, t);
    this.host.metrics.addReader(t.name, () => (this.tracked.get(t.name) === t && t.status !== 'disconnected' ? t.reading() : undefined));
  }

  /** Detaches from every local node (the dashboard stops; the nodes keep running). */
  dispose(): void {
    clearTimeout(this.updateTimer);
    this.updateTimer = undefined;
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

  /** A description a remote node's link pushed because its peers or its membership changed. */
  onRemoteUpdate(origin: string, payload: unknown): void {
    const remote = this.tracked.get(origin);
    if (!(remote instanceof RemoteNode) || !remote.linked) return;
    let d: NodeDescription;
    try {
      d = JSON.parse(String(payload)) as NodeDescription;
    } catch {
      this.logger.debug({ node: origin }, 'malformed update message ignored');
      return;
    }
    if (typeof d !== 'object' || d === null || d.name !== origin || !Array.isArray(d.peers) || typeof d.timestamp !== 'number') {
      this.logger.debug({ node: origin }, 'update message of the wrong shape ignored');
      return;
    }
    const previous = remote.description;
    // A describe answered after this update was taken already holds newer figures.
    if (previous !== undefined && previous.timestamp > d.timestamp) return;
    // The update leaves out process figures: the latest ones stay until the next describe.
    remote.description = { ...d, process: d.process ?? previous?.process, discovery: d.discovery ?? null };
    if (NODE_STATUSES.includes(d.status)) this.setStatus(remote, d.status);
    this.scheduleUpdate();
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
    const nodes = this.nodes();
    this.listKey = listKeyOf(nodes);
    this.feed.broadcast({ type: 'nodes', nodes });
    this.updateTopology();
  }

  /** Pushes the node list again when a node's status, peers or discovery changed since the last one. */
  private updateList(): void {
    const nodes = this.nodes();
    const key = listKeyOf(nodes);
    if (key === this.listKey) return;
    this.listKey = key;
    this.feed.broadcast({ type: 'nodes', nodes });
  }

  /** Peers or membership changed: the list and the topology follow shortly (one update per burst). */
  private scheduleUpdate(): void {
    if (this.updateTimer !== undefined) return;
    this.updateTimer = setTimeout(() => {
      this.updateTimer = undefined;
      this.updateList();
      this.updateTopology();
    }, LOCAL_UPDATE_DELAY_MS);
  }

  private async refresh(t: TrackedNode, snapshot: boolean): Promise<void> {
    if (t.refreshing) return;
    if (t.reachable) {
      t.refreshing = true;
      try {
        const d = await t.describe();
        // An update pushed while the describe was under way may be newer.
        if (t.description === undefined || t.description.timestamp <= d.timestamp) t.description = d;
        if (t.reachable) this.setStatus(t, d.status);
      } catch (error) {
        this.logger.debug({ node: t.name, err: error }, 'describe failed');
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
    this.updateList();
    this.updateTopology();
  }

  /** Recomputes who is connected to whom (and who knows of whom through discovery) and pushes it when it changed. */
  private updateTopology(): void {
    const keys = new Set<string>();
    /** Per node, the `host:port` its connected peers listen on or were dialed at (DNS members are known by address). */
    const reached = new Map<string, Set<string>>();
    const live = [...this.tracked.values()].filter((t) => t.status !== 'disconnected');
    for (const t of live) {
      const peers = t instanceof LocalNode ? t.node.peers() : (t.description?.peers ?? []);
      const addresses = new Set<string>();
      reached.set(t.name, addresses);
      for (const p of peers) {
        if (p.name === '') continue;
        const [from, to] = p.direction === 'out' ? [t.name, p.name] : [p.name, t.name];
        keys.add(`${from}\u0000${to}`);
        const listen = p.info?.['listen'];
        if (typeof listen === 'string') addresses.add(listen);
        if (p.direction === 'out') addresses.add(`${p.remoteAddress}:${p.remotePort}`);
      }
    }
    const discovered = new Set<string>();
    for (const t of live) {
      const members = this.discoveryOf(t, t.description)?.members ?? [];
      const addresses = reached.get(t.name);
      for (const m of members) {
        const to = m.name ?? m.id;
        if (to === t.name || keys.has(`${t.name}\u0000${to}`) || keys.has(`${to}\u0000${t.name}`)) continue;
        if (m.name === null && addresses?.has(`${m.host}:${m.port}`)) continue;
        discovered.add(`${t.name}\u0000${to}`);
      }
    }
    const sorted = (set: Set<string>): { from: string; to: string }[] =>
      [...set].sort().map((k) => {
        const [from, to] = k.split('\u0000') as [string, string];
        return { from, to };
      });
    const next: Topology = { edges: sorted(keys) as TopologyEdge[], discovered: sorted(discovered) as DiscoveredLink[] };
    const key = JSON.stringify(next);
    if (key === this.topologyKey) return;
    this.topologyKey = key;
    this.current = next;
    this.feed.broadcast({ type: 'topology', ...next });
  }
}

/** The parts of the node list that change between metrics ticks: status, peers, address and discovery. */
function listKeyOf(nodes: DashboardNodeSummary[]): string {
  return JSON.stringify(nodes.map((n) => [n.name, n.status, n.connections, n.address, n.discovery]));
}
