import { manualDiscovery, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import { connectDashboard, DASHBOARD_UPDATE_TOPIC, type NodeDescription } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

/** A stand-in dashboard: records the descriptions links push. */
async function pushReceiver(): Promise<{ node: SystemgeNode; pushes: NodeDescription[] }> {
  const pushes: NodeDescription[] = [];
  const node = await startNode(
    { name: 'dashboard' },
    {
      getAsyncMessageHandlers: () => ({
        [DASHBOARD_UPDATE_TOPIC]: (message) => void pushes.push(JSON.parse(String(message.payload)) as NodeDescription),
      }),
    },
  );
  return { node, pushes };
}

describe('a dashboard link pushes the description on changes', () => {
  it('pushes once per burst of peer connections, and again when a peer disconnects', async () => {
    const { node: dashboard, pushes } = await pushReceiver();
    const worker = await startNode({ name: 'worker' });
    const link = await connectDashboard(worker, { ...endpointOf(dashboard), transport: tcpTransport(), updateDelayMs: 1000 });
    try {
      await link.ready();
      const peers = await Promise.all(
        ['p1', 'p2', 'p3', 'p4', 'p5'].map((name) => startNode({ name, listen: false, endpoints: [endpointOf(worker)] })),
      );
      await until(() => pushes.at(-1)?.peers.length === 5, 10_000, 'a push with five peers');
      // Five connections, fewer pushes: a burst goes out together.
      expect(pushes.length).toBeLessThan(5);
      const last = pushes.at(-1)!;
      expect(last).toMatchObject({ name: 'worker', status: 'started', discovery: null });
      expect(last.process).toBeUndefined();
      expect(last.peers.map((p) => p.name).sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);

      const before = pushes.length;
      await peers[0]!.stop();
      await until(() => pushes.length > before && pushes.at(-1)?.peers.length === 4, 10_000, 'a push after a disconnect');
    } finally {
      await link.close();
    }
  });

  it('pushes when the membership or the degraded state of its discovery changes', async () => {
    const { node: dashboard, pushes } = await pushReceiver();
    const source = manualDiscovery();
    const worker = await startNode({ name: 'worker' }, {}, { discovery: { source, connectTo: { uses: ['nothing'] } } });
    const link = await connectDashboard(worker, { ...endpointOf(dashboard), transport: tcpTransport(), updateDelayMs: 0 });
    try {
      await link.ready();
      await until(() => dashboard.peers().some((p) => p.name === 'worker'), 5000, 'link peer');
      source.join({ name: 'orders', host: '127.0.0.1', port: 1, topics: ['order'] });
      await until(() => pushes.at(-1)?.discovery?.memberCount === 1, 10_000, 'a push with the member');
      expect(pushes.at(-1)?.discovery).toMatchObject({
        kind: 'manual',
        members: [{ id: 'orders', name: 'orders', host: '127.0.0.1', port: 1 }],
        degraded: false,
        degradedReason: null,
      });
      source.degrade('connection refused');
      await until(() => pushes.at(-1)?.discovery?.degraded === true, 10_000, 'a push with the degraded state');
      expect(pushes.at(-1)?.discovery?.degradedReason).toBe('manual discovery at backend unavailable: connection refused');
    } finally {
      await link.close();
    }
  });

  it('refuses an updateDelayMs that is not an integer from 0 to 10000', async () => {
    const worker = await startNode({ name: 'worker' });
    for (const updateDelayMs of [-1, 1.5, 10_001, Number.NaN]) {
      await expect(
        connectDashboard(worker, { host: '127.0.0.1', port: 9, transport: tcpTransport(), updateDelayMs }),
        String(updateDelayMs),
      ).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_ARGUMENT', message: expect.stringContaining('updateDelayMs') });
    }
  });
});
