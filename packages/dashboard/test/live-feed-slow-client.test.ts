import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LiveFeed, type LiveFeedLimits } from '../src/live-feed.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = { type: 'metrics', blob: 'm'.repeat(64 * KiB) };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves when `predicate` holds, checking on every turn of the event loop; rejects after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

interface Pair {
  /** The server side of the connection, in the feed. */
  server: WebSocket;
  client: WebSocket;
  received: () => number;
  pause(): void;
  resume(): void;
}

/** A real ws server on 127.0.0.1:0 whose connections join `feed`, and a client connected to it. */
async function feedWithClients(limits: LiveFeedLimits, count: number): Promise<{ feed: LiveFeed; pairs: Pair[]; slow: string[] }> {
  const slow: string[] = [];
  const feed = new LiveFeed(limits, (reason) => slow.push(reason));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const port = (wss.address() as AddressInfo).port;
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    cleanups.push(() => client.terminate());
    let received = 0;
    client.on('message', () => received++);
    client.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    const server = await accepted;
    feed.add(server);
    const raw = (client as unknown as { _socket: Socket })._socket;
    pairs.push({ server, client, received: () => received, pause: () => raw.pause(), resume: () => raw.resume() });
  }
  return { feed, pairs, slow };
}

/** Broadcasts 64 KiB messages until `socket` has more than `bytes` unsent; returns how many were sent. */
async function fillUntil(feed: LiveFeed, socket: WebSocket, bytes: number, drain?: Pair): Promise<number> {
  let sent = 0;
  while (socket.bufferedAmount <= bytes && socket.readyState === socket.OPEN) {
    feed.broadcast(CHUNK);
    sent++;
    if (drain !== undefined) await until(() => drain.received() === sent, 10000, 'the fast client to read');
    else if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (sent > 4096) throw new Error('the send buffer never grew');
  }
  return sent;
}

describe('dashboard live feed and slow clients', () => {
  it('keeps a client whose burst went over maxBufferedBytes but drained within slowClientTimeoutMs', async () => {
    const limits = { maxBufferedBytes: 256 * KiB, slowClientTimeoutMs: 30000, hardMaxBufferedBytes: 64 * MiB };
    const { feed, pairs, slow } = await feedWithClients(limits, 1);
    const [pair] = pairs as [Pair];
    pair.pause();
    // Well over the soft limit; the old rule closed a client as soon as it was over 4 MiB at a send.
    const sent = await fillUntil(feed, pair.server, 6 * MiB);
    feed.broadcast(CHUNK);
    expect(pair.server.readyState).toBe(WebSocket.OPEN);
    pair.resume();
    await until(() => pair.received() === sent + 1, 20000, 'every message to arrive');
    feed.broadcast({ type: 'after' });
    await until(() => pair.received() === sent + 2, 5000, 'a message after the burst');
    expect(slow).toEqual([]);
    expect(feed.slowDisconnects).toBe(0);
    expect(feed.size).toBe(1);
  }, 40000);

  it('disconnects a client whose unsent data stays over maxBufferedBytes for slowClientTimeoutMs, not the others', async () => {
    const limits = { maxBufferedBytes: 256 * KiB, slowClientTimeoutMs: 300, hardMaxBufferedBytes: 256 * MiB };
    const { feed, pairs, slow } = await feedWithClients(limits, 2);
    const [stuck, fast] = pairs as [Pair, Pair];
    stuck.pause();
    await fillUntil(feed, stuck.server, 512 * KiB, fast);
    const closed = new Promise<number>((resolve) => stuck.server.once('close', (code) => resolve(code)));
    expect(await closed).toBe(1006);
    expect(slow).toEqual([`feed buffer over maxBufferedBytes (${256 * KiB}) for 300 ms`]);
    expect(feed.slowDisconnects).toBe(1);
    expect(feed.size).toBe(1);
    const before = fast.received();
    feed.broadcast({ type: 'still-here' });
    await until(() => fast.received() === before + 1, 5000, 'the fast client to get the next message');
    expect(fast.server.readyState).toBe(WebSocket.OPEN);
  }, 40000);

  it('disconnects a client at once when a send would take it over hardMaxBufferedBytes, whatever the timeout', async () => {
    const limits = { maxBufferedBytes: 256 * KiB, slowClientTimeoutMs: 600000, hardMaxBufferedBytes: 2 * MiB };
    const { feed, pairs, slow } = await feedWithClients(limits, 1);
    const [pair] = pairs as [Pair];
    pair.pause();
    let maxBuffered = 0;
    const closed = new Promise<void>((resolve) => pair.server.once('close', () => resolve()));
    for (let sent = 0; feed.size === 1; sent++) {
      feed.broadcast(CHUNK);
      maxBuffered = Math.max(maxBuffered, pair.server.bufferedAmount);
      if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (sent > 8192) throw new Error('never disconnected');
    }
    await closed;
    expect(slow).toEqual([`feed buffer over hardMaxBufferedBytes (${2 * MiB})`]);
    expect(maxBuffered).toBeLessThanOrEqual(2 * MiB);
  }, 40000);
});
