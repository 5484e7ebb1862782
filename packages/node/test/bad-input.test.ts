import { FrameKind, type GoodbyeFrame, type MessageFrame, PROTOCOL_VERSION } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { endpointOf, startNode, until } from './helpers.js';
import { RawPeer } from './raw-peer.js';

const isResponse =
  (token: string) =>
  (f: { kind: number; syncToken?: string }): f is MessageFrame =>
    (f.kind === FrameKind.SyncResponse || f.kind === FrameKind.SyncFailure) && f.syncToken === token;

const isGoodbye = (f: { kind: number }): f is GoodbyeFrame => f.kind === FrameKind.Goodbye;

describe('a node facing bad input from a hand-driven peer', () => {
  it('answers a sync request for a topic it does not handle with "no handler for topic X"', async () => {
    const node = await startNode({ name: 'n' }, { getSyncMessageHandlers: () => ({ known: () => 'ok' }) });
    const { peer, ack } = await RawPeer.handshake(node.address!.port);
    expect(ack).toMatchObject({ name: 'n', syncTopics: ['known'] });
    peer.send({ kind: FrameKind.SyncRequest, topic: 'unknown', payload: 'x', syncToken: 'tok-1' });
    const answer = await peer.next(isResponse('tok-1'));
    expect(answer).toMatchObject({ kind: FrameKind.SyncFailure, topic: 'unknown', payload: 'no handler for topic unknown' });
    expect(node.stats.noHandlerMessages).toBe(1);
  });

  it('answers a sync request whose topic is over maxTopicBytes with a failure and keeps the connection', async () => {
    const node = await startNode({ name: 'n', limits: { maxTopicBytes: 16 } }, { getSyncMessageHandlers: () => ({ known: () => 'ok' }) });
    const { peer } = await RawPeer.handshake(node.address!.port);
    peer.send({ kind: FrameKind.SyncRequest, topic: 't'.repeat(17), payload: 'x', syncToken: 'too-long' });
    const failure = await peer.next(isResponse('too-long'));
    expect(failure.kind).toBe(FrameKind.SyncFailure);
    expect(String(failure.payload)).toMatch(/topic of 17 bytes exceeds maxTopicBytes 16/);
    expect(node.stats.invalidMessages).toBe(1);
    // Same connection, next request:
    peer.send({ kind: FrameKind.SyncRequest, topic: 'known', payload: 'x', syncToken: 'after' });
    expect(await peer.next(isResponse('after'))).toMatchObject({ kind: FrameKind.SyncResponse, payload: 'ok' });
    expect(node.peers().map((p) => p.name)).toEqual(['raw']);
  });

  it('counts a response with an unknown token and keeps the connection', async () => {
    const node = await startNode({ name: 'n' }, { getSyncMessageHandlers: () => ({ known: () => 'ok' }) });
    const { peer } = await RawPeer.handshake(node.address!.port);
    peer.send({ kind: FrameKind.SyncResponse, topic: 'known', payload: 'stray', syncToken: 'nobody-asked' });
    peer.send({ kind: FrameKind.SyncFailure, topic: 'known', payload: 'stray', syncToken: 'nobody-asked-either' });
    await until(() => node.stats.unknownTokenResponses === 2, 5000, 'unknown token responses counted');
    peer.send({ kind: FrameKind.SyncRequest, topic: 'known', payload: '', syncToken: 'still-there' });
    expect(await peer.next(isResponse('still-there'))).toMatchObject({ kind: FrameKind.SyncResponse, payload: 'ok' });
    expect(node.peers()).toHaveLength(1);
  });

  it('says goodbye with SYSTEMGE_ERR_PROTOCOL_VERSION to a handshake of another version', async () => {
    const node = await startNode({ name: 'n' });
    const peer = await RawPeer.connect(node.address!.port);
    peer.send({ kind: FrameKind.Handshake, version: PROTOCOL_VERSION + 1, name: 'future', asyncTopics: [], syncTopics: [] });
    const goodbye = await peer.next(isGoodbye);
    expect(goodbye.code).toBe('SYSTEMGE_ERR_PROTOCOL_VERSION');
    expect(goodbye.reason).toContain(String(PROTOCOL_VERSION + 1));
    await peer.closed;
    expect(peer.frames.some((f) => f.kind === FrameKind.HandshakeAck)).toBe(false);
    expect(node.stats.handshakeFailures).toBe(1);
    expect(node.peers()).toEqual([]);
  });

  it('closes silent sockets at handshakeTimeoutMs, with a goodbye saying why, without delaying a real peer meanwhile', async () => {
    const handshakeTimeoutMs = 400;
    const node = await startNode(
      { name: 'n', connection: { handshakeTimeoutMs } },
      { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) },
    );
    const silent = await Promise.all(Array.from({ length: 20 }, () => RawPeer.connect(node.address!.port)));
    const openedAt = performance.now();
    const closedAt = Promise.all(silent.map((s) => s.closed.then(() => performance.now())));
    await until(() => node.stats.connectionsAccepted === 20, 2000, 'the silent sockets to be accepted');

    // A real peer connects and gets an answer while the silent ones are still open.
    const t0 = performance.now();
    const real = await startNode({ name: 'real', listen: false, endpoints: [endpointOf(node)] });
    expect(await real.syncRequest('echo', 'hi').first()).toBe('hi');
    expect(performance.now() - t0).toBeLessThan(handshakeTimeoutMs / 2);
    expect(silent.every((s) => !s.socket.destroyed)).toBe(true);
    expect(node.stats.handshakeFailures).toBe(0);

    for (const at of await closedAt) {
      expect(at - openedAt).toBeGreaterThanOrEqual(handshakeTimeoutMs - 20);
      expect(at - openedAt).toBeLessThan(handshakeTimeoutMs + 2000);
    }
    for (const s of silent) expect(s.frames.find(isGoodbye)?.code).toBe('SYSTEMGE_ERR_HANDSHAKE_TIMEOUT');
    expect(node.stats.handshakeFailures).toBe(20);
    expect(node.peers().map((p) => p.name)).toEqual(['real']);
    expect(await real.syncRequest('echo', 'still').first()).toBe('still');
  });
});
