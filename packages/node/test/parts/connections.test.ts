import { FrameKind, type MessageFrame, PROTOCOL_VERSION } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Connections } from '../../src/connect/connections.js';
import { DuplicateResolution } from '../../src/connect/duplicate-resolution.js';
import { Handshaker } from '../../src/connect/handshaker.js';
import { InboundGate } from '../../src/connect/inbound-gate.js';
import type { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { SyncRequests } from '../../src/messaging/sync-requests.js';
import { FakeConnection, testContext } from './fakes.js';

function setup() {
  const r = testContext({ name: 'self' });
  const peers = new PeerTable();
  const gate = new InboundGate(r.ctx, { connectionCount: () => peers.size });
  const duplicates = new DuplicateResolution(r.ctx, { peers, gate, peerGone: (p, i) => connections.peerGone(p, i) });
  const handshaker = new Handshaker(r.ctx, {
    peers,
    gate,
    duplicates,
    identity: () => ({ name: 'self', asyncTopics: [], syncTopics: ['ping'], info: {} }),
    onReplaced: () => {},
    onReady: () => {},
  });
  const delivered: MessageFrame[] = [];
  const responses: MessageFrame[] = [];
  const lost: Peer[] = [];
  const requests = new SyncRequests(r.ctx.counters, r.clock);
  const connections = new Connections(r.ctx, {
    peers,
    gate,
    handshaker,
    inbound: {
      onMessage: (_p, f) => void delivered.push(f),
      onMessageFields: (_p, kind, topic, payload, syncToken) => void delivered.push({ kind, topic, payload, syncToken }),
      forget: () => 0,
      sendFailure: () => {},
    },
    outbound: {
      onResponse: () => {},
      onResponseFields: (_p, kind, topic, payload, syncToken) => void responses.push({ kind, topic, payload, syncToken }),
      onDrain: () => {},
      requests,
    },
    liveness: { onHeartbeat: () => {} },
    dialer: { onPeerLost: (p) => void lost.push(p) },
    duplicates,
  });
  const accept = (): FakeConnection => {
    const c = new FakeConnection();
    connections.onIncoming(c);
    return c;
  };
  const hello = (c: FakeConnection, name = 'remote'): void =>
    c.handlers?.onFrame?.({ kind: FrameKind.Handshake, version: PROTOCOL_VERSION, name, asyncTopics: [], syncTopics: [] });
  const message: MessageFrame = { kind: FrameKind.AsyncMessage, topic: 't', payload: 'x', syncToken: undefined };
  return { ...r, peers, gate, connections, delivered, responses, lost, accept, hello, message };
}

describe('Connections (frame routing by peer state)', () => {
  it('closes a connection whose first frame is not a handshake; nothing reaches the handlers', () => {
    const s = setup();
    const c = s.accept();
    c.handlers?.onFrame?.(s.message);
    expect(c.closedWith).toEqual({ reason: 'expected a handshake, got frame kind 1', code: 'SYSTEMGE_ERR_HANDSHAKE' });
    expect(s.delivered).toEqual([]);
    expect(s.ctx.counters.handshakeFailures).toBe(1);
  });

  it('answers a valid handshake, then hands messages to inbound', () => {
    const s = setup();
    const c = s.accept();
    expect(s.gate.pendingCount).toBe(1);
    s.hello(c);
    expect(c.sent[0]).toMatchObject({ kind: FrameKind.HandshakeAck, name: 'self', syncTopics: ['ping'] });
    expect(s.gate.pendingCount).toBe(0);
    expect(s.peers.get('remote')?.state).toBe('ready');
    c.handlers?.onFrame?.(s.message);
    expect(s.delivered).toEqual([s.message]);
    expect(s.events.map((e) => e.event)).toEqual(['peer:connected']);
  });

  it('routes message fields like frames: a violation before the handshake, then messages to inbound and responses to outbound', () => {
    const s = setup();
    const early = s.accept();
    early.handlers?.onMessage?.(FrameKind.SyncRequest, 'ping', 'x', 'tok', undefined);
    expect(early.closedWith).toEqual({ reason: 'expected a handshake, got frame kind 2', code: 'SYSTEMGE_ERR_HANDSHAKE' });

    const c = s.accept();
    s.hello(c);
    c.handlers?.onMessage?.(FrameKind.AsyncMessage, 't', 'x', undefined, undefined);
    c.handlers?.onMessage?.(FrameKind.SyncRequest, 'ping', { n: 1 }, 'tok', 6);
    c.handlers?.onMessage?.(FrameKind.SyncResponse, 'ping', 'pong', 'mine', undefined);
    c.handlers?.onMessage?.(FrameKind.SyncFailure, 'ping', 'no', 'mine2', undefined);
    expect(s.delivered).toEqual([s.message, { kind: FrameKind.SyncRequest, topic: 'ping', payload: { n: 1 }, syncToken: 'tok' }]);
    expect(s.responses).toEqual([
      { kind: FrameKind.SyncResponse, topic: 'ping', payload: 'pong', syncToken: 'mine' },
      { kind: FrameKind.SyncFailure, topic: 'ping', payload: 'no', syncToken: 'mine2' },
    ]);
    expect(s.events.filter((e) => e.event === 'peer:connected')).toHaveLength(1);
  });

  it('treats a second handshake after the first as a protocol violation', () => {
    const s = setup();
    const c = s.accept();
    s.hello(c);
    s.hello(c);
    expect(c.closedWith?.reason).toBe('unexpected handshake after the handshake');
  });

  it('on close: forgets the peer, and reports a loss to the dialer only when this side did not close it', async () => {
    const s = setup();
    const gone = s.accept();
    s.hello(gone, 'gone');
    gone.handlers?.onClose?.({ code: 'SYSTEMGE_ERR_CONNECTION_CLOSED', reason: 'reset', initiator: 'remote', error: undefined });
    expect(s.peers.get('gone')).toBeUndefined();
    expect(s.peers.size).toBe(0);
    expect(s.lost.map((p) => p.name)).toEqual(['gone']);
    expect(s.ctx.counters.connectionsLost).toBe(1);

    const closed = s.accept();
    s.hello(closed, 'closed');
    await s.peers.get('closed')?.close('bye', 'normal');
    closed.handlers?.onClose?.({ code: 'normal', reason: 'bye', initiator: 'local', error: undefined });
    expect(s.lost).toHaveLength(1);
    expect(s.events.filter((e) => e.event === 'peer:disconnected')).toHaveLength(2);
  });

  it('a fatal codec error before the handshake (first frame too large) drops the connection at once, counted and reported', () => {
    const s = setup();
    const c = s.accept();
    const error = Object.assign(new Error('frame of 70000 bytes exceeds maxHandshakeFrameBytes 65536'), {
      code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE',
      fatal: true,
    });
    c.handlers?.onError?.(error as never);
    expect(c.closedWith).toEqual({ reason: error.message, code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE' });
    expect(s.gate.pendingCount).toBe(0);
    expect(s.ctx.counters.handshakeFailures).toBe(1);
    expect(s.events.map((e) => e.event)).toEqual(['warning']);
  });

  it('refuses new connections while the node is stopping', () => {
    const s = setup();
    s.setStatus('stopping');
    const c = s.accept();
    expect(c.closedWith).toEqual({ reason: 'node is stopping', code: 'SYSTEMGE_ERR_NODE_STOPPED' });
    expect(s.peers.size).toBe(0);
  });
});
