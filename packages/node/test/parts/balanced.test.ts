import { FrameKind, type MessageFrame } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Balanced } from '../../src/messaging/balanced.js';
import { HoldQueue } from '../../src/messaging/hold-queue.js';
import { Outbound } from '../../src/messaging/outbound.js';
import { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { FakeConnection, flush, testContext } from './fakes.js';

function setup() {
  const r = testContext({ connection: { maxBufferedBytes: 1 << 20, highWaterMark: 1 << 16 } });
  const peers = new PeerTable();
  const holds = new HoldQueue(r.ctx);
  const outbound = new Outbound(r.ctx, { peers, holds });
  const balanced = new Balanced(r.ctx, { peers, outbound });
  const byName = new Map<string, { peer: Peer; connection: FakeConnection }>();
  const add = (name: string, asyncTopics: string[], syncTopics: string[]) => {
    const connection = new FakeConnection();
    const peer = new Peer(connection, 'out', undefined, r.clock.now());
    peers.add(peer);
    peer.becomeReady(name, undefined, r.clock.now(), undefined);
    peers.register(peer, asyncTopics, syncTopics);
    byName.set(name, { peer, connection });
    return { peer, connection };
  };
  /** Drops a peer as `Connections.onClosed` does. */
  const lose = (name: string) => {
    const { peer } = byName.get(name)!;
    peers.unregister(peer);
    peers.remove(peer);
    outbound.requests.peerLost(name, 'connection reset');
  };
  /** The last sync request frame sent to `name`. */
  const lastRequest = (name: string): MessageFrame => {
    const sent = byName.get(name)!.connection.sent as MessageFrame[];
    return sent.filter((f) => f.kind === FrameKind.SyncRequest).at(-1) as MessageFrame;
  };
  const answer = (name: string, payload: string, ok = true) =>
    outbound.onResponse(byName.get(name)!.peer, {
      kind: ok ? FrameKind.SyncResponse : FrameKind.SyncFailure,
      topic: 'work',
      payload,
      syncToken: lastRequest(name).syncToken,
    });
  const sentTo = (name: string) => byName.get(name)!.connection.sent.length;
  /** Names of the peers sent something since the last call. */
  let seen = new Map<string, number>();
  const newlyAsked = (): string[] => {
    const now = new Map([...byName].map(([n, p]) => [n, p.connection.sent.length]));
    const out = [...now].filter(([n, c]) => c > (seen.get(n) ?? 0)).map(([n]) => n);
    seen = now;
    return out;
  };
  return { ...r, peers, outbound, balanced, add, lose, answer, lastRequest, sentTo, newlyAsked };
}

describe('Balanced', () => {
  it('sends a request to one peer, in turn, and resolves with its answer', async () => {
    const s = setup();
    for (const n of ['a', 'b', 'c']) s.add(n, [], ['work']);
    const first = s.balanced.request('work', 'x');
    expect([s.sentTo('a'), s.sentTo('b'), s.sentTo('c')]).toEqual([1, 0, 0]);
    s.answer('a', 'from a');
    await expect(first).resolves.toBe('from a');
    const second = s.balanced.request('work', 'y');
    expect([s.sentTo('a'), s.sentTo('b'), s.sentTo('c')]).toEqual([1, 1, 0]);
    s.answer('b', 'from b');
    await expect(second).resolves.toBe('from b');
    expect(s.balanced.balancer.pending('a') + s.balanced.balancer.pending('b')).toBe(0);
    expect(s.outbound.requests.size).toBe(0);
  });

  it('retries on another peer when the one asked is lost, and settles once', async () => {
    const s = setup();
    for (const n of ['a', 'b', 'c']) s.add(n, [], ['work']);
    const request = s.balanced.request('work', 'x');
    expect(s.newlyAsked()).toEqual(['a']);
    s.lose('a');
    await flush();
    const [retried, ...more] = s.newlyAsked();
    expect(more).toEqual([]);
    expect(['b', 'c']).toContain(retried);
    s.answer(retried as string, 'answer');
    await expect(request).resolves.toBe('answer');
    expect(s.newlyAsked()).toEqual([]);
    expect(s.outbound.requests.size).toBe(0);
  });

  it('rejects with PEER_LOST once the retries are used up, asking each peer at most once', async () => {
    const s = setup();
    for (const n of ['a', 'b', 'c', 'd']) s.add(n, [], ['work']);
    const settled = s.balanced.request('work', 'x', { retries: 1 }).catch((e: unknown) => e);
    const [first] = s.newlyAsked();
    s.lose(first as string);
    await flush();
    const [second] = s.newlyAsked();
    expect(second).not.toBe(first);
    s.lose(second as string);
    await flush();
    expect(await settled).toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
    expect(s.newlyAsked()).toEqual([]);
  });

  it('rejects with PEER_LOST when every peer was tried', async () => {
    const s = setup();
    for (const n of ['a', 'b']) s.add(n, [], ['work']);
    const request = s.balanced.request('work', 'x', { retries: 5 }).catch((e: unknown) => e);
    s.lose('a');
    await flush();
    s.lose('b');
    await flush();
    expect(await request).toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
  });

  it('does not retry on another peer once the node is stopping: the lost request rejects with NODE_STATUS', async () => {
    const s = setup();
    for (const n of ['a', 'b']) s.add(n, [], ['work']);
    const request = s.balanced.request('work', 'x', { retries: 3 }).catch((e: unknown) => e);
    expect(s.newlyAsked()).toEqual(['a']);
    s.setStatus('stopping');
    s.lose('a');
    await flush();
    expect(await request).toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
    expect(s.newlyAsked()).toEqual([]);
    expect(s.balanced.balancer.pending('a') + s.balanced.balancer.pending('b')).toBe(0);
    expect(s.outbound.requests.size).toBe(0);
  });

  it('never retries a failure the handler answered', async () => {
    const s = setup();
    for (const n of ['a', 'b']) s.add(n, [], ['work']);
    const request = s.balanced.request('work', 'x').catch((e: unknown) => e);
    s.answer('a', 'boom', false);
    const error = await request;
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_SYNC_FAILURE', message: 'a: boom' });
    expect(s.sentTo('b')).toBe(0);
  });

  it('retries when the send itself throws', async () => {
    const s = setup();
    const a = s.add('a', [], ['work']);
    s.add('b', [], ['work']);
    a.connection.failSends = new Error('socket closed');
    const request = s.balanced.request('work', 'x');
    await flush();
    expect(s.newlyAsked()).toEqual(['b']);
    s.answer('b', 'from b');
    await expect(request).resolves.toBe('from b');
  });

  it('times out the whole request on the clock, retries included', async () => {
    const s = setup();
    for (const n of ['a', 'b']) s.add(n, [], ['work']);
    const request = s.balanced.request('work', 'x', { timeoutMs: 1000 }).catch((e: unknown) => e);
    await s.clock.advance(600);
    s.lose('a');
    await flush();
    expect(s.newlyAsked()).toEqual(['a', 'b']);
    await s.clock.advance(399);
    expect(s.outbound.requests.size).toBe(1);
    await s.clock.advance(1);
    const error = (await request) as Error;
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_SYNC_TIMEOUT' });
    expect(error.message).toContain('after 1000 ms');
    expect(s.clock.pending).toBe(0);
  });

  it('rejects with NO_ROUTE, INVALID_ARGUMENT and NODE_STATUS as typed errors', async () => {
    const s = setup();
    await expect(s.balanced.request('work', 'x')).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NO_ROUTE' });
    s.add('a', [], ['work']);
    await expect(s.balanced.request('work', 'x', { balance: 'key' })).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_INVALID_ARGUMENT',
      argument: 'options.key',
    });
    await expect(s.balanced.request('work', 'x', { balance: 'random', key: 'k' })).rejects.toMatchObject({ argument: 'options.key' });
    await expect(s.balanced.request('work', 'x', { balance: 'fastest' as never })).rejects.toMatchObject({ argument: 'options.balance' });
    await expect(s.balanced.request('work', 'x', { retries: -1 })).rejects.toMatchObject({ argument: 'options.retries' });
    await expect(s.balanced.request('work', 'x', { timeoutMs: 0 })).rejects.toMatchObject({ argument: 'options.timeoutMs' });
    s.setStatus('stopped');
    await expect(s.balanced.request('work', 'x')).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
    expect(s.sentTo('a')).toBe(0);
  });

  it('a key implies key affinity: the same key reaches the same peer', async () => {
    const s = setup();
    for (const n of ['a', 'b', 'c', 'd']) s.add(n, [], ['work']);
    const names = ['a', 'b', 'c', 'd'];
    const targets = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const before = names.map((n) => s.sentTo(n));
      const request = s.balanced.request('work', 'x', { key: 'customer-42' });
      const name = names.find((n, k) => s.sentTo(n) > (before[k] as number)) as string;
      targets.add(name);
      s.answer(name, 'ok');
      await request;
    }
    expect(targets.size).toBe(1);
  });

  it('sends a balanced async message to one peer, in turn, or counts it unrouted', () => {
    const s = setup();
    for (const n of ['a', 'b']) s.add(n, ['news'], []);
    expect(s.balanced.asyncMessage('news', '1', { balance: 'round-robin' })).toBe(true);
    expect(s.balanced.asyncMessage('news', '2', { balance: 'round-robin' })).toBe(true);
    expect(s.balanced.asyncMessage('news', '3', { balance: 'round-robin' })).toBe(true);
    expect([s.sentTo('a'), s.sentTo('b')]).toEqual([2, 1]);
    expect(s.ctx.counters.asyncSent).toBe(3);
    expect(s.balanced.asyncMessage('other', 'x', { key: 'k' })).toBe(true);
    expect(s.ctx.counters.unroutedMessages).toBe(1);
    expect(() => s.balanced.asyncMessage('news', 'x', { balance: 'random', to: 'a' })).toThrow(
      expect.objectContaining({ argument: 'options.to' }),
    );
  });
});
