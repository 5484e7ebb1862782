import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { websocketComponent, type DisconnectReason, type WebSocketComponentApplication } from '../src/index.js';
import { startNode, TestClient, until } from './helpers.js';

const MiB = 1024 * 1024;

describe('a burst written in one tick', () => {
  it('reaches fast clients whole and in order; a client that stops reading is cut after slowClientTimeoutMs', async () => {
    const SOFT = MiB;
    const TIMEOUT = 3000;
    const disconnects = new Map<string, DisconnectReason>();
    const app: WebSocketComponentApplication = { onDisconnect: (c, r) => void disconnects.set(c.id, r) };
    const ws = websocketComponent({
      maxBufferedBytes: SOFT,
      slowClientTimeoutMs: TIMEOUT,
      hardMaxBufferedBytes: 256 * MiB,
      pingIntervalMs: 0,
    });
    await startNode({ name: 'ws' }, app, [ws]);
    const fast = [await TestClient.open(ws.url as string), await TestClient.open(ws.url as string)];
    const slow = await TestClient.open(ws.url as string);
    await until(() => ws.clients().length === 3);
    const slowId = ws.clients()[2] as string;
    // Stops reading: what the kernel buffers cannot take stays in the server's send buffer.
    (slow.ws as unknown as { _socket: Socket })._socket.pause();

    // 32 MiB per client in one synchronous loop: 32 × maxBufferedBytes.
    const COUNT = 512;
    const filler = 'b'.repeat(64 * 1024);
    let queued = 0;
    for (let i = 0; i < COUNT; i++) queued += ws.broadcast('burst', { i, filler });
    expect(queued).toBe(3 * COUNT);
    expect(ws.client(slowId)?.bufferedBytes).toBeGreaterThan(SOFT);

    for (const c of fast) {
      await until(() => c.messages.length === COUNT, 20000, 'the whole burst at a fast client');
      expect(c.messages.map((m) => (m.payload as { i: number }).i)).toEqual([...Array(COUNT).keys()]);
    }
    await until(() => disconnects.has(slowId), 20000, 'onDisconnect of the slow client');
    expect(disconnects.get(slowId)).toEqual({
      code: 1008,
      reason: `send buffer over maxBufferedBytes (${SOFT}) for ${TIMEOUT} ms`,
      initiator: 'server',
    });
    expect(disconnects.size).toBe(1);
    expect(ws.getStats()).toMatchObject({ slow_client_disconnects_total: 1, clients: 2 });
    // Once it reads again, the slow client finds its connection cut (no close frame could reach it).
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    expect((await slow.waitClosed(20000)).code).toBe(1006);
    expect(slow.messages.length).toBeLessThan(COUNT);

    // The fast clients went over the soft limit in the same tick; their clocks ran out too, and they stay.
    ws.broadcast('after', 'still served');
    for (const c of fast) {
      await until(() => c.messages.length === COUNT + 1, 5000, 'a message after the slow client was cut');
      expect(c.messages[COUNT]).toEqual({ topic: 'after', payload: 'still served' });
      expect(c.ws.readyState).toBe(c.ws.OPEN);
    }
  }, 60000);

  it('gives a client that drained a fresh slowClientTimeoutMs for the next burst', async () => {
    const TIMEOUT = 1500;
    const disconnects: DisconnectReason[] = [];
    const app: WebSocketComponentApplication = { onDisconnect: (_c, r) => void disconnects.push(r) };
    // Each message is larger than the soft limit, so every send goes over it: only the socket's 'drain'
    // tells that the client caught up in between.
    const ws = websocketComponent({
      maxBufferedBytes: 256 * 1024,
      slowClientTimeoutMs: TIMEOUT,
      hardMaxBufferedBytes: 256 * MiB,
      pingIntervalMs: 0,
    });
    await startNode({ name: 'ws' }, app, [ws]);
    const fast = await TestClient.open(ws.url as string);
    await until(() => ws.clients().length === 1);
    const COUNT = 32;
    const filler = 'd'.repeat(512 * 1024);
    const burst = (n: number): void => {
      for (let i = 0; i < COUNT; i++) ws.broadcast('burst', { n, i, filler });
    };
    // The second burst runs just before the clock of the first runs out (this timer is set before the first
    // burst starts the clock), so at the check the client is over the limit again, but only since then.
    const second = new Promise<void>((resolve) => {
      setTimeout(() => {
        burst(2);
        resolve();
      }, TIMEOUT - 1);
    });
    burst(1); // 16 MiB: over the soft limit, the clock starts.
    await until(() => fast.messages.length === COUNT, 20000, 'the first burst');
    await second;
    await until(() => fast.messages.length === 2 * COUNT || disconnects.length > 0, 20000, 'the second burst');
    expect(disconnects).toEqual([]);
    expect(fast.messages.map((m) => (m.payload as { n: number }).n)).toEqual([...Array(2 * COUNT)].map((_, k) => (k < COUNT ? 1 : 2)));
    expect(ws.getStats()).toMatchObject({ slow_client_disconnects_total: 0, clients: 1 });
  }, 60000);

  it('cuts a client at once when a send would take it over hardMaxBufferedBytes', async () => {
    const disconnects: DisconnectReason[] = [];
    const app: WebSocketComponentApplication = { onDisconnect: (_c, r) => void disconnects.push(r) };
    const ws = websocketComponent({ maxBufferedBytes: MiB, hardMaxBufferedBytes: 8 * MiB, slowClientTimeoutMs: 600000, pingIntervalMs: 0 });
    await startNode({ name: 'ws' }, app, [ws]);
    const slow = await TestClient.open(ws.url as string);
    await until(() => ws.clients().length === 1);
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const chunk = 'h'.repeat(256 * 1024);
    let sent = 0;
    // 64 MiB in one tick; the client can take at most 8 MiB plus what the kernel buffers absorb.
    for (let i = 0; i < 256; i++) sent += ws.broadcast('bulk', chunk);
    expect(sent).toBeLessThan(256);
    expect(sent * chunk.length).toBeLessThan(8 * MiB + 16 * MiB);
    await until(() => disconnects.length === 1, 5000, 'onDisconnect');
    expect(disconnects[0]).toEqual({ code: 1008, reason: `send buffer over hardMaxBufferedBytes (${8 * MiB})`, initiator: 'server' });
    expect(ws.getStats()).toMatchObject({ slow_client_disconnects_total: 1, clients: 0 });
  }, 30000);
});
