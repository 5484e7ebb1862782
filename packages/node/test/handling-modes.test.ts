import { describe, expect, it } from 'vitest';
import type { HandlingMode, IncomingMessage, SystemgeNode } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

const HIGH_WATER_MARK = 64 * 1024;
const QUEUE_SIZE = 16;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An async handler slower than the wire: each message waits a loop turn. Records order and concurrency. */
function slowRecorder(node: () => SystemgeNode | undefined) {
  const state = { received: new Map<string, number[]>(), active: 0, maxActive: 0, maxQueued: 0, maxPaused: 0, handled: 0 };
  const handler = async (m: IncomingMessage): Promise<void> => {
    state.active++;
    state.maxActive = Math.max(state.maxActive, state.active);
    const text = String(m.payload);
    let list = state.received.get(m.origin);
    if (list === undefined) state.received.set(m.origin, (list = []));
    list.push(Number(text.slice(0, text.indexOf(':'))));
    if (state.handled++ % 8 === 0) {
      const stats = node()?.stats;
      if (stats !== undefined) {
        state.maxQueued = Math.max(state.maxQueued, stats.queuedMessages);
        state.maxPaused = Math.max(state.maxPaused, stats.pausedConnections);
      }
    }
    await nextTurn();
    state.active--;
  };
  return { state, handler };
}

/** Sends `count` numbered messages as fast as backpressure allows; returns the sender's largest buffer and wait count. */
async function sendAll(sender: SystemgeNode, count: number, payloadBytes: number): Promise<{ maxBuffered: number; waits: number }> {
  const filler = 'x'.repeat(payloadBytes);
  let maxBuffered = 0;
  let waits = 0;
  for (let i = 0; i < count; i++) {
    if (!sender.asyncMessage('seq', `${i}:${filler}`)) {
      maxBuffered = Math.max(maxBuffered, ...sender.peers().map((p) => p.bufferedBytes));
      waits++;
      await sender.drained();
    }
  }
  return { maxBuffered, waits };
}

describe.each<HandlingMode>(['sequential-connection', 'sequential-node'])('handling mode %s', (mode) => {
  it('delivers 10,000 messages in send order through a bounded queue, pausing the sender instead of buffering', async () => {
    let receiverRef: SystemgeNode | undefined;
    const { state, handler } = slowRecorder(() => receiverRef);
    const receiver = await startNode(
      { name: 'receiver', handling: { mode, queueSize: QUEUE_SIZE }, connection: { highWaterMark: HIGH_WATER_MARK } },
      { getAsyncMessageHandlers: () => ({ seq: handler }) },
    );
    receiverRef = receiver;
    const sender = await startNode({
      name: 'sender',
      endpoints: [endpointOf(receiver)],
      connection: { highWaterMark: HIGH_WATER_MARK },
    });
    const count = 10_000;
    const payloadBytes = 2000;
    const { maxBuffered, waits } = await sendAll(sender, count, payloadBytes);
    await until(() => state.handled === count, 15_000, `${count} messages handled`);

    const order = state.received.get('sender') ?? [];
    expect(order).toHaveLength(count);
    expect(order.every((n, i) => n === i)).toBe(true);
    expect(state.maxActive).toBe(1);
    // The queue never went beyond its limit, and reading paused meanwhile (the exact peak is
    // checked in dispatcher.test.ts).
    expect(state.maxQueued).toBeLessThanOrEqual(QUEUE_SIZE);
    expect(state.maxPaused).toBe(1);
    // The slow receiver pushed back all the way to the sender, whose buffer stayed near its mark.
    expect(waits).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(HIGH_WATER_MARK + 2 * (payloadBytes + 64));
    expect(receiver.stats.asyncReceived).toBe(count);
    expect(receiver.stats.queuedMessages).toBe(0);
    expect(receiver.stats.pausedConnections).toBe(0);
  }, 20_000);
});

describe('handling mode sequential-node with two senders', () => {
  it('runs one handler at a time for the whole node and keeps each connection in order', async () => {
    let receiverRef: SystemgeNode | undefined;
    const { state, handler } = slowRecorder(() => receiverRef);
    const receiver = await startNode(
      { name: 'receiver', handling: { mode: 'sequential-node', queueSize: QUEUE_SIZE }, connection: { highWaterMark: HIGH_WATER_MARK } },
      { getAsyncMessageHandlers: () => ({ seq: handler }) },
    );
    receiverRef = receiver;
    const senders = await Promise.all(
      ['s1', 's2'].map((name) => startNode({ name, endpoints: [endpointOf(receiver)], connection: { highWaterMark: HIGH_WATER_MARK } })),
    );
    const count = 3000;
    await Promise.all(senders.map((s) => sendAll(s, count, 500)));
    await until(() => state.handled === 2 * count, 15_000, 'all messages handled');
    expect(state.maxActive).toBe(1);
    // Never beyond the limit plus one frame already read from each other sender (the exact peak
    // is checked in dispatcher.test.ts).
    expect(state.maxQueued).toBeLessThanOrEqual(QUEUE_SIZE + senders.length - 1);
    expect(state.maxPaused).toBeGreaterThanOrEqual(1);
    for (const name of ['s1', 's2']) {
      const order = state.received.get(name) ?? [];
      expect(order).toHaveLength(count);
      expect(order.every((n, i) => n === i)).toBe(true);
    }
  }, 20_000);
});

describe('handling mode concurrent', () => {
  it('overlaps handlers and pauses a connection at handling.concurrency unfinished handlers', async () => {
    const concurrency = 8;
    let active = 0;
    let maxActive = 0;
    let handled = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const receiver = await startNode(
      { name: 'receiver', handling: { mode: 'concurrent', concurrency } },
      {
        getAsyncMessageHandlers: () => ({
          work: async () => {
            active++;
            maxActive = Math.max(maxActive, active);
            await gate;
            active--;
            handled++;
          },
        }),
        getSyncMessageHandlers: () => ({ ping: () => 'pong' }),
      },
    );
    const sender = await startNode({ name: 'sender', endpoints: [endpointOf(receiver)] });
    const count = 40;
    for (let i = 0; i < count; i++) sender.asyncMessage('work', String(i));
    await until(() => active === concurrency, 5000, `${concurrency} handlers running`);
    await until(() => receiver.stats.pausedConnections === 1, 5000, 'reading paused');
    // Reading stopped at the cap: nothing beyond it was taken off the socket.
    expect(receiver.stats.asyncReceived).toBe(concurrency);
    expect(maxActive).toBe(concurrency);

    // The cap is per connection: another peer is still served meanwhile.
    const other = await startNode({ name: 'other', endpoints: [endpointOf(receiver)] });
    expect(await other.syncRequest('ping', '').first()).toBe('pong');
    expect(receiver.stats.asyncReceived).toBe(concurrency);
    expect(active).toBe(concurrency);

    release();
    await until(() => handled === count, 5000, 'all handled');
    expect(maxActive).toBe(concurrency);
    expect(receiver.stats.pausedConnections).toBe(0);
  });
});

describe('stopping a node with a full handling queue', () => {
  it('answers the sync requests already queued, reads nothing more, and does not wait for the deadline', async () => {
    const queueSize = 4;
    const receiver = await startNode(
      { name: 'receiver', handling: { mode: 'sequential-connection', queueSize }, shutdownTimeoutMs: 5000 },
      { getSyncMessageHandlers: () => ({ slow: () => new Promise<string>((resolve) => setTimeout(() => resolve('ok'), 5)) }) },
    );
    const sender = await startNode({ name: 'sender', endpoints: [endpointOf(receiver)] });
    const requests = Array.from({ length: 40 }, (_, i) => sender.syncRequest('slow', String(i), { timeoutMs: 10_000 }));
    await until(() => receiver.stats.pausedConnections === 1, 5000, 'a full queue');
    const queued = receiver.stats.queuedMessages;
    expect(queued).toBe(queueSize);

    const stoppingAt = performance.now();
    await receiver.stop();
    expect(performance.now() - stoppingAt).toBeLessThan(2500);
    const responses = (await Promise.all(requests.map((r) => r.all()))).map((list) => list[0]);
    const answered = responses.filter((r) => r?.ok === true).length;
    // The one running plus every queued one got its answer; none was read after stop() began.
    expect(answered).toBe(queued + 1);
    expect(responses.filter((r) => r?.ok === false).every((r) => r?.ok === false && r.code === 'SYSTEMGE_ERR_PEER_LOST')).toBe(true);
  });
});
