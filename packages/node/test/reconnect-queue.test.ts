import { describe, expect, it } from 'vitest';
import { type ConnectionConfig, createNode, type SystemgeNode } from '../src/index.js';
import { endpointOf, nextEvent, startNode, until } from './helpers.js';

const redialFast: ConnectionConfig = { maxAttempts: 0, initialDelayMs: 10, maxDelayMs: 30, jitter: 0 };

/** A node handling `note` (async) that records what it gets. */
async function receiver(port = 0): Promise<{ node: SystemgeNode; got: string[] }> {
  const got: string[] = [];
  const node = await startNode(
    { name: 'a', listen: { host: '127.0.0.1', port } },
    { getAsyncMessageHandlers: () => ({ note: (m) => void got.push(String(m.payload)) }) },
  );
  return { node, got };
}

/** Stops `a` and resolves once `b` has seen it go (and started redialing). */
async function loseA(a: SystemgeNode, b: SystemgeNode): Promise<void> {
  const gone = nextEvent(b, 'peer:disconnected', 3000);
  await a.stop('going away for a moment');
  await gone;
}

describe("connection.whileReconnecting: 'queue'", () => {
  it('holds messages to a reconnecting peer, bounded, and sends them in order once it is back', async () => {
    const first = await receiver();
    const port = endpointOf(first.node).port;
    const b = await startNode({
      name: 'b',
      listen: false,
      endpoints: [endpointOf(first.node)],
      connection: { ...redialFast, whileReconnecting: 'queue', reconnectQueueSize: 3 },
    });
    b.asyncMessage('note', 'before', { to: 'a' });
    await until(() => first.got.length === 1, 2000, 'the first message');
    await loseA(first.node, b);
    expect(b.peers()).toEqual([]);

    for (const n of ['1', '2', '3']) expect(b.asyncMessage('note', n, { to: 'a' })).toBe(true);
    expect(() => b.asyncMessage('note', '4', { to: 'a' })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_RECONNECT_QUEUE_FULL', peer: 'a' }),
    );
    // A topic the lost peer never handled is refused as before, not held.
    expect(() => b.asyncMessage('other', 'x', { to: 'a' })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_NO_ROUTE' }));
    // Broadcasts (no `to`) are unrouted while nobody handles the topic; sync requests are not held.
    b.asyncMessage('note', 'broadcast');
    expect(b.stats.unroutedMessages).toBe(1);
    await expect(b.syncRequest('note', '', { to: 'a' }).first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' });
    expect(b.stats).toMatchObject({ reconnectQueued: 3, reconnectQueueOverflows: 1, reconnectQueueDiscarded: 0 });

    const back = nextEvent(b, 'reconnected', 5000);
    const second = await receiver(port);
    await back;
    b.asyncMessage('note', 'after', { to: 'a' });
    await until(() => second.got.length === 4, 3000, 'the held messages and the next one');
    expect(second.got).toEqual(['1', '2', '3', 'after']);
    expect(first.got).toEqual(['before']);
    expect(b.stats).toMatchObject({ reconnects: 1, reconnectQueued: 3, reconnectQueueDiscarded: 0 });
  });

  it('reports held messages as discarded (warning + counter) when the node gives up on the peer', async () => {
    const { node: a } = await receiver();
    const b = await startNode({
      name: 'b',
      listen: false,
      endpoints: [endpointOf(a)],
      connection: { maxAttempts: 2, initialDelayMs: 10, jitter: 0, whileReconnecting: 'queue' },
    });
    const warning = nextEvent<[Error & { code: string; count: number; peer: string }]>(b, 'warning', 3000);
    const gaveUp = nextEvent(b, 'connect:gave-up', 3000);
    await loseA(a, b);
    b.asyncMessage('note', '1', { to: 'a' });
    b.asyncMessage('note', '2', { to: 'a' });
    await gaveUp;
    const [error] = await warning;
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_QUEUED_MESSAGES_DISCARDED', count: 2, peer: 'a' });
    expect(b.stats.reconnectQueueDiscarded).toBe(2);
    // No longer reconnecting: an ordinary refusal.
    expect(() => b.asyncMessage('note', '3', { to: 'a' })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' }));
  });

  it('reports held messages as discarded when the node stops', async () => {
    const { node: a } = await receiver();
    const b = await startNode({
      name: 'b',
      listen: false,
      endpoints: [endpointOf(a)],
      connection: { ...redialFast, whileReconnecting: 'queue' },
    });
    await loseA(a, b);
    b.asyncMessage('note', '1', { to: 'a' });
    const warning = nextEvent<[Error & { code: string; count: number }]>(b, 'warning', 3000);
    await b.stop();
    const [error] = await warning;
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_QUEUED_MESSAGES_DISCARDED', count: 1 });
    expect(b.stats.reconnectQueueDiscarded).toBe(1);
  });
});

describe("connection.whileReconnecting: 'reject' (default)", () => {
  it('throws SYSTEMGE_ERR_PEER_RECONNECTING and counts it', async () => {
    const { node: a } = await receiver();
    const b = await startNode({ name: 'b', listen: false, endpoints: [endpointOf(a)], connection: redialFast });
    await loseA(a, b);
    expect(() => b.asyncMessage('note', '1', { to: 'a' })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_PEER_RECONNECTING', peer: 'a' }),
    );
    expect(() => b.asyncMessage('note', '2', { to: ['a'] })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_PEER_RECONNECTING' }));
    expect(b.stats).toMatchObject({ reconnectRejections: 2, reconnectQueued: 0 });
    // disconnect() by name ends the redialing.
    await b.disconnect('a');
    expect(() => b.asyncMessage('note', '3', { to: 'a' })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' }));
  });
});

describe('reconnect queue config validation', () => {
  it.each([
    ['whileReconnecting', 'drop'],
    ['reconnectQueueSize', 0],
    ['reconnectQueueSize', 2.5],
  ])('rejects connection.%s = %j naming the field', (field, value) => {
    expect(() => createNode({ name: 'x', connection: { [field]: value } as ConnectionConfig })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', path: `connection.${field}` }),
    );
  });
});
