import { encodingSet, FrameKind, type MessageFrame } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Balanced } from '../../src/messaging/balanced.js';
import { emptyHoldSlot, HoldQueue } from '../../src/messaging/hold-queue.js';
import { Outbound } from '../../src/messaging/outbound.js';
import { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { FakeConnection, flush, testContext } from './fakes.js';

/*
 * A structured payload never goes to a peer that did not announce msgpack in its handshake (a node
 * that predates structured payloads closes the connection on one). Named peers fail the send, a
 * topic's route skips them and reports them, balanced sends never pick them.
 */

const UNSUPPORTED = 'SYSTEMGE_ERR_PAYLOAD_ENCODING_UNSUPPORTED';

function setup(whileReconnecting: 'queue' | 'reject' = 'reject') {
  const r = testContext({ connection: { maxBufferedBytes: 1 << 20, highWaterMark: 1 << 16, whileReconnecting } });
  const peers = new PeerTable();
  const holds = new HoldQueue(r.ctx);
  const outbound = new Outbound(r.ctx, { peers, holds });
  const balanced = new Balanced(r.ctx, { peers, outbound });
  const byName = new Map<string, { peer: Peer; connection: FakeConnection }>();
  /** A peer; `old` ones announced no encodings in their handshake. */
  const add = (name: string, old: boolean, topics: string[] = ['work']) => {
    const connection = new FakeConnection();
    const peer = new Peer(connection, 'out', undefined, r.clock.now());
    peers.add(peer);
    peer.becomeReady(name, undefined, r.clock.now(), undefined);
    peer.encodings = encodingSet(old ? undefined : ['text', 'bytes', 'msgpack']);
    peers.register(peer, topics, topics);
    byName.set(name, { peer, connection });
    return { peer, connection };
  };
  const sent = (name: string) => byName.get(name)?.connection.sent as MessageFrame[];
  const answer = (name: string, payload: unknown) => {
    const request = sent(name)
      .filter((f) => f.kind === FrameKind.SyncRequest)
      .at(-1) as MessageFrame;
    outbound.onResponse(byName.get(name)?.peer as Peer, {
      kind: FrameKind.SyncResponse,
      topic: request.topic,
      payload,
      syncToken: request.syncToken,
    });
  };
  const warnings = () => r.events.filter((e) => e.event === 'warning').map((e) => e.args[0] as { code: string; message: string });
  return { ...r, peers, holds, outbound, balanced, add, sent, answer, warnings };
}

describe('payload encodings a peer accepts', () => {
  it('an async broadcast skips a peer that cannot take an object, warns once per peer and topic, and counts each skip', () => {
    const s = setup();
    s.add('new', false);
    s.add('old', true);
    s.outbound.asyncMessage('work', { n: 1 });
    s.outbound.asyncMessage('work', { n: 2 });
    s.outbound.asyncMessage('work', 'text for all');
    expect(s.sent('new').map((f) => f.payload)).toEqual([{ n: 1 }, { n: 2 }, 'text for all']);
    expect(s.sent('old').map((f) => f.payload)).toEqual(['text for all']);
    expect(s.warnings()).toHaveLength(1);
    expect(s.warnings()[0]).toMatchObject({ code: UNSUPPORTED, topic: 'work', peers: ['old'] });
    expect(s.warnings()[0]?.message).toContain('peer "old"');
    expect(s.ctx.counters.encodingRefusals).toBe(2);
    expect(s.ctx.counters.asyncSent).toBe(4);
  });

  it('an object to a named peer that cannot take it, or to a topic no peer can take it on, throws before anything is sent', () => {
    const s = setup();
    s.add('new', false);
    s.add('old', true, ['work', 'legacy']);
    expect(() => s.outbound.asyncMessage('work', { n: 1 }, { to: 'old' })).toThrow(
      expect.objectContaining({ code: UNSUPPORTED, topic: 'work', peers: ['old'] }),
    );
    expect(() => s.outbound.asyncMessage('work', { n: 1 }, { to: ['new', 'old'] })).toThrow(expect.objectContaining({ code: UNSUPPORTED }));
    expect(() => s.outbound.asyncMessage('legacy', [1, 2])).toThrow(expect.objectContaining({ code: UNSUPPORTED, topic: 'legacy' }));
    expect(s.sent('new')).toEqual([]);
    expect(s.sent('old')).toEqual([]);
    // Bytes and text always go.
    s.outbound.asyncMessage('work', new Uint8Array([1]), { to: 'old' });
    expect(s.sent('old')).toHaveLength(1);
  });

  it('a scatter lists a skipped peer as a failed response and still waits for the others (maxResponses counts sent ones)', async () => {
    const s = setup();
    s.add('new', false);
    s.add('old', true);
    const request = s.outbound.syncRequest('work', { q: 1 }, { maxResponses: 1 });
    expect(s.sent('old')).toEqual([]);
    expect(s.sent('new')).toHaveLength(1);
    expect(request.outcome).toBeUndefined();
    const first = request.first();
    s.answer('new', { a: 1 });
    await expect(first).resolves.toEqual({ a: 1 });
    const all = await request.all();
    expect(all).toEqual([
      { origin: 'old', ok: false, error: expect.stringContaining('msgpack-encoded'), code: UNSUPPORTED },
      { origin: 'new', ok: true, payload: { a: 1 } },
    ]);
    expect(request.outcome).toBe('complete');
    expect(s.warnings().map((w) => w.code)).toEqual([UNSUPPORTED]);
  });

  it('a scatter whose only answering peer times out rejects first() with the timeout, not the skipped peer', async () => {
    const s = setup();
    s.add('new', false);
    s.add('old', true);
    const first = expect(s.outbound.syncRequest('work', { q: 1 }, { timeoutMs: 100 }).first()).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_SYNC_TIMEOUT',
    });
    await s.clock.advance(100);
    await first;
  });

  it('a sync request naming a peer that cannot take an object fails with the typed error', async () => {
    const s = setup();
    s.add('old', true);
    await expect(s.outbound.syncRequest('work', { q: 1 }, { to: 'old' }).first()).rejects.toMatchObject({
      code: UNSUPPORTED,
      peers: ['old'],
    });
    await expect(s.outbound.syncRequest('work', { q: 1 }).first()).rejects.toMatchObject({ code: UNSUPPORTED });
    expect(s.sent('old')).toEqual([]);
  });

  it('balanced requests and async sends never pick a peer that cannot take the payload', async () => {
    const s = setup();
    s.add('a', false);
    s.add('old', true);
    s.add('b', false);
    for (let i = 0; i < 6; i++) {
      const reply = s.balanced.request('work', { i });
      const target = ['a', 'b'].find((n) =>
        s.sent(n).some((f) => f.kind === FrameKind.SyncRequest && (f.payload as { i: number }).i === i),
      );
      expect(target).toBeDefined();
      s.answer(target as string, i);
      await expect(reply).resolves.toBe(i);
      s.balanced.asyncMessage('work', { i }, { balance: 'random' });
    }
    expect(s.sent('old')).toEqual([]);
    // Strings may go to any of the three.
    for (let i = 0; i < 3; i++) s.balanced.asyncMessage('work', `s${i}`, { balance: 'round-robin' });
    expect(s.sent('old').map((f) => f.payload)).toHaveLength(1);
    expect(s.ctx.counters.balancedRequestsNoPeer + s.ctx.counters.balancedAsyncNoPeer).toBe(0);
  });

  it('with only peers that cannot take it, balanced sends fail with the typed error and are counted as finding no peer', async () => {
    const s = setup();
    s.add('old', true);
    await expect(s.balanced.request('work', { q: 1 })).rejects.toMatchObject({ code: UNSUPPORTED, peers: ['old'] });
    expect(() => s.balanced.asyncMessage('work', { q: 1 }, { balance: 'round-robin' })).toThrow(
      expect.objectContaining({ code: UNSUPPORTED }),
    );
    await expect(s.balanced.request('nothing', 'x')).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NO_ROUTE' });
    s.balanced.asyncMessage('nothing', 'x', { balance: 'random' });
    expect(s.ctx.counters).toMatchObject({ balancedRequestsNoPeer: 2, balancedAsyncNoPeer: 2, encodingRefusals: 2 });
    expect(s.sent('old')).toEqual([]);
  });
});

describe('requests open to a peer (least-pending)', () => {
  it('counts every sync request until that peer answers or the request settles: balanced, to one peer, scatter', async () => {
    const s = setup();
    s.add('a', false);
    s.add('b', false);
    const pending = () => [s.outbound.requests.pendingTo('a'), s.outbound.requests.pendingTo('b')];
    const toA = s.outbound.syncRequest('work', 'x', { to: 'a' });
    expect(pending()).toEqual([1, 0]);
    const scatter = s.outbound.syncRequest('work', 'y', { timeoutMs: 1000 });
    expect(pending()).toEqual([2, 1]);
    s.answer('b', 'from b');
    expect(pending()).toEqual([2, 0]);
    // least-pending now prefers b, which has nothing open.
    const balanced = s.balanced.request('work', 'z', { balance: 'least-pending' });
    expect(s.sent('b').at(-1)?.payload).toBe('z');
    expect(pending()).toEqual([2, 1]);
    s.answer('b', 'z done');
    await expect(balanced).resolves.toBe('z done');
    expect(pending()).toEqual([2, 0]);
    toA.cancel();
    expect(pending()).toEqual([1, 0]);
    await s.clock.advance(1000);
    expect(scatter.outcome).toBe('timeout');
    expect(pending()).toEqual([0, 0]);
  });

  it('a retried balanced request is counted, and a lost peer no longer counts as open', async () => {
    const s = setup();
    s.add('a', false);
    s.add('b', false);
    const reply = s.balanced.request('work', 'x', { retries: 1 });
    expect(s.outbound.requests.pendingTo('a')).toBe(1);
    s.peers.unregister(s.peers.get('a') as Peer);
    s.outbound.requests.peerLost('a', 'connection reset');
    expect(s.outbound.requests.pendingTo('a')).toBe(0);
    await flush();
    expect(s.outbound.requests.pendingTo('b')).toBe(1);
    s.answer('b', 'ok');
    await expect(reply).resolves.toBe('ok');
    expect(s.ctx.counters.balancedRetries).toBe(1);
  });
});

describe('messages held for a reconnecting peer', () => {
  it('an object held for a peer that comes back as an older node is discarded and reported, not sent', () => {
    const s = setup('queue');
    const before = s.add('worker', false);
    const owner = { endpoint: { host: '127.0.0.1', port: 1 }, hold: emptyHoldSlot() };
    s.holds.markReconnecting(owner, before.peer);
    s.holds.hold([s.holds.check(owner, 'worker', 'work')], 'work', { n: 1 });
    s.holds.hold([s.holds.check(owner, 'worker', 'work')], 'work', 'as text');
    const after = s.add('worker-again', true);
    s.holds.flush(owner, after.peer);
    expect(after.connection.sent.map((f) => (f as MessageFrame).payload)).toEqual(['as text']);
    expect(s.ctx.counters).toMatchObject({ encodingRefusals: 1, reconnectQueueDiscarded: 1 });
    expect(s.warnings().map((w) => w.code)).toEqual(['SYSTEMGE_ERR_QUEUED_MESSAGES_DISCARDED']);
    expect(s.warnings()[0]?.message).toContain('payload encoding not accepted');
  });
});
