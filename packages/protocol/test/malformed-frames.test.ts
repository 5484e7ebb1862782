import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, resolveLimits, type Frame } from '../src/index.js';
import { collectFrames, expectProtocolError, rawFrame, rawMessage } from './collect-frames.js';

/* Every malformed input becomes one typed error; after a fatal one nothing more is decoded. */

const limits = resolveLimits();
const next: Frame = { kind: FrameKind.AsyncMessage, topic: 'next', payload: 'p', syncToken: undefined };
const nextBytes = encodeFrame(next, limits);
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const invalidUtf8 = Buffer.from([0x61, 0xc3, 0x28]);

function decode(...chunks: Buffer[]) {
  const c = collectFrames();
  for (const chunk of chunks) c.decoder.push(chunk);
  c.decoder.end();
  return c;
}

function expectRejectedThenNext(bad: Buffer, code: string) {
  const c = decode(bad, nextBytes);
  expect(c.errors).toHaveLength(1);
  expectProtocolError(c.errors[0], code, false);
  expect(c.frames).toEqual([next]);
  expect(c.decoder.broken).toBe(false);
  return c.errors[0];
}

function expectFatal(bad: Buffer, code: string) {
  const c = decode(bad, nextBytes);
  expect(c.errors).toHaveLength(1);
  expectProtocolError(c.errors[0], code, true);
  expect(c.frames).toEqual([]);
  expect(c.decoder.broken).toBe(true);
  expect(c.decoder.bufferedBytes).toBe(0);
  return c.errors[0];
}

describe('non-fatal: one frame rejected, the stream goes on', () => {
  it('empty topic', () => {
    const error = expectRejectedThenNext(rawMessage(FrameKind.SyncRequest, utf8(''), utf8('tok'), utf8('x')), 'SYSTEMGE_ERR_EMPTY_TOPIC');
    expect(error).toMatchObject({ syncToken: 'tok', frameKind: FrameKind.SyncRequest });
  });

  it('empty topic in a topic list', () => {
    expectRejectedThenNext(rawFrame(FrameKind.TopicsRemoved, pack({ asyncTopics: [''], syncTopics: [] })), 'SYSTEMGE_ERR_EMPTY_TOPIC');
  });

  it('invalid UTF-8 in the topic', () => {
    const error = expectRejectedThenNext(rawMessage(FrameKind.AsyncMessage, invalidUtf8, utf8(''), utf8('x')), 'SYSTEMGE_ERR_INVALID_UTF8');
    expect(error).toMatchObject({ field: 'topic' });
  });

  it('invalid UTF-8 in the sync token', () => {
    const error = expectRejectedThenNext(rawMessage(FrameKind.SyncRequest, utf8('t'), invalidUtf8, utf8('x')), 'SYSTEMGE_ERR_INVALID_UTF8');
    expect(error).toMatchObject({ field: 'syncToken' });
  });

  it('invalid UTF-8 in a string payload, while a binary payload may hold any bytes', () => {
    const error = expectRejectedThenNext(
      rawMessage(FrameKind.SyncResponse, utf8('t'), utf8('k'), invalidUtf8),
      'SYSTEMGE_ERR_INVALID_UTF8',
    );
    expect(error).toMatchObject({ field: 'payload', topic: 't', syncToken: 'k' });
    const c = decode(rawMessage(FrameKind.SyncResponse, utf8('t'), utf8('k'), invalidUtf8, 1));
    expect(c.errors).toEqual([]);
    expect(c.frames).toHaveLength(1);
  });

  it("an unknown payload encoding (perhaps a newer peer's), with its topic and token so a request can be answered", () => {
    const error = expectRejectedThenNext(
      rawMessage(FrameKind.SyncRequest, utf8('t'), utf8('k'), utf8(''), 0x80),
      'SYSTEMGE_ERR_INVALID_FRAME',
    );
    expect(error).toMatchObject({ topic: 't', syncToken: 'k' });
  });

  it('an undecodable msgpack payload', () => {
    const error = expectRejectedThenNext(
      rawMessage(FrameKind.SyncRequest, utf8('t'), utf8('k'), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), 2),
      'SYSTEMGE_ERR_INVALID_FRAME',
    );
    expect(error).toMatchObject({ topic: 't', syncToken: 'k' });
  });

  it('a sync request without a sync token', () => {
    expectRejectedThenNext(rawMessage(FrameKind.SyncRequest, utf8('t'), utf8(''), utf8('x')), 'SYSTEMGE_ERR_INVALID_FRAME');
  });
});

describe('fatal: the stream can no longer be trusted', () => {
  it('unknown frame kind', () => {
    for (const kind of [0, 5, 15, 23, 255]) {
      const error = expectFatal(rawFrame(kind, Buffer.from([1, 2, 3])), 'SYSTEMGE_ERR_UNKNOWN_FRAME_KIND');
      expect(error).toMatchObject({ kind });
    }
  });

  it('zero-length frame', () => {
    expectFatal(Buffer.from([0, 0, 0, 0]), 'SYSTEMGE_ERR_INVALID_FRAME');
  });

  it('message body shorter than its header', () => {
    expectFatal(rawFrame(FrameKind.AsyncMessage, Buffer.from([0, 0])), 'SYSTEMGE_ERR_INVALID_FRAME');
  });

  it('topic length running past the end of the frame', () => {
    const frame = rawMessage(FrameKind.AsyncMessage, utf8('abc'), utf8(''), utf8(''));
    frame.writeUInt16BE(200, 6);
    expectFatal(frame, 'SYSTEMGE_ERR_INVALID_FRAME');
  });

  it('sync token length running past the end of the frame', () => {
    const frame = rawMessage(FrameKind.SyncRequest, utf8('abc'), utf8('k'), utf8(''));
    frame.writeUInt16BE(200, 8 + 3);
    expectFatal(frame, 'SYSTEMGE_ERR_INVALID_FRAME');
  });

  it('heartbeat with a body that is not 4 bytes', () => {
    expectFatal(rawFrame(FrameKind.Heartbeat, Buffer.from([1, 2, 3])), 'SYSTEMGE_ERR_INVALID_FRAME');
    expectFatal(rawFrame(FrameKind.HeartbeatAck, Buffer.from([1, 2, 3, 4, 5])), 'SYSTEMGE_ERR_INVALID_FRAME');
  });

  it('malformed msgpack control body', () => {
    for (const kind of [FrameKind.Handshake, FrameKind.HandshakeAck, FrameKind.TopicsAdded, FrameKind.TopicsRemoved, FrameKind.Goodbye]) {
      // 0xc1 is never used in msgpack; 0xdc announces a 16-bit array length and ends there.
      const error = expectFatal(rawFrame(kind, Buffer.from([0xc1])), 'SYSTEMGE_ERR_INVALID_FRAME');
      expect(error).toMatchObject({ frameKind: kind });
      expectFatal(rawFrame(kind, Buffer.from([0xdc, 0xff])), 'SYSTEMGE_ERR_INVALID_FRAME');
      expectFatal(rawFrame(kind), 'SYSTEMGE_ERR_INVALID_FRAME');
    }
  });

  it('well-formed msgpack of the wrong shape', () => {
    const bodies: [number, unknown][] = [
      [FrameKind.Goodbye, 'just a string'],
      [FrameKind.Goodbye, [1, 2]],
      [FrameKind.Goodbye, { code: 1, reason: 'r' }],
      [FrameKind.TopicsAdded, { asyncTopics: 'a' }],
      [FrameKind.TopicsAdded, { asyncTopics: [1] }],
      [FrameKind.Handshake, { version: '1', name: 'n' }],
      [FrameKind.Handshake, { version: 1.5, name: 'n' }],
      [FrameKind.Handshake, { version: 1, name: '' }],
      [FrameKind.Handshake, { version: 1, name: 7 }],
      [FrameKind.Handshake, { version: 1, name: 'n', auth: 5 }],
      [FrameKind.HandshakeAck, { version: 1, name: 'n', info: { a: 1 } }],
      [FrameKind.HandshakeAck, { version: 1, name: 'n', info: ['a'] }],
    ];
    for (const [kind, body] of bodies) expectFatal(rawFrame(kind, pack(body)), 'SYSTEMGE_ERR_INVALID_FRAME');
  });

  it('a hostile control body cannot reach prototypes', () => {
    const body = Buffer.from(pack({ version: 1, name: 'n', asyncTopics: [], syncTopics: [], info: { a: 'b' } }));
    // Rename the info key "a" to "__proto__" by hand: msgpackr would not write it.
    const hostile = pack({ version: 1, name: 'n', asyncTopics: [], syncTopics: [], info: { __proto__x: 'polluted' } });
    const withProto = Buffer.from(hostile.toString('latin1').replace('__proto__x', '__proto__'), 'latin1');
    withProto[withProto.indexOf('__proto__') - 1] = 0xa0 | 9;
    for (const b of [body, withProto]) {
      const c = decode(rawFrame(FrameKind.Handshake, b));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      for (const f of c.frames) expect(Object.getPrototypeOf((f as { info: object }).info)).toBe(Object.prototype);
    }
  });
});

describe('truncated stream', () => {
  const frame = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'topic', payload: 'payload', syncToken: undefined }, limits);

  it('ending inside the body reports how much arrived', () => {
    const c = decode(frame.subarray(0, 9));
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_TRUNCATED_FRAME', true);
    expect(c.errors[0]).toMatchObject({ received: 9, expected: frame.length });
  });

  it('ending inside the length prefix', () => {
    const c = decode(frame.subarray(0, 2));
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_TRUNCATED_FRAME', true);
    expect(c.errors[0]).toMatchObject({ received: 2, expected: 4 });
  });

  it('ending right after a complete frame is a clean end', () => {
    const c = decode(frame, frame);
    expect(c.errors).toEqual([]);
    expect(c.frames).toHaveLength(2);
  });

  it('end() twice reports once, and input after a fatal error is ignored', () => {
    const c = collectFrames();
    c.decoder.push(frame.subarray(0, 5));
    c.decoder.end();
    c.decoder.end();
    c.decoder.push(frame);
    expect(c.errors).toHaveLength(1);
    expect(c.frames).toEqual([]);
  });
});
