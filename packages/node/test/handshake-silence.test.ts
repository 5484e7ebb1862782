import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointOf, startNode, until } from './helpers.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

/** A socket that connects and never says a word. Resolves with when it connected and a promise of when it closed. */
async function silentSocket(port: number): Promise<{ openedAt: number; closed: Promise<number>; received: () => Buffer }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { openedAt: performance.now(), closed, received: () => Buffer.concat(chunks) };
}

describe('a socket that connects and says nothing', () => {
  it('is closed at handshakeTimeoutMs and does not delay a real peer meanwhile', async () => {
    const handshakeTimeoutMs = 400;
    const server = await startNode(
      { name: 'server', connection: { handshakeTimeoutMs } },
      { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) },
    );
    const port = endpointOf(server).port;
    const silent = await Promise.all(Array.from({ length: 20 }, () => silentSocket(port)));
    await until(() => server.stats.connectionsAccepted === 20, 2000, 'the silent sockets to be accepted');

    // A real peer connects and gets an answer while the silent ones are still open.
    const t0 = performance.now();
    const client = await startNode({ name: 'client', listen: false, endpoints: [endpointOf(server)] });
    expect(await client.syncRequest('echo', 'hi').first()).toBe('hi');
    const realPeerMs = performance.now() - t0;
    expect(realPeerMs).toBeLessThan(handshakeTimeoutMs / 2);
    expect(server.stats.handshakeFailures).toBe(0);

    const closedAt = await Promise.all(silent.map((s) => s.closed));
    silent.forEach((s, i) => {
      const after = (closedAt[i] as number) - s.openedAt;
      expect(after).toBeGreaterThanOrEqual(handshakeTimeoutMs - 20);
      expect(after).toBeLessThan(handshakeTimeoutMs + 500);
      // The server said why before closing.
      expect(s.received().includes('SYSTEMGE_ERR_HANDSHAKE_TIMEOUT')).toBe(true);
    });
    expect(server.stats.handshakeFailures).toBe(20);
    expect(server.peers().map((p) => p.name)).toEqual(['client']);
    expect(await client.syncRequest('echo', 'still').first()).toBe('still');
  });
});
