import { FrameKind, type MessageFrame } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { HoldQueue } from '../../src/messaging/hold-queue.js';
import { Outbound } from '../../src/messaging/outbound.js';
import { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { FakeConnection, testContext } from './fakes.js';

function setup() {
  const r = testContext({ connection: { maxBufferedBytes: 1 << 20, highWaterMark: 1 << 16 } });
  const peers = new PeerTable();
  const holds = new HoldQueue(r.ctx);
  const outbound = new Outbound(r.ctx, { peers, holds });
  const add = (name: string, asyncTopics: string[], syncTopics: string[]): { peer: Peer; connection: FakeConnection } => {
    const connection = new FakeConnection();
    const peer = new Peer(connection, 'out', undefined, r.clock.now());
    peers.add(peer);
    peer.becomeReady(name, undefined, r.clock.now(), undefined);
    peers.register(peer, asyncTopics, syncTopics);
    return { peer, connection };
  };
  return { ...r, peers, holds, outbound, add };
}

describe('Outbound', () => {
  it('counts and ignores a response whose token has no pending request', () => {
    const s = setup();
    const { peer } = s.add('a', [], ['ping']);
    const request = s.outbound.syncRequest('ping', 'x');
    const frame = (token: string): MessageFrame => ({ kind: FrameKind.SyncResponse, topic: 'ping', payload: 'pong', syncToken: token });
    s.outbound.onResponse(peer, frame(request.token));
    s.outbound.onResponse(peer, frame(request.token));
    s.outbound.onResponse(peer, frame('never-issued'));
    expect(s.ctx.counters).toMatchObject({ syncResponsesReceived: 3, unknownTokenResponses: 2 });
    return expect(request.first()).resolves.toBe('pong');
  });

  it('first() settles with outcome complete or max-responses, not cancelled', async () => {
    const s = setup();
    const a = s.add('a', [], ['ping']);
    const b = s.add('b', [], ['ping']);
    const answer = (peer: typeof a.peer, token: string) =>
      s.outbound.onResponse(peer, { kind: FrameKind.SyncResponse, topic: 'ping', payload: `from ${peer.name}`, syncToken: token });
    const one = s.outbound.syncRequest('ping', 'x', { maxResponses: 1 });
    const first = one.first();
    answer(a.peer, one.token);
    expect(await first).toBe('from a');
    expect([one.outcome, one.missing]).toEqual(['max-responses', ['b']]);
    const both = s.outbound.syncRequest('ping', 'x');
    const early = both.first();
    answer(b.peer, both.token);
    expect(await early).toBe('from b');
    expect(both.outcome).toBe('max-responses');
    const single = s.outbound.syncRequest('ping', 'x', { to: 'a' });
    const only = single.first();
    answer(a.peer, single.token);
    expect(await only).toBe('from a');
    expect(single.outcome).toBe('complete');
    // The shared deadline sweep keeps its one timer until it next fires, finds nothing and stops.
    await s.clock.advance(10_000);
    expect(s.clock.pending).toBe(0);
  });

  it('settles a sync request at its timeout with the answers it has, on the clock', async () => {
    const s = setup();
    const a = s.add('a', [], ['ping']);
    s.add('b', [], ['ping']);
    const request = s.outbound.syncRequest('ping', 'x', { timeoutMs: 1000 });
    s.outbound.onResponse(a.peer, { kind: FrameKind.SyncResponse, topic: 'ping', payload: 'from a', syncToken: request.token });
    await s.clock.advance(999);
    expect(request.outcome).toBeUndefined();
    await s.clock.advance(1);
    expect(request.outcome).toBe('timeout');
    expect(request.missing).toEqual(['b']);
    expect(s.ctx.counters.syncTimeouts).toBe(1);
    expect(s.clock.pending).toBe(0);
  });

  it('settles a sync request with PEER_LOST when its target goes, and its deadline is dropped', async () => {
    const s = setup();
    s.add('a', [], ['ping']);
    const request = s.outbound.syncRequest('ping', 'x', { timeoutMs: 1000 });
    expect(s.clock.pending).toBe(1);
    s.outbound.requests.peerLost('a', 'gone');
    await expect(request.first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
    expect(s.outbound.requests.sweep.size).toBe(0);
    // The shared sweep timer is not cleared per request: it fires once with nothing due and stops.
    await s.clock.advance(1000);
    expect(s.clock.pending).toBe(0);
    expect(s.ctx.counters.syncTimeouts).toBe(0);
  });

  it('runs every pending request on one timer: a thousand requests arm one', async () => {
    const s = setup();
    s.add('a', [], ['ping']);
    const requests = Array.from({ length: 1000 }, (_, i) => s.outbound.syncRequest('ping', 'x', { timeoutMs: 1000 + (i % 7) }));
    expect(s.clock.pending).toBe(1);
    await s.clock.advance(999);
    expect(requests.every((r) => r.outcome === undefined)).toBe(true);
    await s.clock.advance(1 + 6 + 10);
    expect(requests.every((r) => r.outcome === 'timeout')).toBe(true);
    expect(s.ctx.counters.syncTimeouts).toBe(1000);
    expect(s.clock.pending).toBe(0);
  });

  it('onFirst calls back with the payload, once, and never from inside onFirst', async () => {
    const s = setup();
    const { peer } = s.add('a', [], ['ping']);
    const request = s.outbound.syncRequest('ping', 'x');
    const calls: [Error | undefined, unknown][] = [];
    request.onFirst((error, payload) => calls.push([error, payload]));
    s.outbound.onResponse(peer, { kind: FrameKind.SyncResponse, topic: 'ping', payload: 'pong', syncToken: request.token });
    expect(calls).toEqual([[undefined, 'pong']]);
    const late: [Error | undefined, unknown][] = [];
    request.onFirst((error, payload) => late.push([error, payload]));
    expect(late).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    // Registered after the request was cancelled by the first answer: what first() would say then.
    expect(late.length).toBe(1);
    expect(calls.length).toBe(1);
  });

  it('onFirst reports a timeout as SYNC_TIMEOUT and logs a callback that throws', async () => {
    const s = setup();
    s.add('a', [], ['ping']);
    const request = s.outbound.syncRequest('ping', 'x', { timeoutMs: 50 });
    const errors: unknown[] = [];
    request.onFirst((error) => {
      errors.push(error);
      throw new Error('callback bug');
    });
    await s.clock.advance(50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'SYSTEMGE_ERR_SYNC_TIMEOUT' });
    expect(s.logs.some((l) => l.level === 'error' && l.msg === 'a sync request callback threw')).toBe(true);
  });

  it('gives each request a distinct token with one random prefix per node', () => {
    const s = setup();
    s.add('a', [], ['ping']);
    const tokens = Array.from({ length: 100 }, () => s.outbound.syncRequest('ping', 'x').token);
    expect(new Set(tokens).size).toBe(100);
    const prefix = (tokens[0] as string).slice(0, 22);
    expect(tokens.every((t) => t.startsWith(prefix) && t.length <= 64)).toBe(true);
    const other = setup();
    other.add('a', [], ['ping']);
    expect(other.outbound.syncRequest('ping', 'x').token.startsWith(prefix)).toBe(false);
  });

  it('refuses to send over maxBufferedBytes with a typed error and counts it', () => {
    const s = setup();
    const { connection } = s.add('a', ['news'], []);
    connection.bufferedBytes = (1 << 20) + 1;
    expect(() => s.outbound.asyncMessage('news', 'x')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_BACKPRESSURE' }));
    expect(s.ctx.counters.backpressureRejections).toBe(1);
    expect(connection.sent).toEqual([]);
  });

  it('refuses to send unless the node is starting or started', async () => {
    const s = setup();
    s.setStatus('stopping');
    expect(() => s.outbound.asyncMessage('news', 'x')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_NODE_STATUS' }));
    await expect(s.outbound.syncRequest('ping', 'x').first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
  });

  it('drained() waits while a peer is over its high-water mark and resolves on its drain', async () => {
    const s = setup();
    const { connection } = s.add('a', ['news'], []);
    connection.writable = false;
    let done = false;
    const drained = s.outbound.drained().then(() => {
      done = true;
    });
    s.outbound.onDrain();
    await Promise.resolve();
    expect(done).toBe(false);
    connection.writable = true;
    s.outbound.onDrain();
    await drained;
    expect(done).toBe(true);
  });
});
