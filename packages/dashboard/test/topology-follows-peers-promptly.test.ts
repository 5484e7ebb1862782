import {
  connectDashboard,
  DASHBOARD_DESCRIBE_TOPIC,
  DASHBOARD_STATUS_TOPIC,
  DASHBOARD_UPDATE_TOPIC,
  describeNode,
} from '@systemge/dashboard-link';
import { DiscoveryUnavailableError, manualDiscovery, type NodeOptions, type PeerInfo, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import type { Dashboard, DashboardNodeSummary, Topology } from '../src/index.js';
import { type FeedClient, type FeedMessage, onCleanup, openFeed, startDashboard, startNode, until } from './helpers.js';

/** The metrics interval (the describe refresh) is far longer than any wait below: only a push can pass these tests. */
const REFRESH_MS = 120_000;
const PROMPT_MS = 10_000;

async function dashboardWithFeed(): Promise<{ dashboard: Dashboard; feed: FeedClient }> {
  const dashboard = await startDashboard({ metricsIntervalMs: REFRESH_MS, systemge: { transport: tcpTransport() } });
  const feed = await openFeed(dashboard);
  return { dashboard, feed };
}

/** A node on 127.0.0.1:0 linked to the dashboard through `connectDashboard`; shown once its link is up. */
async function linkedNode(dashboard: Dashboard, name: string, options?: NodeOptions): Promise<SystemgeNode> {
  const node = await startNode({ name, listen: { host: '127.0.0.1', port: 0 } }, {}, options);
  const link = await connectDashboard(node, { ...dashboard.systemgeAddress!, transport: tcpTransport(), updateDelayMs: 20 });
  onCleanup(() => link.close());
  await link.ready();
  await until(() => dashboard.nodes().some((n) => n.name === name && n.status === 'started'), PROMPT_MS, `${name} shown`);
  return node;
}

async function topology(dashboard: Dashboard): Promise<Topology> {
  return (await dashboard.inject('/api/topology')).json() as Topology;
}

async function listed(dashboard: Dashboard, name: string): Promise<DashboardNodeSummary | undefined> {
  const { nodes } = (await dashboard.inject('/api/nodes')).json() as { nodes: DashboardNodeSummary[] };
  return nodes.find((n) => n.name === name);
}

const hasEdge = (edges: { from: string; to: string }[], from: string, to: string): boolean =>
  edges.some((e) => e.from === from && e.to === to);
const topologyWith =
  (pred: (m: FeedMessage) => boolean) =>
  (m: FeedMessage): boolean =>
    m.type === 'topology' && pred(m);

describe('the topology follows peers and membership as they change, not at the next refresh', () => {
  it('a peer connecting to a remote node shows in /api/topology and in a /ws topology message at once; leaving removes the edge', async () => {
    const { dashboard, feed } = await dashboardWithFeed();
    const alpha = await linkedNode(dashboard, 'alpha');
    const beta = await linkedNode(dashboard, 'beta');
    expect((await topology(dashboard)).edges).toEqual([]);

    const since = feed.messages.length;
    const started = performance.now();
    await beta.connect({ host: '127.0.0.1', port: alpha.address!.port });
    const connected = performance.now();
    await feed.next(
      topologyWith((m) => hasEdge(m['edges'] as { from: string; to: string }[], 'beta', 'alpha')),
      PROMPT_MS,
      'topology message with beta → alpha',
      since,
    );
    const shown = performance.now();
    expect(hasEdge((await topology(dashboard)).edges, 'beta', 'alpha')).toBe(true);
    expect(shown - started).toBeLessThan(REFRESH_MS);
    console.log(
      `dashboard topology: beta → alpha on /ws ${(shown - connected).toFixed(0)} ms after connect() resolved ` +
        `(${(shown - started).toFixed(0)} ms after it was called; refresh interval ${REFRESH_MS} ms)`,
    );
    // The peer count in the list follows too (the link is a connection of its own, not one of alpha's).
    await until(async () => (await listed(dashboard, 'alpha'))?.connections === 1, PROMPT_MS, 'alpha with one connection');

    const before = feed.messages.length;
    await beta.disconnect('alpha');
    await feed.next(
      topologyWith((m) => (m['edges'] as unknown[]).length === 0),
      PROMPT_MS,
      'topology message without beta → alpha',
      before,
    );
    expect((await topology(dashboard)).edges).toEqual([]);
  });

  it('a local node connecting to a peer shows at once', async () => {
    const { dashboard, feed } = await dashboardWithFeed();
    const alpha = await linkedNode(dashboard, 'alpha');
    const local = await startNode({ name: 'local', listen: false });
    dashboard.addNode(local);
    const since = feed.messages.length;
    await local.connect({ host: '127.0.0.1', port: alpha.address!.port });
    await feed.next(
      topologyWith((m) => hasEdge(m['edges'] as { from: string; to: string }[], 'local', 'alpha')),
      PROMPT_MS,
      'topology message with local → alpha',
      since,
    );
    expect(hasEdge((await topology(dashboard)).edges, 'local', 'alpha')).toBe(true);
  });

  it('members known through discovery without a connection, and the degraded state, show at once for remote and local nodes', async () => {
    const { dashboard, feed } = await dashboardWithFeed();
    const remote = manualDiscovery();
    const local = manualDiscovery();
    // `uses` a topic nobody serves: the members are known, never dialed.
    await linkedNode(dashboard, 'alpha', { discovery: { source: remote, connectTo: { uses: ['nothing'] } } });
    const gamma = await startNode(
      { name: 'gamma', listen: { host: '127.0.0.1', port: 0 } },
      {},
      { discovery: { source: local, connectTo: { uses: ['nothing'] } } },
    );
    dashboard.addNode(gamma);

    const since = feed.messages.length;
    remote.join({ name: 'orders', host: '127.0.0.1', port: 1, topics: ['order'] });
    local.join({ name: 'alpha', host: '127.0.0.1', port: 2, topics: [] });
    await feed.next(
      topologyWith((m) => {
        const discovered = m['discovered'] as { from: string; to: string }[];
        return hasEdge(discovered, 'alpha', 'orders') && hasEdge(discovered, 'gamma', 'alpha');
      }),
      PROMPT_MS,
      'topology message with the discovered members',
      since,
    );
    expect((await topology(dashboard)).discovered).toEqual([
      { from: 'alpha', to: 'orders' },
      { from: 'gamma', to: 'alpha' },
    ]);
    await until(async () => (await listed(dashboard, 'alpha'))?.discovery?.memberCount === 1, PROMPT_MS, 'alpha discovery in /api/nodes');
    expect((await listed(dashboard, 'alpha'))?.discovery).toMatchObject({
      kind: 'manual',
      members: [{ id: 'orders', name: 'orders', host: '127.0.0.1', port: 1 }],
      degraded: false,
    });
    expect((await listed(dashboard, 'gamma'))?.discovery).toMatchObject({ kind: 'manual', memberCount: 1, degraded: false });

    const beforeDegraded = feed.messages.length;
    // An etcd outage, as etcdDiscovery reports it.
    const outage = new DiscoveryUnavailableError('etcd', 'http://127.0.0.1:9', 'connection refused');
    remote.degrade(outage);
    local.degrade(outage);
    const nodes = await feed.next(
      (m) => m.type === 'nodes' && (m['nodes'] as DashboardNodeSummary[]).filter((n) => n.discovery?.degraded === true).length === 2,
      PROMPT_MS,
      'nodes message with both discoveries degraded',
      beforeDegraded,
    );
    expect((nodes['nodes'] as DashboardNodeSummary[]).find((n) => n.name === 'alpha')?.discovery?.degradedReason).toBe(
      'etcd discovery at http://127.0.0.1:9 unavailable: connection refused',
    );
    expect((await listed(dashboard, 'gamma'))?.discovery).toMatchObject({
      degraded: true,
      degradedReason: 'etcd discovery at http://127.0.0.1:9 unavailable: connection refused',
    });

    // A member that left disappears from the topology.
    const beforeLeft = feed.messages.length;
    remote.leave('orders');
    await feed.next(
      topologyWith((m) => !(m['discovered'] as { from: string; to: string }[]).some((e) => e.to === 'orders')),
      PROMPT_MS,
      'topology message without orders',
      beforeLeft,
    );
    expect((await topology(dashboard)).discovered).toEqual([{ from: 'gamma', to: 'alpha' }]);
  });

  it('ignores a pushed update that is not JSON, names another node or is older than what the dashboard holds', async () => {
    const { dashboard } = await dashboardWithFeed();
    // A hand-made link: answers describe like connectDashboard, and pushes what the test gives it.
    const fake: SystemgeNode = await startNode(
      { name: 'alpha', listen: false },
      { getSyncMessageHandlers: () => ({ [DASHBOARD_DESCRIBE_TOPIC]: () => JSON.stringify(describeNode(fake)) }) },
    );
    await fake.connect(dashboard.systemgeAddress!);
    await until(() => dashboard.nodes().some((n) => n.name === 'alpha' && n.status === 'started'), PROMPT_MS, 'alpha shown');
    const peer = (name: string): PeerInfo => ({
      name,
      direction: 'out',
      transport: 'tcp',
      remoteAddress: '127.0.0.1',
      remotePort: 1,
      asyncTopics: [],
      syncTopics: [],
      encodings: ['text', 'bytes', 'msgpack'],
      connectedAt: 0,
      bytesIn: 0,
      bytesOut: 0,
      bufferedBytes: 0,
      framesIn: 0,
      framesOut: 0,
    });
    const push = (payload: string): boolean => fake.asyncMessage(DASHBOARD_UPDATE_TOPIC, payload);
    push(JSON.stringify({ ...describeNode(fake), timestamp: Date.now() + 1000, peers: [peer('zeta')] }));
    await until(async () => (await topology(dashboard)).edges.some((e) => e.to === 'zeta'), PROMPT_MS, 'the valid update');

    push('not json');
    push(JSON.stringify({ ...describeNode(fake), name: 'other', timestamp: Date.now() + 2000, peers: [peer('from-other')] }));
    push(JSON.stringify({ ...describeNode(fake), timestamp: Date.now() + 2000, peers: 'not a list' }));
    push(JSON.stringify({ ...describeNode(fake), timestamp: 0, peers: [peer('stale')] }));
    // Messages of one connection are handled in order, and a status change redraws the topology at once:
    // once `stopped` shows, the updates before it were taken or turned away.
    fake.asyncMessage(DASHBOARD_STATUS_TOPIC, JSON.stringify({ name: 'alpha', status: 'stopped', previous: 'started' }));
    await until(() => dashboard.nodes().some((n) => n.name === 'alpha' && n.status === 'stopped'), PROMPT_MS, 'alpha stopped');
    expect((await topology(dashboard)).edges).toEqual([{ from: 'alpha', to: 'zeta' }]);
    expect(dashboard.nodes().map((n) => n.name)).toEqual(['alpha']);
  });
});
