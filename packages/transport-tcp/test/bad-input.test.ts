import * as net from 'node:net';
import {
  encodeFrame,
  FrameDecoder,
  FrameKind,
  resolveLimits,
  type CloseInfo,
  type Connection,
  type Frame,
  type Listener,
  type ProtocolError,
  type SystemgeError,
} from '@systemge/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tcpTransport } from '../src/index.js';

/*
 * A raw socket that does not speak the protocol must be answered with a typed error on
 * the listener side, a goodbye where the stream can no longer be trusted, and must never
 * disturb the listener's other connections.
 */

const DEADLINE_MS = 4000;
const transport = tcpTransport();
const limits = resolveLimits({ maxFrameBytes: 64 * 1024, maxTopicBytes: 32 });

let waiters = new Set<() => void>();
const notify = (): void => {
  for (const check of [...waiters]) check();
};

/** Resolves once `predicate()` holds, re-checked on every recorded event; rejects after the deadline. */
function until(predicate: () => boolean, what: string): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!predicate()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`));
    }, DEADLINE_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
  });
}

interface Side {
  conn: Connection;
  frames: Frame[];
  errors: SystemgeError[];
  close: CloseInfo | undefined;
}

function record(conn: Connection): Side {
  const side: Side = { conn, frames: [], errors: [], close: undefined };
  conn.setHandlers({
    onFrame: (f) => (side.frames.push(f), notify()),
    onError: (e) => (side.errors.push(e), notify()),
    onClose: (info) => ((side.close = info), notify()),
  });
  return side;
}

/** A plain `net` socket whose incoming bytes are decoded, so a goodbye can be read back. */
interface RawClient {
  socket: net.Socket;
  frames: Frame[];
  decodeErrors: ProtocolError[];
  ended: boolean;
  closed: boolean;
}

function rawConnect(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const raw: RawClient = { socket, frames: [], decodeErrors: [], ended: false, closed: false };
    const decoder = new FrameDecoder(resolveLimits(), {
      onFrame: (f) => (raw.frames.push(f), notify()),
      onError: (e) => (raw.decodeErrors.push(e), notify()),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('end', () => ((raw.ended = true), decoder.end(), notify()));
    socket.on('close', () => ((raw.closed = true), notify()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve(raw));
    socket.once('error', reject);
  });
}

function rawMessage(kind: number, topic: Buffer, token: Buffer, payload: Buffer): Buffer {
  const length = 1 + 1 + 2 + topic.length + 2 + token.length + payload.length;
  const out = Buffer.alloc(4 + length);
  let p = out.writeUInt32BE(length, 0);
  p = out.writeUInt8(kind, p);
  p = out.writeUInt8(0, p);
  p = out.writeUInt16BE(topic.length, p);
  p += topic.copy(out, p);
  p = out.writeUInt16BE(token.length, p);
  p += token.copy(out, p);
  payload.copy(out, p);
  return out;
}

describe('TCP listener facing bad input from a raw socket', () => {
  let listener: Listener;
  let accepted: Side[];
  let wellBehaved: Side;
  let wellBehavedPeer: Side;
  const opened: Connection[] = [];
  const sockets: net.Socket[] = [];

  beforeEach(async () => {
    waiters = new Set();
    accepted = [];
    listener = await transport.listen({
      limits,
      onConnection: (conn) => {
        opened.push(conn);
        accepted.push(record(conn));
        notify();
      },
    });
    // A well-behaved peer, connected before the bad input arrives.
    const conn = await transport.dial({ host: '127.0.0.1', port: listener.port });
    opened.push(conn);
    wellBehaved = record(conn);
    await until(() => accepted.length === 1, 'the well-behaved connection to be accepted');
    wellBehavedPeer = accepted[0] as Side;
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const conn of opened.splice(0)) conn.destroy();
    await listener.close();
  });

  async function badPeer(): Promise<{ raw: RawClient; server: Side }> {
    const index = accepted.length;
    const raw = await rawConnect(listener.port);
    sockets.push(raw.socket);
    await until(() => accepted.length > index, 'the raw socket to be accepted');
    return { raw, server: accepted[index] as Side };
  }

  /** The listener is still fine: the old connection works both ways, and a new one can connect. */
  async function expectListenerHealthy(): Promise<void> {
    const before = wellBehavedPeer.frames.length;
    wellBehaved.conn.send({ kind: FrameKind.AsyncMessage, topic: 'still', payload: 'alive', syncToken: undefined });
    await until(() => wellBehavedPeer.frames.length > before, 'a frame on the well-behaved connection');
    wellBehavedPeer.conn.send({ kind: FrameKind.Heartbeat, nonce: 11 });
    await until(() => wellBehaved.frames.length > 0, 'a reply on the well-behaved connection');
    expect(wellBehaved.frames.at(-1)).toEqual({ kind: FrameKind.Heartbeat, nonce: 11 });
    expect(wellBehaved.close).toBeUndefined();
    expect(wellBehavedPeer.errors).toEqual([]);

    const count = accepted.length;
    const fresh = await transport.dial({ host: '127.0.0.1', port: listener.port });
    opened.push(fresh);
    record(fresh).conn.send({ kind: FrameKind.Heartbeat, nonce: 12 });
    await until(() => accepted.length > count && (accepted[count] as Side).frames.length > 0, 'a frame on a new connection');
  }

  /** The server closed the raw socket after telling it why with a goodbye. */
  async function expectGoodbyeAndClose(raw: RawClient, server: Side, code: string): Promise<void> {
    await until(() => server.close !== undefined, `onClose with ${code}`);
    expect(server.errors.map((e) => e.code)).toEqual([code]);
    expect(server.errors[0]).toMatchObject({ fatal: true });
    expect(server.close).toMatchObject({ initiator: 'local', code });
    expect(server.close?.error?.code).toBe(code);
    expect(server.frames).toEqual([]);
    await until(() => raw.closed, 'the raw socket to be closed by the server');
    expect(raw.ended).toBe(true);
    expect(raw.decodeErrors).toEqual([]);
    expect(raw.frames).toHaveLength(1);
    expect(raw.frames[0]).toMatchObject({ kind: FrameKind.Goodbye, code });
  }

  it('(a) garbage: an unknown frame kind closes the connection with SYSTEMGE_ERR_UNKNOWN_FRAME_KIND', async () => {
    const { raw, server } = await badPeer();
    raw.socket.write(Buffer.from([0, 0, 0, 6, 0x7f, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x13, 0x37]));
    await expectGoodbyeAndClose(raw, server, 'SYSTEMGE_ERR_UNKNOWN_FRAME_KIND');
    await expectListenerHealthy();
  });

  it('(a) garbage: an HTTP request reads as an absurd length and is refused with SYSTEMGE_ERR_FRAME_TOO_LARGE', async () => {
    const { raw, server } = await badPeer();
    raw.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await expectGoodbyeAndClose(raw, server, 'SYSTEMGE_ERR_FRAME_TOO_LARGE');
    await expectListenerHealthy();
  });

  it('(a) garbage: a malformed control body closes the connection with SYSTEMGE_ERR_INVALID_FRAME', async () => {
    const { raw, server } = await badPeer();
    raw.socket.write(Buffer.from([0, 0, 0, 3, FrameKind.Handshake, 0xdc, 0xff]));
    await expectGoodbyeAndClose(raw, server, 'SYSTEMGE_ERR_INVALID_FRAME');
    await expectListenerHealthy();
  });

  it('(b) a truncated frame then FIN is reported as SYSTEMGE_ERR_TRUNCATED_FRAME', async () => {
    const { raw, server } = await badPeer();
    const frame = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'topic', payload: 'x'.repeat(100), syncToken: undefined }, limits);
    raw.socket.end(frame.subarray(0, 20));
    await expectGoodbyeAndClose(raw, server, 'SYSTEMGE_ERR_TRUNCATED_FRAME');
    expect(server.errors[0]).toMatchObject({ received: 20, expected: frame.length });
    await expectListenerHealthy();
  });

  it('(c) an oversize length prefix is refused with SYSTEMGE_ERR_FRAME_TOO_LARGE before the body is read', async () => {
    const { raw, server } = await badPeer();
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(limits.maxFrameBytes + 1, 0);
    raw.socket.write(Buffer.concat([prefix, Buffer.alloc(1024, 0x41)]));
    await expectGoodbyeAndClose(raw, server, 'SYSTEMGE_ERR_FRAME_TOO_LARGE');
    expect(server.errors[0]).toMatchObject({ size: limits.maxFrameBytes + 1, limit: limits.maxFrameBytes });
    await expectListenerHealthy();
  });

  it('(d) a valid-length frame with an over-limit topic is rejected alone with SYSTEMGE_ERR_FIELD_TOO_LARGE', async () => {
    const { raw, server } = await badPeer();
    raw.socket.write(
      Buffer.concat([
        rawMessage(FrameKind.SyncRequest, Buffer.alloc(100, 0x74), Buffer.from('tok'), Buffer.from('payload')),
        encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'fine', payload: 'next', syncToken: undefined }, limits),
      ]),
    );
    await until(() => server.frames.length === 1, 'the frame after the rejected one');
    expect(server.errors).toHaveLength(1);
    expect(server.errors[0]).toMatchObject({
      code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE',
      fatal: false,
      field: 'topic',
      size: 100,
      limit: 32,
      syncToken: 'tok',
    });
    expect(server.frames[0]).toMatchObject({ topic: 'fine', payload: 'next' });
    expect(server.close).toBeUndefined();
    // The stream is still trusted: no goodbye; the next thing the raw socket reads is our heartbeat.
    server.conn.send({ kind: FrameKind.Heartbeat, nonce: 5 });
    await until(() => raw.frames.length > 0, 'a heartbeat on the raw socket');
    expect(raw.frames).toEqual([{ kind: FrameKind.Heartbeat, nonce: 5 }]);
    expect(raw.closed).toBe(false);
    await expectListenerHealthy();
  });

  it('a peer that hangs up without a goodbye is closed as remote with SYSTEMGE_ERR_CONNECTION_CLOSED', async () => {
    const { raw, server } = await badPeer();
    raw.socket.end(encodeFrame({ kind: FrameKind.Heartbeat, nonce: 1 }, limits));
    await until(() => server.close !== undefined, 'onClose after the hang-up');
    expect(server.frames).toEqual([{ kind: FrameKind.Heartbeat, nonce: 1 }]);
    expect(server.errors).toEqual([]);
    expect(server.close).toMatchObject({ initiator: 'remote', code: 'SYSTEMGE_ERR_CONNECTION_CLOSED' });
    await expectListenerHealthy();
  });
});
