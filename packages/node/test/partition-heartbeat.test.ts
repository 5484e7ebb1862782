import { createServer, type AddressInfo, type Server, type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointOf, nextEvent, startNode, until } from './helpers.js';

/** A TCP relay that can be told to stop forwarding, without closing or sending FIN: a network partition. */
interface Relay {
  port: number;
  partition(): void;
  close(): Promise<void>;
}

const relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function relayTo(port: number): Promise<Relay> {
  let partitioned = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(from);
      from.on('error', () => {});
      from.on('data', (chunk) => {
        if (!partitioned) to.write(chunk);
      });
      from.on('close', () => {
        sockets.delete(from);
        if (!partitioned) to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relay: Relay = {
    port: (server.address() as AddressInfo).port,
    partition: () => {
      partitioned = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  relays.push(relay);
  return relay;
}

describe('a network partition (no close, no FIN) between two nodes', () => {
  it('is detected by heartbeats on both sides within timeoutMs + 1 interval', async () => {
    const heartbeat = { intervalMs: 100, timeoutMs: 400 };
    const ticks = { a: 0, b: 0 };
    const a = await startNode({ name: 'a', heartbeat }, { getAsyncMessageHandlers: () => ({ tick: () => void ticks.a++ }) });
    const relay = await relayTo(endpointOf(a).port);
    const b = await startNode(
      {
        name: 'b',
        endpoints: [{ host: '127.0.0.1', port: relay.port }],
        heartbeat,
        connection: { maxAttempts: 1, handshakeTimeoutMs: 300 },
      },
      { getAsyncMessageHandlers: () => ({ tick: () => void ticks.b++ }) },
    );
    await until(() => a.peers().length === 1, 2000, 'a to see b');
    // Steady traffic both ways, so the last byte before the partition is recent.
    const traffic = setInterval(() => {
      for (const node of [a, b]) {
        try {
          node.asyncMessage('tick', '');
        } catch {
          // Only a liveness signal; a refusal while the link is going down does not matter.
        }
      }
    }, 5);
    try {
      await until(() => ticks.a >= 10 && ticks.b >= 10, 2000, 'traffic both ways');
      const deadA = nextEvent<[{ name: string }]>(a, 'peer:dead', 3000).then(([p]) => ({ p, at: performance.now() }));
      const deadB = nextEvent<[{ name: string }]>(b, 'peer:dead', 3000).then(([p]) => ({ p, at: performance.now() }));
      const lostB = nextEvent<[unknown, { code: string; initiator: string }]>(b, 'peer:disconnected', 3000);
      const redial = nextEvent(b, 'connect:attempt', 3000);
      const t0 = performance.now();
      relay.partition();
      const [ra, rb] = await Promise.all([deadA, deadB]);
      expect(ra.p.name).toBe('b');
      expect(rb.p.name).toBe('a');
      for (const { at } of [ra, rb]) {
        const elapsed = at - t0;
        // Not before the peer can have been silent for timeoutMs (the last check may predate the partition
        // by one interval), and no later than timeoutMs + one interval, with scheduling tolerance.
        expect(elapsed).toBeGreaterThanOrEqual(heartbeat.timeoutMs - heartbeat.intervalMs);
        expect(elapsed).toBeLessThan(heartbeat.timeoutMs + heartbeat.intervalMs + 150);
      }
      const [, info] = await lostB;
      expect(info).toMatchObject({ code: 'SYSTEMGE_ERR_HEARTBEAT_TIMEOUT', initiator: 'local' });
      expect(b.peers()).toEqual([]);
      expect(a.stats.heartbeatTimeouts).toBe(1);
      expect(b.stats).toMatchObject({ heartbeatTimeouts: 1, connectionsLost: 1 });
      // A dead outgoing connection is lost, not closed on purpose: it is redialed.
      await redial;
    } finally {
      clearInterval(traffic);
    }
  });
});
