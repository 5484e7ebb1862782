import { FrameKind, type MessageFrame } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import type { SystemgeNode } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';
import { RawPeer } from './raw-peer.js';

describe('async and sync messaging between two nodes', () => {
  it('routes async messages only to peers that announced the topic', async () => {
    const got: string[] = [];
    const server = await startNode(
      { name: 'server' },
      { getAsyncMessageHandlers: () => ({ greet: (m) => void got.push(`${m.origin}:${String(m.payload)}`) }) },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    expect(client.peers().map((p) => p.name)).toEqual(['server']);
    expect(client.asyncMessage('greet', 'hello')).toBe(true);
    client.asyncMessage('nobody-handles-this', 'x');
    await until(() => got.length === 1);
    expect(got).toEqual(['client:hello']);
    expect(client.stats.unroutedMessages).toBe(1);
    expect(client.stats.asyncSent).toBe(1);
  });

  it('answers sync requests in both directions and carries binary payloads', async () => {
    const a = await startNode({ name: 'a' }, { getSyncMessageHandlers: () => ({ upper: (m) => String(m.payload).toUpperCase() }) });
    const b = await startNode(
      { name: 'b', endpoints: [endpointOf(a)] },
      { getSyncMessageHandlers: () => ({ reverse: (m) => Uint8Array.from(m.payload as Uint8Array).reverse() }) },
    );
    expect(await b.syncRequest('upper', 'shout').first()).toBe('SHOUT');
    await until(() => a.peers().length === 1);
    const reversed = await a.syncRequest('reverse', new Uint8Array([1, 2, 3])).first();
    expect(Array.from(reversed as Uint8Array)).toEqual([3, 2, 1]);
  });

  it('turns a throwing handler into a failure response with its message', async () => {
    const a = await startNode(
      { name: 'a' },
      {
        getSyncMessageHandlers: () => ({
          boom: () => {
            throw new Error('kaput');
          },
          later: async () => {
            throw new Error('async kaput');
          },
        }),
      },
    );
    const b = await startNode({ name: 'b', endpoints: [endpointOf(a)] });
    const [r1] = await b.syncRequest('boom', '').all();
    expect(r1).toMatchObject({ origin: 'a', ok: false, error: 'kaput' });
    await expect(b.syncRequest('later', '').first()).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_SYNC_FAILURE',
      message: 'a: async kaput',
    });
    expect(a.stats.handlerErrors).toBe(2);
  });

  it('answers a request for a topic removed after it was announced with "no handler for topic X"', async () => {
    const a = await startNode({ name: 'a' }, { getSyncMessageHandlers: () => ({ known: () => 'ok' }) });
    // A peer whose view of a's topics is the handshake's: it never applies the removal.
    const { peer, ack } = await RawPeer.handshake(a.address!.port, 'stale');
    expect(ack.syncTopics).toEqual(['known']);
    a.removeSyncTopic('known');
    await peer.next((f) => f.kind === FrameKind.TopicsRemoved);
    peer.send({ kind: FrameKind.SyncRequest, topic: 'known', payload: '', syncToken: 'late' });
    const answer = await peer.next((f) => f.kind === FrameKind.SyncFailure || f.kind === FrameKind.SyncResponse);
    expect(answer).toMatchObject({ kind: FrameKind.SyncFailure, topic: 'known', payload: 'no handler for topic known', syncToken: 'late' });
  });

  it('gives typed errors for unknown targets, no route and a stopped node', async () => {
    const a = await startNode({ name: 'a' }, { getSyncMessageHandlers: () => ({ t: () => 'x' }) });
    const b = await startNode({ name: 'b', endpoints: [endpointOf(a)] });
    expect(() => b.asyncMessage('t', 'x', { to: 'ghost' })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' }));
    await expect(b.syncRequest('t', 'x', { to: 'ghost' }).all()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' });
    await expect(b.syncRequest('nope', 'x').first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NO_ROUTE' });
    expect(() => b.asyncMessage('t', 'x', { to: 'a' })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_NO_ROUTE' }));
    await b.stop();
    expect(() => b.asyncMessage('t', 'x')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_NODE_STATUS' }));
  });

  it('rejects a duplicate node name on both sides', async () => {
    const hub = await startNode({ name: 'hub' });
    await startNode({ name: 'twin', endpoints: [endpointOf(hub)] });
    const warnings: Error[] = [];
    hub.on('warning', (e) => warnings.push(e));
    const second = await startNode({ name: 'twin', connection: { maxAttempts: 1 } });
    await expect(second.connect(endpointOf(hub))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_DUPLICATE_NAME' });
    expect(warnings.map((w) => (w as { code?: string }).code)).toContain('SYSTEMGE_ERR_DUPLICATE_NAME');
    expect(hub.peers().map((p) => p.name)).toEqual(['twin']);
  });

  it('announces runtime topics to connected peers', async () => {
    const b = await startNode({ name: 'b' });
    const a = await startNode({ name: 'a', endpoints: [endpointOf(b)] });
    b.addSyncTopic('late', () => 'here');
    await until(() => a.peers()[0]?.syncTopics.includes('late') === true);
    expect(await a.syncRequest('late', '').first()).toBe('here');
    b.removeSyncTopic('late');
    await until(() => a.peers()[0]?.syncTopics.includes('late') === false);
    await expect(a.syncRequest('late', '').first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NO_ROUTE' });
  });

  it('counts and ignores a response with an unknown token, keeping the connection', async () => {
    const b: SystemgeNode = await startNode({ name: 'b' });
    // The responder is hand-driven, so it can answer a settled request a second time.
    const { peer: a } = await RawPeer.handshake(b.address!.port, 'a', { syncTopics: ['ping'] });
    const isRequest = (f: { kind: number }): f is MessageFrame => f.kind === FrameKind.SyncRequest;
    const answer = async (): Promise<MessageFrame> => {
      const asked = await a.next(isRequest);
      a.frames.splice(a.frames.indexOf(asked), 1);
      a.send({ kind: FrameKind.SyncResponse, topic: 'ping', payload: 'pong', syncToken: asked.syncToken });
      return asked;
    };
    const request = b.syncRequest('ping', '', { timeoutMs: 2000 });
    const asked = await answer();
    await request.all();
    // A late duplicate answer for the settled token:
    a.send({ kind: FrameKind.SyncResponse, topic: 'ping', payload: 'again', syncToken: asked.syncToken });
    await until(() => b.stats.unknownTokenResponses === 1);
    const next = b.syncRequest('ping', '');
    await answer();
    expect(await next.first()).toBe('pong');
    expect(b.peers().map((p) => p.name)).toEqual(['a']);
  });
});
