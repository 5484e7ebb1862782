import * as net from 'node:net';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  createStreamConnection,
  encodeFrame,
  FrameKind,
  resolveLimits,
  type Connection,
  type Frame,
  type HandshakeFrame,
} from '../src/index.js';
import { collectFrames, expectProtocolError, rawFrame } from './collect-frames.js';

/*
 * Handshakes announce the receive limits of their sender, so each side can refuse locally,
 * with a typed error, what its peer would refuse. Absent limits (older peers) decode as undefined.
 */

const base: HandshakeFrame = { kind: FrameKind.Handshake, version: 1, name: 'a', asyncTopics: ['t'], syncTopics: [], info: {} };

describe('announced limits in handshakes', () => {
  it('round-trip in handshakes and acks', () => {
    const limits = { maxTopicBytes: 64, maxNodeNameBytes: 32, maxPayloadBytes: 1000 };
    for (const frame of [
      { ...base, limits },
      { kind: FrameKind.HandshakeAck, version: 1, name: 'b', asyncTopics: [], syncTopics: ['s'], info: {}, limits },
    ] as Frame[]) {
      const c = collectFrames();
      c.decoder.push(encodeFrame(frame, resolveLimits()));
      expect(c.errors).toEqual([]);
      expect(c.frames[0]).toMatchObject({ limits });
    }
  });

  it('absent limits decode as undefined; unknown limit names are ignored', () => {
    const c = collectFrames();
    c.decoder.push(rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'a', asyncTopics: [] })));
    c.decoder.push(rawFrame(FrameKind.HandshakeAck, pack({ version: 1, name: 'a', limits: { maxTopicBytes: 9, maxFutureThing: 3 } })));
    expect(c.errors).toEqual([]);
    expect((c.frames[0] as HandshakeFrame).limits).toBeUndefined();
    expect((c.frames[1] as HandshakeFrame).limits).toEqual({ maxTopicBytes: 9 });
  });

  for (const [what, limits] of [
    ['not a map', 5],
    ['a string value', { maxTopicBytes: '64' }],
    ['zero', { maxTopicBytes: 0 }],
    ['a fraction', { maxFrameBytes: 1.5 }],
  ] as [string, unknown][]) {
    it(`refuses the handshake, fatally, when limits are ${what}`, () => {
      const c = collectFrames();
      c.decoder.push(rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'a', limits })));
      expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', true);
      expect(c.frames).toEqual([]);
    });
  }

  it('a handshake topic over the receiver maxTopicBytes is left out, not a refusal; topic frames stay strict', () => {
    const c = collectFrames({ maxTopicBytes: 8 });
    c.decoder.push(
      rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'a', asyncTopics: ['ok', 'x'.repeat(9)], syncTopics: ['y'.repeat(100)] })),
    );
    expect(c.errors).toEqual([]);
    expect(c.frames[0]).toMatchObject({ asyncTopics: ['ok'], syncTopics: [] });
    c.decoder.push(rawFrame(FrameKind.TopicsAdded, pack({ asyncTopics: ['x'.repeat(9)], syncTopics: [] })));
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_FIELD_TOO_LARGE', false);
  });

  it('an empty topic in a handshake is a fatal refusal', () => {
    const c = collectFrames();
    c.decoder.push(rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'a', asyncTopics: [''] })));
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_EMPTY_TOPIC', true);
  });

  it('the encoder checks announced topics against the limits', () => {
    expect(() =>
      encodeFrame({ kind: FrameKind.TopicsAdded, asyncTopics: ['x'.repeat(65)], syncTopics: [] }, resolveLimits({ maxTopicBytes: 64 })),
    ).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'topic', limit: 64 }));
  });
});

describe('setPeerLimits over a real socket', () => {
  async function pair(): Promise<{ a: Connection; b: Connection; received: Frame[]; done: () => void }> {
    const received: Frame[] = [];
    return new Promise((resolve) => {
      let a: Connection | undefined;
      const server = net.createServer((socket) => {
        const b = createStreamConnection(socket, {
          transport: 'tcp',
          remoteAddress: '127.0.0.1',
          remotePort: 0,
          remoteFamily: 'IPv4',
          localAddress: '',
          localPort: 0,
        });
        b.setHandlers({ onFrame: (f) => received.push(f) });
        const done = (): void => {
          a?.destroy();
          b.destroy();
          server.close();
        };
        if (a !== undefined) resolve({ a, b, received, done });
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const socket = net.connect(port, '127.0.0.1');
        a = createStreamConnection(socket, {
          transport: 'tcp',
          remoteAddress: '127.0.0.1',
          remotePort: port,
          remoteFamily: 'IPv4',
          localAddress: '',
          localPort: 0,
        });
        a.setHandlers({ onFrame: () => {} });
      });
    });
  }

  it('a message over the peer payload limit throws FIELD_TOO_LARGE naming the peer; within it, it is delivered', async () => {
    const { a, received, done } = await pair();
    try {
      a.setPeerLimits?.({ maxPayloadBytes: 1000, maxTopicBytes: 64 }, 'peer "b"');
      let error: unknown;
      try {
        a.send({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'p'.repeat(1001), syncToken: undefined });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'payload', limit: 1000, limitOwner: 'peer "b"' });
      expect((error as Error).message).toBe('payload of 1001 bytes exceeds maxPayloadBytes 1000 of peer "b"');
      expect(() => a.send({ kind: FrameKind.AsyncMessage, topic: 'x'.repeat(65), payload: '', syncToken: undefined })).toThrow(
        'topic of 65 bytes exceeds maxTopicBytes 64 of peer "b"',
      );
      a.send({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'p'.repeat(1000), syncToken: undefined });
      const deadline = Date.now() + 5000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(received).toHaveLength(1);
    } finally {
      done();
    }
  });

  it('a larger or invalid peer limit keeps this side own limit, and errors then name no peer', async () => {
    const { a, done } = await pair();
    try {
      a.setPeerLimits?.({ maxTopicBytes: 100_000, maxPayloadBytes: -1 }, 'peer "b"');
      expect(() => a.send({ kind: FrameKind.AsyncMessage, topic: 'x'.repeat(257), payload: '', syncToken: undefined })).toThrow(
        /^topic of 257 bytes exceeds maxTopicBytes 256$/,
      );
    } finally {
      done();
    }
  });
});
