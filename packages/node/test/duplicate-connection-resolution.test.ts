import { type Frame, FrameKind, type GoodbyeFrame, type HandshakeAckFrame, PROTOCOL_VERSION } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import type { SystemgeNode } from '../src/index.js';
import { nextEvent, startNode, until } from './helpers.js';
import { RawPeer } from './raw-peer.js';

const SUPERSEDED = 'SYSTEMGE_ERR_CONNECTION_SUPERSEDED';

/** A raw connection that completes the handshake as node `name` with instance id `instance`. */
async function connectAs(node: SystemgeNode, name: string, instance: string): Promise<{ peer: RawPeer; ack: HandshakeAckFrame }> {
  const peer = await RawPeer.connect(node.address?.port as number);
  peer.send({ kind: FrameKind.Handshake, version: PROTOCOL_VERSION, name, asyncTopics: [], syncTopics: ['t'], info: { instance } });
  const ack = await peer.next((f): f is HandshakeAckFrame => f.kind === FrameKind.HandshakeAck);
  return { peer, ack };
}

function events(node: SystemgeNode): string[] {
  const seen: string[] = [];
  node.on('peer:connected', (p) => seen.push(`connected ${p.name}`));
  node.on('peer:disconnected', (p, why) => seen.push(`disconnected ${p.name} ${why.code}`));
  node.on('warning', (e) => seen.push(`warning ${(e as { code?: string }).code}`));
  return seen;
}

const isGoodbye = (f: Frame): f is GoodbyeFrame => f.kind === FrameKind.Goodbye;

describe('a second connection from the same node instance', () => {
  it('dialed by the same node: the listener keeps the first, answers the second as superseded and closes it quietly', async () => {
    const node = await startNode({ name: 'node' });
    const seen = events(node);
    const first = await connectAs(node, 'r', 'instance-1');
    expect(first.ack.info?.superseded).toBeUndefined();
    expect(typeof first.ack.info?.instance).toBe('string');
    const second = await connectAs(node, 'r', 'instance-1');
    expect(second.ack.info?.superseded).toBe('true');
    expect(await second.peer.next(isGoodbye)).toMatchObject({ code: SUPERSEDED });
    await second.peer.closed;
    expect(node.peers().map((p) => p.name)).toEqual(['r']);
    expect(seen).toEqual(['connected r']);
    expect(node.stats.handshakeFailures).toBe(0);
  });

  it('with another instance id it is a duplicate name, refused with SYSTEMGE_ERR_DUPLICATE_NAME', async () => {
    const node = await startNode({ name: 'node' });
    await connectAs(node, 'r', 'instance-1');
    const impostor = await RawPeer.connect(node.address?.port as number);
    impostor.send({
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      name: 'r',
      asyncTopics: [],
      syncTopics: [],
      info: { instance: 'instance-2' },
    });
    expect(await impostor.next(isGoodbye)).toMatchObject({ code: 'SYSTEMGE_ERR_DUPLICATE_NAME' });
  });

  it('when the remote closes a connection as superseded, the node waits quietly for the kept one', async () => {
    const node = await startNode({ name: 'node' });
    const seen = events(node);
    const first = await connectAs(node, 'r', 'instance-1');
    first.peer.send({ kind: FrameKind.Goodbye, code: SUPERSEDED, reason: 'another connection between these nodes is kept' });
    first.peer.socket.end();
    await first.peer.closed;
    await until(() => node.peers().length === 0, 5000, 'old connection gone');
    const second = await connectAs(node, 'r', 'instance-1');
    expect(second.ack.info?.superseded).toBeUndefined();
    expect(node.peers().map((p) => p.name)).toEqual(['r']);
    // One peer all along: no disconnected/connected pair for the swap.
    expect(seen).toEqual(['connected r']);
  });

  it('when the kept connection never comes, the loss is reported after handshakeTimeoutMs', async () => {
    const node = await startNode({ name: 'node', connection: { handshakeTimeoutMs: 300 } });
    const seen = events(node);
    const first = await connectAs(node, 'r', 'instance-1');
    const disconnected = nextEvent(node, 'peer:disconnected', 5000);
    first.peer.send({ kind: FrameKind.Goodbye, code: SUPERSEDED, reason: 'another connection between these nodes is kept' });
    first.peer.socket.end();
    await disconnected;
    expect(seen).toEqual(['connected r', `disconnected r ${SUPERSEDED}`]);
  });
});
