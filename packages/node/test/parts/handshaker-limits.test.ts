import { FrameKind, type Frame, type HandshakeAckFrame, PROTOCOL_VERSION, resolveLimits } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { DuplicateResolution } from '../../src/connect/duplicate-resolution.js';
import { HANDSHAKE_TOPIC_BYTES } from '../../src/connect/handshake-topics.js';
import { Handshaker } from '../../src/connect/handshaker.js';
import { InboundGate } from '../../src/connect/inbound-gate.js';
import { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { FakeConnection, testContext } from './fakes.js';

/** Topic names of 20 bytes each: `count` of them take about 25 bytes each in a topic list. */
const topics = (count: number, prefix = 't'): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(19, '0')}`);

function setup(name: string, asyncTopics: string[] = [], syncTopics: string[] = []) {
  const r = testContext({ name });
  const peers = new PeerTable();
  const gate = new InboundGate(r.ctx, { connectionCount: () => peers.size });
  const duplicates: DuplicateResolution = new DuplicateResolution(r.ctx, { peers, gate, peerGone: () => {} });
  const ready: string[] = [];
  const handshaker = new Handshaker(r.ctx, {
    peers,
    gate,
    duplicates,
    identity: () => ({ name, asyncTopics, syncTopics, info: { instance: r.ctx.instance }, limits: r.ctx.config.limits }),
    onReplaced: () => {},
    onReady: (peer) => void ready.push(peer.name),
  });
  /** An accepted connection whose hello (with `limits`, `instance`) arrives now. */
  const hello = (remote: string, instance: string, limits?: object): { c: FakeConnection; peer: Peer } => {
    const c = new FakeConnection();
    const peer = new Peer(c, 'in', undefined, r.clock.now());
    peers.add(peer);
    gate.addPending(peer);
    handshaker.accept(peer);
    handshaker.onHello(peer, {
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      name: remote,
      asyncTopics: [],
      syncTopics: [],
      info: { instance },
      limits: limits as never,
    });
    return { c, peer };
  };
  return { ...r, peers, gate, handshaker, hello, ready };
}

/** Every topic announced on a connection: the handshake frame's lists, then each TopicsAdded frame. */
function announced(sent: Frame[]): string[] {
  const out: string[] = [];
  for (const f of sent) {
    if (f.kind === FrameKind.Handshake || f.kind === FrameKind.HandshakeAck || f.kind === FrameKind.TopicsAdded) {
      out.push(...f.asyncTopics, ...f.syncTopics);
    }
  }
  return out;
}

describe('Handshaker: limits exchanged in the handshake', () => {
  it("refuses when this node's name is over the dialer's maxNodeNameBytes, before judging the dialer's name", () => {
    const s = setup('a-rather-long-node-name');
    s.hello('remote', 'r1');
    expect(s.peers.get('remote')).toBeDefined();
    // Another instance under a connected name would be a name clash; the limit is checked first.
    const { c } = s.hello('remote', 'r2', { maxNodeNameBytes: 8 });
    expect(c.closedWith?.code).toBe('SYSTEMGE_ERR_FIELD_TOO_LARGE');
    expect(c.closedWith?.reason).toBe('name of 23 bytes exceeds maxNodeNameBytes 8 of peer "remote"');
    expect(c.peerLimits).toEqual({ limits: { maxNodeNameBytes: 8 }, owner: 'peer "remote"' });
    expect(s.ctx.counters.handshakeFailures).toBe(1);
  });

  it("answers with what fits half the dialer's first-frame cap; the rest follows in topic frames before anything else", () => {
    const all = topics(1000);
    const s = setup('self', all, ['sync-one']);
    const { c } = s.hello('remote', 'r1', { maxHandshakeFrameBytes: 16 * 1024 });
    const [ack, ...rest] = c.sent;
    expect(ack).toMatchObject({ kind: FrameKind.HandshakeAck, limits: resolveLimits() });
    const inAck = (ack as HandshakeAckFrame).asyncTopics.length;
    expect(inAck).toBeGreaterThan(0);
    expect(inAck * 25).toBeLessThanOrEqual(8 * 1024);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((f) => f.kind === FrameKind.TopicsAdded)).toBe(true);
    expect(announced(c.sent)).toEqual([...all, 'sync-one']);
    expect(s.ready).toEqual(['remote']);
  });

  it('a dialer that announced no limits gets every topic in the answer', () => {
    const all = topics(1000);
    const s = setup('self', all);
    const { c } = s.hello('remote', 'r1');
    expect(c.sent).toHaveLength(1);
    expect((c.sent[0] as HandshakeAckFrame).asyncTopics).toEqual(all);
  });

  it('an answer that supersedes the connection carries the limits and no topics', () => {
    const s = setup('self', topics(3));
    s.hello('remote', 'r1');
    const { c } = s.hello('remote', 'r1', { maxHandshakeFrameBytes: 16 * 1024 });
    expect(c.sent).toEqual([
      expect.objectContaining({
        kind: FrameKind.HandshakeAck,
        asyncTopics: [],
        syncTopics: [],
        info: expect.objectContaining({ superseded: 'true' }),
        limits: resolveLimits(),
      }),
    ]);
    expect(c.closedWith?.code).toBe('SYSTEMGE_ERR_CONNECTION_SUPERSEDED');
  });

  it("dial: the hello carries what fits any peer; the rest follows once the listener's limits are known", () => {
    const all = topics(1000);
    const s = setup('self', all);
    const c = new FakeConnection();
    const peer = new Peer(c, 'out', { host: '127.0.0.9', port: 4000 }, s.clock.now());
    s.peers.add(peer);
    s.handshaker.dial(peer, () => {});
    const hello = c.sent[0] as HandshakeAckFrame;
    expect(hello.kind).toBe(FrameKind.Handshake);
    expect(hello.asyncTopics.length * 25).toBeLessThanOrEqual(HANDSHAKE_TOPIC_BYTES);
    expect(hello.asyncTopics.length).toBeLessThan(all.length);
    s.handshaker.onAck(
      peer,
      {
        kind: FrameKind.HandshakeAck,
        version: PROTOCOL_VERSION,
        name: 'remote',
        asyncTopics: [],
        syncTopics: [],
        info: { instance: 'r1' },
        limits: { maxTopicBytes: 64 },
      },
      () => {},
    );
    expect(c.peerLimits).toEqual({ limits: { maxTopicBytes: 64 }, owner: 'peer "remote"' });
    expect(announced(c.sent)).toEqual(all);
    expect(s.ready).toEqual(['remote']);
  });

  it("topics over the peer's maxTopicBytes are not announced to it, with one warning", () => {
    const s = setup('self', ['short', 'x'.repeat(40)]);
    const { c } = s.hello('remote', 'r1', { maxTopicBytes: 16 });
    expect(announced(c.sent)).toEqual(['short']);
    const warnings = s.events.filter((e) => e.event === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.args[0]).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE' });
  });
});
