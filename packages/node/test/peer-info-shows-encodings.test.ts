import { connect } from 'node:net';
import { encodeFrame, type Frame, FrameKind, type HandshakeFrame, PROTOCOL_VERSION, resolveLimits } from '@systemge/protocol';
import { afterEach, expect, it } from 'vitest';
import { endpointOf, startNode, until } from './helpers.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

it('node.peers() tells which payload encodings each peer accepts: all three for a current node, text and bytes for one that announced none', async () => {
  const a = await startNode({ name: 'a' });
  const b = await startNode({ name: 'b', endpoints: [endpointOf(a)] });
  await until(() => a.peers().some((p) => p.name === 'b'), 10_000, 'b connected');
  expect(a.peers().find((p) => p.name === 'b')?.encodings).toEqual(['text', 'bytes', 'msgpack']);
  expect(b.peers().find((p) => p.name === 'a')?.encodings).toEqual(['text', 'bytes', 'msgpack']);

  // A node that predates structured payloads: its handshake has no `encodings`.
  const limits = resolveLimits();
  const socket = connect({ host: '127.0.0.1', port: a.address?.port as number });
  cleanup.push(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const hello = {
    kind: FrameKind.Handshake,
    version: PROTOCOL_VERSION,
    name: 'old',
    asyncTopics: [],
    syncTopics: [],
    info: { instance: 'old-instance' },
    limits,
  } as HandshakeFrame;
  socket.write(encodeFrame(hello as Frame, limits));
  await until(() => a.peers().some((p) => p.name === 'old'), 10_000, 'the old node connected');
  expect(a.peers().find((p) => p.name === 'old')?.encodings).toEqual(['text', 'bytes']);
});
