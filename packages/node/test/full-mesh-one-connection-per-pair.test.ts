import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, type SystemgeNode } from '../src/index.js';
import { type ChildNode, forkNode } from './child-node.js';
import { until } from './helpers.js';

/** Ports that were just bound and released, so a mesh config can name them before any node starts. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4'];

/** Every node lists every other one as an endpoint. */
function meshConfig(ports: number[], i: number) {
  return {
    name: NAMES[i] as string,
    listen: { host: '127.0.0.1', port: ports[i] as number },
    endpoints: ports.flatMap((port, j) => (j === i ? [] : [{ host: '127.0.0.1', port }])),
  };
}

type PeerView = { name: string; direction: 'in' | 'out' };

/** Each pair has exactly one connection: one side sees it as `out`, the other as `in`. */
function expectOneConnectionPerPair(views: Map<string, PeerView[]>): void {
  for (const [name, peers] of views) {
    expect(peers.map((p) => p.name).sort()).toEqual(NAMES.filter((n) => n !== name));
    for (const peer of peers) {
      const back = views.get(peer.name)?.find((p) => p.name === name);
      expect(back, `${peer.name} sees ${name}`).toBeDefined();
      expect(back?.direction).toBe(peer.direction === 'out' ? 'in' : 'out');
    }
  }
}

const nodes: SystemgeNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
});

describe('a 5-node full mesh started all at once', () => {
  it('in one process over TCP: one connection per pair, no failed attempts, no warnings (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const ports = await freePorts(NAMES.length);
      const noise: string[] = [];
      const disconnects: string[] = [];
      const mesh = NAMES.map((_, i) => {
        const node = createNode(
          { ...meshConfig(ports, i), transport: tcpTransport() },
          { getSyncMessageHandlers: () => ({ who: () => NAMES[i] as string }) },
        );
        nodes.push(node);
        node.on('connect:failed', (e, attempt, error) => noise.push(`${node.name} connect:failed ${e.port} #${attempt}: ${error.message}`));
        node.on('connect:gave-up', (e, error) => noise.push(`${node.name} connect:gave-up ${e.port}: ${error.message}`));
        node.on('warning', (error) => noise.push(`${node.name} warning: ${error.message}`));
        node.on('peer:disconnected', (peer, why) => disconnects.push(`${node.name} lost ${peer.name}: ${why.code}`));
        return node;
      });
      await Promise.all(mesh.map((n) => n.start()));
      const views = new Map(mesh.map((n) => [n.name, n.peers().map((p) => ({ name: p.name, direction: p.direction }))]));
      expectOneConnectionPerPair(views);
      // The redundant sockets are closed, not merely unused.
      await until(
        () => mesh.every((n) => n.stats.connectionsIn + n.stats.connectionsOut === NAMES.length - 1),
        5000,
        'four connections per node',
      );
      for (const node of mesh) {
        const answers = await node.syncRequest('who', '').all();
        expect(answers.map((a) => a.ok && a.payload).sort()).toEqual(NAMES.filter((n) => n !== node.name));
      }
      expect(noise).toEqual([]);
      expect(disconnects).toEqual([]);
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
    }
  }, 60_000);

  it('across five processes over TCP: one connection per pair, no refusals, no warnings', async () => {
    const ports = await freePorts(NAMES.length);
    const children = await Promise.all(NAMES.map((_, i) => forkNode(meshConfig(ports, i), {}, 30_000)));
    const ask = (child: ChildNode): Promise<{ peers: PeerView[]; connectionsIn: number; connectionsOut: number }> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${child.name} did not answer`)), 10_000);
        const onMessage = (message: { type?: string }): void => {
          if (message.type !== 'peers') return;
          clearTimeout(timer);
          child.process.off('message', onMessage);
          resolve(message as never);
        };
        child.process.on('message', onMessage);
        child.process.send({ type: 'peers' });
      });
    // Each child reports ready only once its start() resolved, that is once every endpoint connected.
    let answers = await Promise.all(children.map(ask));
    const deadline = Date.now() + 10_000;
    while (answers.some((a) => a.connectionsIn + a.connectionsOut !== NAMES.length - 1)) {
      if (Date.now() > deadline) throw new Error(`connections did not settle: ${JSON.stringify(answers)}`);
      answers = await Promise.all(children.map(ask));
    }
    expectOneConnectionPerPair(new Map(children.map((c, i) => [c.name, (answers[i] as { peers: PeerView[] }).peers])));
    // Processes boot one after another, so a dial may find a peer's port not bound yet (DIAL_FAILED,
    // retried). Anything else, a refusal above all, is noise the mesh must not make.
    const noise = children.flatMap((c) =>
      c.events
        .filter((e) => ['connect:failed', 'connect:gave-up', 'warning', 'peer:disconnected'].includes(e.event))
        .filter((e) => !(e.event === 'connect:failed' && e.code === 'SYSTEMGE_ERR_DIAL_FAILED'))
        .map((e) => `${c.name}: ${JSON.stringify(e)}`),
    );
    expect(noise).toEqual([]);
  }, 60_000);
});
