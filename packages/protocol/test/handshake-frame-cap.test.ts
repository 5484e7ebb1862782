import * as net from 'node:net';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  createStreamConnection,
  encodeFrame,
  FrameDecoder,
  FrameKind,
  resolveLimits,
  type CloseInfo,
  type Frame,
  type ProtocolError,
} from '../src/index.js';
import { rawFrame } from './collect-frames.js';

/*
 * Before the handshake only a handshake-sized frame is accepted: the first frame of a
 * connection is held to maxHandshakeFrameBytes, checked on its length prefix, so an
 * unauthenticated peer cannot make this side buffer megabytes.
 */

function decoder(limits = resolveLimits()) {
  const frames: Frame[] = [];
  const errors: ProtocolError[] = [];
  const d = new FrameDecoder(limits, { onFrame: (f) => frames.push(f), onError: (e) => errors.push(e) }, { handshakeFirst: true });
  return { d, frames, errors };
}

function prefix(size: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(size, 0);
  return b;
}

describe('first-frame cap', () => {
  it('refuses a first frame declared above maxHandshakeFrameBytes before buffering any of it', () => {
    const { d, errors } = decoder();
    d.push(Buffer.concat([prefix(16 * 1024 * 1024), Buffer.alloc(1000)]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE',
      fatal: true,
      size: 16 * 1024 * 1024,
      limit: 64 * 1024,
      limitName: 'maxHandshakeFrameBytes',
    });
    expect(errors[0]?.message).toContain('maxHandshakeFrameBytes 65536');
    expect(d.bufferedBytes).toBe(0);
    expect(d.broken).toBe(true);
  });

  it('accepts a first frame exactly at the cap and large frames after it', () => {
    const limits = resolveLimits({ maxHandshakeFrameBytes: 16384 });
    const { d, frames, errors } = decoder(limits);
    const info = { pad: 'x'.repeat(16384 - 1 - 80) };
    let body = pack({ version: 1, name: 'n', asyncTopics: [], syncTopics: [], info });
    // Pad the info so the frame body is exactly 16384 bytes (kind byte included).
    info.pad = 'x'.repeat(info.pad.length + (16384 - 1 - body.length));
    body = pack({ version: 1, name: 'n', asyncTopics: [], syncTopics: [], info });
    expect(body.length + 1).toBe(16384);
    const big: Frame = { kind: FrameKind.AsyncMessage, topic: 't', payload: 'p'.repeat(100_000), syncToken: undefined };
    d.push(Buffer.concat([rawFrame(FrameKind.Handshake, body), encodeFrame(big, limits)]));
    expect(errors).toEqual([]);
    expect(frames.map((f) => f.kind)).toEqual([FrameKind.Handshake, FrameKind.AsyncMessage]);
  });

  it('uses maxFrameBytes when it is the smaller of the two', () => {
    const { d, errors } = decoder(resolveLimits({ maxFrameBytes: 5000 }));
    d.push(prefix(6000));
    expect(errors[0]).toMatchObject({ limit: 5000, limitName: 'maxFrameBytes' });
  });

  it('a bare decoder (no handshake) keeps maxFrameBytes for its first frame', () => {
    const frames: Frame[] = [];
    const d = new FrameDecoder(resolveLimits(), { onFrame: (f) => frames.push(f), onError: () => {} });
    const big: Frame = { kind: FrameKind.AsyncMessage, topic: 't', payload: 'p'.repeat(100_000), syncToken: undefined };
    d.push(encodeFrame(big, resolveLimits()));
    expect(frames).toHaveLength(1);
  });

  // The refused connection stops reading at once and is destroyed when its close timer fires.
  it('a connection over a real socket answers a 16 MiB first frame with a goodbye naming the limit and closes', async () => {
    const closed = new Promise<CloseInfo>((resolveClose, reject) => {
      const server = net.createServer((socket) => {
        const connection = createStreamConnection(
          socket,
          {
            transport: 'tcp',
            remoteAddress: socket.remoteAddress ?? '',
            remotePort: socket.remotePort ?? 0,
            remoteFamily: 'IPv4',
            localAddress: '',
            localPort: 0,
          },
          { closeTimeoutMs: 300 },
        );
        connection.setHandlers({
          onFrame: () => reject(new Error('no frame expected')),
          onClose: (info) => {
            server.close();
            resolveClose(info);
          },
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const client = net.connect(port, '127.0.0.1', () => {
          client.write(Buffer.concat([prefix(16 * 1024 * 1024), Buffer.alloc(64 * 1024)]));
        });
        const received: Buffer[] = [];
        client.on('data', (chunk: Buffer) => received.push(chunk));
        client.on('error', () => {});
        client.on('close', () => {
          const all = Buffer.concat(received);
          // The goodbye: u32 length, kind 22, msgpack { code, reason }.
          expect(all[4]).toBe(FrameKind.Goodbye);
          expect(all.subarray(5).toString('latin1')).toContain('SYSTEMGE_ERR_FRAME_TOO_LARGE');
        });
      });
    });
    const info = await closed;
    expect(info).toMatchObject({ initiator: 'local', code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE' });
    expect(info.reason).toContain('maxHandshakeFrameBytes');
  });
});
