import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type Connection,
  type ConnectionHandlers,
  createStreamConnection,
  type Frame,
  FrameKind,
  type MessageFrame,
} from '../src/index.js';

/*
 * A connection hands message frames to `handlers.onMessage` as fields when the handlers have it
 * (no frame object per message), and as frames to `onFrame` when they do not. Control frames
 * always go to `onFrame`; goodbyes never reach the handlers. Real sockets on 127.0.0.1.
 */

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref()),
  ]);
}

async function socketPair(): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const a = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => a.once('connect', resolve));
  const b = await accepted;
  return { a, b, close: () => server.close() };
}

function connection(socket: net.Socket): Connection {
  return createStreamConnection(socket, {
    transport: 'tcp',
    remoteAddress: '127.0.0.1',
    remotePort: 0,
    remoteFamily: 'IPv4',
    localAddress: '127.0.0.1',
    localPort: 0,
  });
}

const sent: Frame[] = [
  { kind: FrameKind.Heartbeat, nonce: 7 },
  { kind: FrameKind.AsyncMessage, topic: 'news', payload: 'hello', syncToken: undefined },
  { kind: FrameKind.SyncRequest, topic: 'sum', payload: { a: 1, b: [2, 3] }, syncToken: 'tok1' },
  { kind: FrameKind.SyncResponse, topic: 'sum', payload: Buffer.from([1, 2, 3]), syncToken: 'tok1' },
  { kind: FrameKind.SyncFailure, topic: 'sum', payload: 'no handler', syncToken: 'tok2' },
  { kind: FrameKind.TopicsAdded, asyncTopics: ['a'], syncTopics: [] },
];

/** Sends `sent` then a goodbye from a fresh pair, and returns what the receiver's handlers saw. */
async function receive(handlers: (record: (what: unknown) => void) => ConnectionHandlers): Promise<unknown[]> {
  const { a, b, close } = await socketPair();
  const sender = connection(a);
  const receiver = connection(b);
  const seen: unknown[] = [];
  const closed = new Promise<void>((resolve) => {
    receiver.setHandlers({ ...handlers((what) => seen.push(what)), onClose: () => resolve() });
  });
  sender.setHandlers({ onFrame: () => {} });
  for (const frame of sent) sender.send(frame);
  await sender.close('done');
  await withDeadline(closed, 10_000, 'the receiver to close');
  close();
  return seen;
}

const binary = (payload: unknown): unknown => (payload instanceof Uint8Array ? [...payload] : payload);

describe('StreamConnection message fields', () => {
  it('passes message frames as fields to onMessage (payloadBytes for a structured payload only) and control frames to onFrame', async () => {
    const seen = await receive((record) => ({
      onFrame: (frame) => record({ frame: frame.kind }),
      onMessage: (kind, topic, payload, syncToken, payloadBytes) =>
        record({ kind, topic, payload: binary(payload), syncToken, payloadBytes }),
    }));
    expect(seen).toEqual([
      { frame: FrameKind.Heartbeat },
      { kind: FrameKind.AsyncMessage, topic: 'news', payload: 'hello', syncToken: undefined, payloadBytes: undefined },
      { kind: FrameKind.SyncRequest, topic: 'sum', payload: { a: 1, b: [2, 3] }, syncToken: 'tok1', payloadBytes: expect.any(Number) },
      { kind: FrameKind.SyncResponse, topic: 'sum', payload: [1, 2, 3], syncToken: 'tok1', payloadBytes: undefined },
      { kind: FrameKind.SyncFailure, topic: 'sum', payload: 'no handler', syncToken: 'tok2', payloadBytes: undefined },
      { frame: FrameKind.TopicsAdded },
    ]);
    expect((seen[2] as { payloadBytes: number }).payloadBytes).toBeGreaterThan(0);
  });

  it('passes message frames to onFrame when the handlers have no onMessage', async () => {
    const seen = await receive((record) => ({
      onFrame: (frame) =>
        record(frame.kind <= 4 ? { ...(frame as MessageFrame), payload: binary((frame as MessageFrame).payload) } : { frame: frame.kind }),
    }));
    expect(seen).toEqual([
      { frame: FrameKind.Heartbeat },
      { kind: FrameKind.AsyncMessage, topic: 'news', payload: 'hello', syncToken: undefined },
      { kind: FrameKind.SyncRequest, topic: 'sum', payload: { a: 1, b: [2, 3] }, syncToken: 'tok1', payloadBytes: expect.any(Number) },
      { kind: FrameKind.SyncResponse, topic: 'sum', payload: [1, 2, 3], syncToken: 'tok1' },
      { kind: FrameKind.SyncFailure, topic: 'sum', payload: 'no handler', syncToken: 'tok2' },
      { frame: FrameKind.TopicsAdded },
    ]);
  });
});
