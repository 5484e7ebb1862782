import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, type SystemgeNode } from '../src/index.js';
import { until } from './helpers.js';

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

const nodes: SystemgeNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
});

const COUNT = 300;
const REQUESTS = 50;

/**
 * Two nodes that dial each other at once keep one of the two connections; until a side learns which,
 * it may send on the other. What it sent there is delivered and answered, not dropped with the
 * connection.
 */
describe('two nodes that dial each other at once and send from the first moment', () => {
  it('lose no message and leave no request unanswered while the duplicate connection is resolved (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      const [pa, pb] = (await freePorts(2)) as [number, number];
      const received = { a: [] as number[], b: [] as number[] };
      const make = (name: 'a' | 'b', port: number, other: number) =>
        createNode(
          {
            name,
            transport: tcpTransport(),
            listen: { host: '127.0.0.1', port },
            endpoints: [{ host: '127.0.0.1', port: other }],
          },
          {
            getAsyncMessageHandlers: () => ({ n: (m) => void received[name].push(Number(m.payload)) }),
            getSyncMessageHandlers: () => ({ echo: (m) => `${name}:${String(m.payload)}` }),
          },
        );
      const a = make('a', pa, pb);
      const b = make('b', pb, pa);
      nodes.push(a, b);
      const answers: Promise<string[]>[] = [];
      const sendAll = (node: SystemgeNode) =>
        node.on('peer:connected', () => {
          for (let i = 0; i < COUNT; i++) node.asyncMessage('n', String(i));
          answers.push(
            Promise.all(
              Array.from({ length: REQUESTS }, (_, i) => node.request('echo', String(i), { timeoutMs: 5000 }).then((r) => String(r))),
            ),
          );
        });
      sendAll(a);
      sendAll(b);
      await Promise.all([a.start(), b.start()]);
      await until(
        () => received.a.length >= COUNT && received.b.length >= COUNT,
        5000,
        `round ${round}: a got ${received.a.length}, b got ${received.b.length}`,
      ).catch(() => {});
      expect({ round, a: received.a.length, b: received.b.length }).toEqual({ round, a: COUNT, b: COUNT });
      // In the order sent: one connection carried them all, or the replaced one's came first.
      expect(received.a).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(received.b).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      // Requests sent on the connection that was replaced are answered through the kept one.
      const [fromA, fromB] = await Promise.all(answers);
      expect([...(fromA ?? []), ...(fromB ?? [])].sort()).toEqual(
        [...Array.from({ length: REQUESTS }, (_, i) => `a:${i}`), ...Array.from({ length: REQUESTS }, (_, i) => `b:${i}`)].sort(),
      );
      expect(a.peers().map((p) => p.name)).toEqual(['b']);
      expect(b.peers().map((p) => p.name)).toEqual(['a']);
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
    }
  }, 120_000);
});
