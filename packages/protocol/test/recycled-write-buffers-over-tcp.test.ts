import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type Connection, createStreamConnection, FrameKind, type Frame } from '../src/index.js';

/*
 * Over a net.Socket the FrameWriter reuses its output buffer once the socket's write callbacks
 * report every chunk written. A reuse too early would overwrite bytes the kernel has not taken
 * yet: thousands of frames of mixed sizes, far more than one buffer, through a small high-water
 * mark (so the writer blocks and drains many times, with chunks queued in the socket meanwhile) must
 * all arrive intact and in order.
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
  return createStreamConnection(
    socket,
    { transport: 'tcp', remoteAddress: '127.0.0.1', remotePort: 0, remoteFamily: 'IPv4', localAddress: '127.0.0.1', localPort: 0 },
    { highWaterMark: 16 * 1024 },
  );
}

const payloadOf = (i: number): string => `${i}:`.padEnd(20 + ((i * 7919) % 3000), String.fromCharCode(97 + (i % 26)));

describe('recycled write buffers over TCP', () => {
  it('deliver 6000 mixed-size frames intact and in order through drains', async () => {
    const { a, b, close } = await socketPair();
    const sender = connection(a);
    const receiver = connection(b);
    const total = 6000;
    const received: string[] = [];
    const allReceived = new Promise<void>((resolve) => {
      receiver.setHandlers({
        onFrame: (frame: Frame) => {
          if (frame.kind === FrameKind.AsyncMessage) received.push(frame.payload as string);
          if (received.length === total) resolve();
        },
      });
    });
    let drained: (() => void) | undefined;
    sender.setHandlers({ onFrame: () => {}, onDrain: () => drained?.() });
    let blocked = 0;
    // A frame needs a handshake-sized first frame before messages: send one.
    sender.send({ kind: FrameKind.Heartbeat, nonce: 1 });
    for (let i = 0; i < total; i++) {
      // Past the high-water mark keep writing up to 512 KiB: chunks then wait in the socket's own
      // queue while the writer fills (and would reuse) its buffers.
      const below = sender.send({ kind: FrameKind.AsyncMessage, topic: 't', payload: payloadOf(i), syncToken: undefined });
      if (!below && sender.bufferedBytes > 512 * 1024) {
        blocked++;
        await withDeadline(new Promise<void>((resolve) => (drained = resolve)), 10_000, `drain after frame ${i}`);
      }
    }
    await withDeadline(allReceived, 20_000, 'every frame');
    expect(blocked).toBeGreaterThan(0);
    for (let i = 0; i < total; i++) {
      if (received[i] !== payloadOf(i)) throw new Error(`frame ${i} arrived corrupted or out of order`);
    }
    await Promise.all([sender.close(), receiver.close()]);
    close();
  }, 60_000);
});
