import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { websocketComponent, type DisconnectReason, type WebSocketComponentApplication } from '../src/index.js';
import { startNode, TestClient, until } from './helpers.js';

const MiB = 1024 * 1024;

describe('slow clients', () => {
  it('disconnects a client that stops reading once its send buffer reaches hardMaxBufferedBytes, with bounded server memory', async () => {
    const CEILING = 4 * MiB;
    const disconnects: DisconnectReason[] = [];
    const app: WebSocketComponentApplication = { onDisconnect: (_c, r) => void disconnects.push(r) };
    // The soft limit's clock never runs out here: only the hard ceiling can cut the client off.
    const ws = websocketComponent({ maxBufferedBytes: MiB, hardMaxBufferedBytes: CEILING, slowClientTimeoutMs: 600000, pingIntervalMs: 0 });
    await startNode({ name: 'ws' }, app, [ws]);
    const slow = await TestClient.open(ws.url as string);
    const fast = await TestClient.open(ws.url as string);
    await until(() => ws.clients().length === 2);
    const slowId = ws.clients()[0] as string;
    (slow.ws as unknown as { _socket: Socket })._socket.pause();

    const chunk = 'z'.repeat(64 * 1024);
    const BATCH = 8; // 512 KiB per batch: the fast client drains a batch before the next one is sent
    const TOTAL = 160 * MiB;
    const batches = TOTAL / (BATCH * chunk.length);
    const before = process.memoryUsage();
    let peak = 0;
    let sentWhenCut = -1;
    let maxSlowBuffered = 0;
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) ws.broadcast('bulk', chunk);
      const slowClient = ws.client(slowId);
      if (slowClient !== undefined) maxSlowBuffered = Math.max(maxSlowBuffered, slowClient.bufferedBytes);
      else if (sentWhenCut < 0) sentWhenCut = (b + 1) * BATCH * chunk.length;
      await until(() => fast.messages.length === BATCH, 10000, `fast client batch ${b}`);
      fast.messages.length = 0;
      if (b % 16 === 0) {
        const m = process.memoryUsage();
        peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
      }
    }

    expect(disconnects).toHaveLength(1);
    expect(disconnects[0]).toEqual({ code: 1008, reason: `send buffer over hardMaxBufferedBytes (${CEILING})`, initiator: 'server' });
    expect(ws.getStats()).toMatchObject({ slow_client_disconnects_total: 1, clients: 1 });
    expect(maxSlowBuffered).toBeLessThanOrEqual(CEILING);
    // Cut off at the ceiling plus what the kernel socket buffers absorbed, far below the total sent.
    expect(sentWhenCut).toBeGreaterThan(0);
    expect(sentWhenCut).toBeLessThan(48 * MiB);
    // Without the ceiling the server would hold the whole 160 MiB for the slow client.
    expect(peak).toBeLessThan(64 * MiB);
    expect(fast.ws.readyState).toBe(fast.ws.OPEN);
  }, 30000);
});
