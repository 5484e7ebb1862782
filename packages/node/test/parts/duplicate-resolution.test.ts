import { type CloseInfo, FrameKind, PROTOCOL_VERSION } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Connections } from '../../src/connect/connections.js';
import { DuplicateResolution, keepsExisting } from '../../src/connect/duplicate-resolution.js';
import { Handshaker, type HandshakeSettle } from '../../src/connect/handshaker.js';
import { InboundGate } from '../../src/connect/inbound-gate.js';
import { SyncRequests } from '../../src/messaging/sync-requests.js';
import { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { FakeConnection, testContext } from './fakes.js';

const HANDSHAKE_TIMEOUT_MS = 1000;
const SUPERSEDED = 'SYSTEMGE_ERR_CONNECTION_SUPERSEDED';

/** A node named `name` on a fake clock: the handshake, the wiring and the duplicate resolution, for real. */
function setup(name: string) {
  const r = testContext({ name, connection: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS } });
  const peers = new PeerTable();
  const gate = new InboundGate(r.ctx, { connectionCount: () => peers.size });
  const lost: Peer[] = [];
  const replaced: [Peer, Peer][] = [];
  const duplicates: DuplicateResolution = new DuplicateResolution(r.ctx, {
    peers,
    gate,
    peerGone: (peer, info) => connections.peerGone(peer, info),
  });
  const handshaker = new Handshaker(r.ctx, {
    peers,
    gate,
    duplicates,
    identity: () => ({ name, asyncTopics: [], syncTopics: [], info: { instance: r.ctx.instance } }),
    onReplaced: (from, to) => void replaced.push([from, to]),
    onReady: () => {},
  });
  const connections: Connections = new Connections(r.ctx, {
    peers,
    gate,
    handshaker,
    inbound: { onMessage: () => {}, onMessageFields: () => {}, forget: () => 0, sendFailure: () => {} },
    outbound: { onResponse: () => {}, onResponseFields: () => {}, onDrain: () => {}, requests: new SyncRequests(r.ctx.counters, r.clock) },
    liveness: { onHeartbeat: () => {} },
    dialer: { onPeerLost: (p) => void lost.push(p) },
    duplicates,
  });

  /** An incoming connection from `remote` (instance `instance`) that sends its hello. */
  const accepted = (remote: string, instance: string): FakeConnection => {
    const c = new FakeConnection();
    connections.onIncoming(c);
    c.handlers?.onFrame?.({
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      name: remote,
      asyncTopics: [],
      syncTopics: [],
      info: { instance },
    });
    return c;
  };

  /** A dial to `remote`; `answer` delivers its ack (with extra info entries). */
  const dialed = (remote: string, instance: string) => {
    const c = new FakeConnection();
    const peer = new Peer(c, 'out', { host: '127.0.0.9', port: 4000 }, r.clock.now());
    const outcome: { error?: Error; survivor?: Peer; settled: boolean } = { settled: false };
    const settle: HandshakeSettle = (error, survivor) => {
      if (outcome.settled) return;
      Object.assign(outcome, { error, survivor, settled: true });
    };
    connections.attach(peer, settle);
    handshaker.dial(peer, settle);
    const answer = (extra: Record<string, string> = {}): void =>
      c.handlers?.onFrame?.({
        kind: FrameKind.HandshakeAck,
        version: PROTOCOL_VERSION,
        name: remote,
        asyncTopics: [],
        syncTopics: [],
        info: { instance, ...extra },
      });
    return { c, peer, outcome, answer };
  };

  /** Delivers the close the transport reports once a connection ended. */
  const closeReported = (c: FakeConnection, info: Partial<CloseInfo> = {}): void =>
    c.handlers?.onClose?.({
      code: c.closedWith?.code ?? 'normal',
      reason: c.closedWith?.reason ?? 'closed',
      initiator: 'local',
      error: undefined,
      ...info,
    });

  const connected = () => r.events.filter((e) => e.event === 'peer:connected').length;
  const disconnected = () => r.events.filter((e) => e.event === 'peer:disconnected');
  return { ...r, peers, gate, duplicates, accepted, dialed, closeReported, lost, replaced, connected, disconnected };
}

describe('keepsExisting (the tie-break both sides compute)', () => {
  const out = { direction: 'out' as const };
  const inn = { direction: 'in' as const };

  it('keeps the connection dialed by the node whose name sorts first, the same one on both sides', () => {
    // "alpha" and "beta" dialed each other: the connection alpha dialed wins on both sides.
    expect(keepsExisting('alpha', out, inn, 'beta')).toBe(true);
    expect(keepsExisting('alpha', inn, out, 'beta')).toBe(false);
    expect(keepsExisting('beta', inn, out, 'alpha')).toBe(true);
    expect(keepsExisting('beta', out, inn, 'alpha')).toBe(false);
  });

  it('of two connections dialed by the same node, keeps the first', () => {
    expect(keepsExisting('alpha', inn, inn, 'beta')).toBe(true);
    expect(keepsExisting('alpha', out, out, 'beta')).toBe(true);
  });
});

describe('DuplicateResolution (one connection per pair, on a fake clock)', () => {
  it('listening side: a second connection from the same instance is answered "superseded" and closed quietly', () => {
    const s = setup('self');
    const first = s.accepted('remote', 'r1');
    const second = s.accepted('remote', 'r1');
    expect(second.sent[0]).toMatchObject({ kind: FrameKind.HandshakeAck, info: { superseded: 'true' } });
    expect(second.closedWith?.code).toBe(SUPERSEDED);
    expect(first.closed).toBe(false);
    expect(s.peers.get('remote')?.connection).toBe(first);
    expect(s.ctx.counters.handshakeFailures).toBe(0);
    expect(s.events.filter((e) => e.event === 'warning')).toEqual([]);
    s.closeReported(second);
    expect(s.disconnected()).toEqual([]);
    expect(s.lost).toEqual([]);
    expect(s.gate.pendingCount).toBe(0);
  });

  it('another instance under a connected name is still a name clash', () => {
    const s = setup('self');
    s.accepted('remote', 'r1');
    const impostor = s.accepted('remote', 'r2');
    expect(impostor.closedWith?.code).toBe('SYSTEMGE_ERR_DUPLICATE_NAME');
    expect(s.ctx.counters.handshakeFailures).toBe(1);
  });

  it('listening side, the new connection wins: the old one is retired at once and closed by this side after one handshake timeout', async () => {
    const s = setup('self');
    // This node dialed "alpha"; alpha dialed this node too. alpha sorts first, so its dial wins.
    const dial = s.dialed('alpha', 'a1');
    dial.answer();
    expect(dial.outcome).toMatchObject({ settled: true, error: undefined });
    const incoming = s.accepted('alpha', 'a1');
    expect(incoming.sent[0]).toMatchObject({ kind: FrameKind.HandshakeAck });
    expect(incoming.sent[0]).not.toMatchObject({ info: { superseded: 'true' } });
    expect(s.peers.get('alpha')?.connection).toBe(incoming);
    expect(dial.peer.superseded).toBe(true);
    expect(s.replaced.map(([from, to]) => [from.direction, to.direction])).toEqual([['out', 'in']]);
    expect(s.connected()).toBe(1);
    // Normally alpha closes the old one; here it does not, so this side does after the timeout.
    expect(dial.c.closed).toBe(false);
    await s.clock.advance(HANDSHAKE_TIMEOUT_MS - 1);
    expect(dial.c.closed).toBe(false);
    await s.clock.advance(1);
    expect(dial.c.closedWith?.code).toBe(SUPERSEDED);
    s.closeReported(dial.c);
    expect(s.disconnected()).toEqual([]);
    expect(s.lost).toEqual([]);
  });

  it('dialing side, the new connection wins: the old one is closed at once and the dial resolves with the new one', () => {
    const s = setup('alpha');
    const first = s.accepted('beta', 'b1');
    const dial = s.dialed('beta', 'b1');
    dial.answer();
    expect(dial.outcome).toEqual({ settled: true, error: undefined, survivor: undefined });
    expect(first.closedWith?.code).toBe(SUPERSEDED);
    expect(s.peers.get('beta')?.connection).toBe(dial.c);
    expect(s.connected()).toBe(1);
  });

  it('dialing side, the old connection wins: the dial resolves with it and its own connection closes quietly', () => {
    const s = setup('beta');
    const first = s.accepted('alpha', 'a1');
    const dial = s.dialed('alpha', 'a1');
    dial.answer();
    expect(dial.outcome.settled).toBe(true);
    expect(dial.outcome.error).toBeUndefined();
    expect(dial.outcome.survivor?.connection).toBe(first);
    expect(dial.c.closedWith?.code).toBe(SUPERSEDED);
    s.closeReported(dial.c);
    expect(dial.outcome.error).toBeUndefined();
    expect(s.ctx.counters.handshakeFailures).toBe(0);
  });

  it('a dial answered "superseded" resolves with the kept connection once it is ready here', () => {
    const s = setup('beta');
    const dial = s.dialed('alpha', 'a1');
    dial.answer({ superseded: 'true' });
    expect(dial.c.closedWith?.code).toBe(SUPERSEDED);
    expect(dial.outcome.settled).toBe(false);
    const kept = s.accepted('alpha', 'a1');
    expect(dial.outcome.settled).toBe(true);
    expect(dial.outcome.survivor?.connection).toBe(kept);
  });

  it('a dial answered "superseded" fails after one handshake timeout when the kept connection never comes', async () => {
    const s = setup('beta');
    const dial = s.dialed('alpha', 'a1');
    dial.answer({ superseded: 'true' });
    s.closeReported(dial.c);
    await s.clock.advance(HANDSHAKE_TIMEOUT_MS - 1);
    expect(dial.outcome.settled).toBe(false);
    await s.clock.advance(1);
    expect(dial.outcome.error?.message).toBe('peer "alpha" kept another connection to beta, which did not complete within 1000 ms');
    // The dial's own handshake timeout found a superseded connection: not counted as a failure.
    expect(s.ctx.counters.handshakeFailures).toBe(0);
  });

  it('a ready connection the remote superseded waits quietly for its replacement, which continues it', async () => {
    const s = setup('self');
    const dial = s.dialed('alpha', 'a1');
    dial.answer();
    s.closeReported(dial.c, { code: SUPERSEDED, reason: 'another connection between these nodes is kept', initiator: 'remote' });
    expect(s.disconnected()).toEqual([]);
    const kept = s.accepted('alpha', 'a1');
    expect(s.peers.get('alpha')?.connection).toBe(kept);
    expect(s.replaced.map(([from, to]) => [from, to.connection])).toEqual([[dial.peer, kept]]);
    expect(s.connected()).toBe(1);
    await s.clock.advance(HANDSHAKE_TIMEOUT_MS * 2);
    expect(s.disconnected()).toEqual([]);
    expect(s.lost).toEqual([]);
  });

  it('when the replacement never comes, the loss is reported after one handshake timeout', async () => {
    const s = setup('self');
    const dial = s.dialed('alpha', 'a1');
    dial.answer();
    s.closeReported(dial.c, { code: SUPERSEDED, reason: 'kept another', initiator: 'remote' });
    await s.clock.advance(HANDSHAKE_TIMEOUT_MS - 1);
    expect(s.disconnected()).toEqual([]);
    await s.clock.advance(1);
    expect(s.disconnected().map((e) => (e.args[1] as { reason: string }).reason)).toEqual([
      'kept another; the kept connection did not complete',
    ]);
    expect(s.lost).toEqual([dial.peer]);
  });

  it('a superseded close while stopping is an ordinary loss; shutdown drops the waits', async () => {
    const stopping = setup('self');
    const dial = stopping.dialed('alpha', 'a1');
    dial.answer();
    stopping.setStatus('stopping');
    stopping.closeReported(dial.c, { code: SUPERSEDED, reason: 'kept another', initiator: 'remote' });
    expect(stopping.disconnected()).toHaveLength(1);

    const s = setup('self');
    const other = s.dialed('alpha', 'a1');
    other.answer();
    s.closeReported(other.c, { code: SUPERSEDED, reason: 'kept another', initiator: 'remote' });
    s.duplicates.shutdown();
    await s.clock.advance(HANDSHAKE_TIMEOUT_MS * 2);
    expect(s.disconnected()).toEqual([]);
  });

  it('answers on the current connection: a request that came on a superseded connection is answered on its successor', () => {
    const s = setup('self');
    const dial = s.dialed('alpha', 'a1');
    dial.answer();
    expect(s.duplicates.currentConnectionOf(dial.peer)).toBe(dial.peer);
    s.accepted('alpha', 'a1');
    const successor = s.peers.get('alpha');
    expect(successor).not.toBe(dial.peer);
    expect(s.duplicates.currentConnectionOf(dial.peer)).toBe(successor);
  });
});
