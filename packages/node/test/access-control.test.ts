import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { endpointOf, startNode, until } from './helpers.js';

describe('IP allow and deny lists', () => {
  it('refuses a deny-listed address before the handshake and applies runtime edits to new connections', async () => {
    const server = await startNode(
      { name: 'server', access: { deny: ['127.0.0.2'] } },
      { getSyncMessageHandlers: () => ({ ping: () => 'pong' }) },
    );
    const port = server.address!.port;
    // 127.0.0.2 is refused: the socket is closed without a single byte.
    const refused = await rawConnect('127.0.0.1', port, 2000, '127.0.0.2');
    expect(refused.bytes).toBe(0);
    await until(() => server.stats.connectionsRefused === 1);
    expect(server.stats.connectionsAccepted).toBe(0);

    // 127.0.0.1 gets through and works.
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    expect(await client.syncRequest('ping', '').first()).toBe('pong');

    // Deny 127.0.0.1 at runtime through the command; the open connection stays, new ones are refused.
    expect(await server.command('deny', ['add', '127.0.0.0/8'])).toBe('deny list now has 127.0.0.0/8');
    const other = await startNode({ name: 'other', connection: { maxAttempts: 1 } });
    await expect(other.connect(endpointOf(server))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_CONNECT_ATTEMPTS' });
    expect(await client.syncRequest('ping', '').first()).toBe('pong');

    await server.command('deny', ['remove', '127.0.0.0/8']);
    server.denyList.remove('127.0.0.2');
    expect(server.denyList.entries()).toEqual([]);
    await other.connect(endpointOf(server));
    expect(
      server
        .peers()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['client', 'other']);
  });

  it('refuses addresses outside a non-empty allow list', async () => {
    const server = await startNode({ name: 'server', access: { allow: ['127.0.0.2/32'] } });
    const outsider = await rawConnect('127.0.0.1', server.address!.port);
    expect(outsider.bytes).toBe(0);
    server.allowList.add('127.0.0.1');
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    expect(client.peers().map((p) => p.name)).toEqual(['server']);
  });

  it('limits connection attempts per IP over a sliding window', async () => {
    const server = await startNode({ name: 'server', access: { maxAttemptsPerIp: 3, attemptWindowMs: 60_000 } });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await rawConnect('127.0.0.1', server.address!.port, 50));
    expect(results.map((r) => r.closedByServer)).toEqual([false, false, false, true, true]);
    await until(() => server.stats.connectionsRefused === 2);
  });

  it('a full set of pending handshakes drops its oldest socket, so silent sockets cannot lock a real peer out', async () => {
    const server = await startNode(
      { name: 'server', access: { maxPendingHandshakes: 5 }, connection: { handshakeTimeoutMs: 10_000 } },
      { getSyncMessageHandlers: () => ({ ping: () => 'pong' }) },
    );
    const port = server.address!.port;
    // Thirty silent sockets: only the five newest are held, the others are dropped as newer ones arrive.
    const silent: net.Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 30; i++) {
      const socket = await openSilent(port);
      socket.resume(); // reads (so it sees the close) but never writes a byte
      closed.push(false);
      socket.on('close', () => (closed[i] = true));
      silent.push(socket);
    }
    await until(() => closed.filter(Boolean).length === 25, 5000, '25 oldest silent sockets dropped');
    expect(closed.slice(25)).toEqual([false, false, false, false, false]);
    // A real peer still gets in at once and is answered, well before any handshake timeout.
    const started = Date.now();
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    expect(await client.syncRequest('ping', '').first()).toBe('pong');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.stats.handshakeFailures).toBeGreaterThanOrEqual(25);
    for (const s of silent) s.destroy();
  });
});

/** Connects, waits up to `waitMs` for the server to close or send, and reports what happened. */
function rawConnect(host: string, port: number, waitMs = 2000, localAddress?: string): Promise<{ bytes: number; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const socket = net.connect({ host, port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ bytes, closedByServer: false });
    }, waitMs);
    socket.on('data', (d) => (bytes += d.length));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes, closedByServer: true });
    });
    socket.setTimeout(10_000, () => reject(new Error('no connect')));
  });
}

function openSilent(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}
