/**
 * A process of the mesh-formation benchmark: hosts one or more nodes that find each other only
 * through etcd. argv[2] is `{ endpoint, cluster, leaseTtlSeconds, nodes: [{ name, host, serves,
 * uses, expected }] }`: each node listens on `host` port 0, answers the sync topic `serves`, and
 * dials every member (`uses` null: `connectTo: 'all'`) or the members serving `uses`. `expected`
 * is the peer set the full mesh gives it.
 *
 * IPC out: `{ type: 'ready', at, loadMs, startMs }` once every node started, `{ type: 'complete', name, at }` when a
 * node's peers equal `expected` and `{ type: 'incomplete', name, at }` when they stop doing so
 * (`at` is this process's `Date.now()`), `{ type: 'error', message }`. IPC in: `{ type: 'counts?' }`
 * → `{ type: 'counts', nodes: [...] }` (per node: connections, dials, failures, refusals...).
 * SIGTERM or a lost parent stops the nodes (which withdraws them from etcd) and exits.
 */
import { etcdDiscovery } from '@systemge/discovery-etcd';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const args = JSON.parse(process.argv[2]);
const hosted = [];

for (const spec of args.nodes) {
  const expected = [...spec.expected].sort().join();
  const entry = {
    spec,
    node: undefined,
    complete: false,
    dials: 0,
    selfDials: 0,
    failedDials: 0,
    gaveUp: 0,
  };
  const node = createNode(
    { name: spec.name, listen: { host: spec.host, port: 0 }, transport: tcpTransport() },
    { getSyncMessageHandlers: () => ({ [spec.serves]: () => spec.name }) },
    {
      discovery: {
        source: etcdDiscovery({ endpoints: [args.endpoint], cluster: args.cluster, leaseTtlSeconds: args.leaseTtlSeconds }),
        connectTo: spec.uses === null ? 'all' : { uses: [spec.uses] },
      },
    },
  );
  entry.node = node;
  const check = () => {
    const now = node
      .peers()
      .map((p) => p.name)
      .sort()
      .join();
    const complete = now === expected;
    if (complete === entry.complete) return;
    entry.complete = complete;
    process.send?.({ type: complete ? 'complete' : 'incomplete', name: spec.name, at: Date.now() });
  };
  node.on('peer:connected', check);
  node.on('peer:disconnected', check);
  node.on('connect:attempt', (endpoint) => {
    entry.dials++;
    const address = node.address;
    if (endpoint.name === spec.name || (address !== undefined && endpoint.host === address.host && endpoint.port === address.port)) {
      entry.selfDials++;
    }
  });
  node.on('connect:failed', () => entry.failedDials++);
  node.on('connect:gave-up', () => entry.gaveUp++);
  entry.check = check;
  hosted.push(entry);
}

function counts() {
  return hosted.map(({ spec, node, dials, selfDials, failedDials, gaveUp, complete }) => {
    const s = node.stats;
    return {
      name: spec.name,
      complete,
      peers: node.peers().length,
      expected: spec.expected.length,
      connectionsIn: s.connectionsIn,
      connectionsOut: s.connectionsOut,
      dials,
      selfDials,
      failedDials,
      gaveUp,
      refused: s.connectionsRefused,
      handshakeFailures: s.handshakeFailures,
      // Peers this node dialed (direction out), to check that both sides of a pair agree.
      dialedPeers: node
        .peers()
        .filter((p) => p.direction === 'out')
        .map((p) => p.name),
      acceptedPeers: node
        .peers()
        .filter((p) => p.direction === 'in')
        .map((p) => p.name),
    };
  });
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(hosted.map(({ node }) => node.stop('benchmark done')));
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
process.on('message', (message) => {
  if (message?.type === 'counts?') process.send?.({ type: 'counts', nodes: counts() });
});

try {
  // From the process's start to here: loading the modules; then starting the nodes (listen, register
  // in etcd, first member list).
  const loadedAt = Date.now();
  await Promise.all(hosted.map(({ node }) => node.start()));
  const at = Date.now();
  process.send?.({ type: 'ready', at, loadMs: loadedAt - Math.round(performance.timeOrigin), startMs: at - loadedAt });
  // A node whose expected set is empty (or that met it while starting) reports now.
  for (const entry of hosted) entry.check();
} catch (error) {
  process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
