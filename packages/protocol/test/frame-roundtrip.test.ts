import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  encodeFrame,
  FRAME_PREFIX_BYTES,
  FrameKind,
  frameKindName,
  isMessageFrame,
  MESSAGE_HEADER_BYTES,
  type Frame,
} from '../src/index.js';
import { collectFrames, normalize, rawFrame } from './collect-frames.js';

const limits = DEFAULT_LIMITS;

function roundTrip(frame: Frame): Frame {
  const c = collectFrames();
  c.decoder.push(encodeFrame(frame, limits));
  c.decoder.end();
  expect(c.errors).toEqual([]);
  expect(c.frames).toHaveLength(1);
  return c.frames[0] as Frame;
}

const messageKinds = [
  ['AsyncMessage', FrameKind.AsyncMessage],
  ['SyncRequest', FrameKind.SyncRequest],
  ['SyncResponse', FrameKind.SyncResponse],
  ['SyncFailure', FrameKind.SyncFailure],
] as const;

describe('message frames round-trip', () => {
  for (const [name, kind] of messageKinds) {
    const syncToken = kind === FrameKind.AsyncMessage ? undefined : 'tok-123';
    describe(name, () => {
      it('string payload', () => {
        const frame: Frame = { kind, topic: 'orders.created', payload: '{"id":1}', syncToken };
        expect(roundTrip(frame)).toEqual(frame);
      });

      it('binary payload stays binary', () => {
        const bytes = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0x80, 0]);
        const decoded = roundTrip({ kind, topic: 'bin', payload: bytes, syncToken });
        expect(decoded.kind).toBe(kind);
        if (!isMessageFrame(decoded)) throw new Error('not a message');
        expect(decoded.payload).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(decoded.payload as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
        expect(decoded.syncToken).toBe(syncToken);
      });

      it('empty string payload', () => {
        const frame: Frame = { kind, topic: 't', payload: '', syncToken };
        expect(roundTrip(frame)).toEqual(frame);
      });

      it('empty binary payload', () => {
        const decoded = roundTrip({ kind, topic: 't', payload: new Uint8Array(0), syncToken });
        if (!isMessageFrame(decoded)) throw new Error('not a message');
        expect(decoded.payload).toBeInstanceOf(Uint8Array);
        expect((decoded.payload as Uint8Array).byteLength).toBe(0);
      });

      it('unicode topic, token and payload', () => {
        const frame: Frame = {
          kind,
          topic: 'zähler/温度/🚀',
          payload: 'naïve café — 日本語 — 𝄞 — 👩‍👩‍👧',
          syncToken: kind === FrameKind.AsyncMessage ? undefined : 'ключ-🔑',
        };
        expect(roundTrip(frame)).toEqual(frame);
      });
    });
  }

  it('an async message may carry a sync token', () => {
    const frame: Frame = { kind: FrameKind.AsyncMessage, topic: 't', payload: 'p', syncToken: 'x' };
    expect(roundTrip(frame)).toEqual(frame);
  });

  it('uses the fixed binary header: prefix, kind, flags, topic length, topic, token length, token, payload', () => {
    const bytes = encodeFrame({ kind: FrameKind.SyncRequest, topic: 'ab', payload: 'xyz', syncToken: 'k' }, limits);
    expect([...bytes]).toEqual([
      0,
      0,
      0,
      1 + 1 + 2 + 2 + 2 + 1 + 3,
      FrameKind.SyncRequest,
      0,
      0,
      2,
      0x61,
      0x62,
      0,
      1,
      0x6b,
      0x78,
      0x79,
      0x7a,
    ]);
    expect(bytes.length).toBe(MESSAGE_HEADER_BYTES + 2 + 1 + 3);
    const bin = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'a', payload: new Uint8Array([9]), syncToken: undefined }, limits);
    expect(bin[5]).toBe(1);
  });

  it('a large payload (1 MiB) round-trips', () => {
    const payload = 'x'.repeat(1024 * 1024);
    const frame: Frame = { kind: FrameKind.AsyncMessage, topic: 'big', payload, syncToken: undefined };
    expect(roundTrip(frame)).toEqual(frame);
  });
});

describe('control frames round-trip', () => {
  const cases: [string, Frame][] = [
    [
      'Handshake with auth and info',
      {
        kind: FrameKind.Handshake,
        version: 1,
        name: 'node-α',
        asyncTopics: ['a', 'b/ü'],
        syncTopics: ['s'],
        auth: 'secret',
        info: { listen: '127.0.0.1:60000', 'ключ': 'значение' },
      },
    ],
    ['Handshake minimal', { kind: FrameKind.Handshake, version: 1, name: 'n', asyncTopics: [], syncTopics: [] }],
    ['HandshakeAck', { kind: FrameKind.HandshakeAck, version: 1, name: 'server', asyncTopics: ['x'], syncTopics: [], info: { a: 'b' } }],
    ['TopicsAdded', { kind: FrameKind.TopicsAdded, asyncTopics: ['a', '日本'], syncTopics: ['b'] }],
    ['TopicsRemoved', { kind: FrameKind.TopicsRemoved, asyncTopics: [], syncTopics: ['b'] }],
    ['Heartbeat', { kind: FrameKind.Heartbeat, nonce: 0xdeadbeef }],
    ['HeartbeatAck', { kind: FrameKind.HeartbeatAck, nonce: 0 }],
    ['Goodbye', { kind: FrameKind.Goodbye, code: 'normal', reason: 'shutting down — bye 👋' }],
    ['Goodbye with empty reason', { kind: FrameKind.Goodbye, code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE', reason: '' }],
  ];
  for (const [name, frame] of cases) {
    it(name, () => {
      expect(normalize(roundTrip(frame))).toEqual(normalize(frame));
    });
  }

  it('heartbeat nonces are u32 (wrap, never throw)', () => {
    const decoded = roundTrip({ kind: FrameKind.Heartbeat, nonce: 2 ** 32 + 5 });
    expect(decoded).toEqual({ kind: FrameKind.Heartbeat, nonce: 5 });
  });

  it('unknown fields of a control body are dropped, missing topic lists are empty', () => {
    const c = collectFrames();
    c.decoder.push(rawFrame(FrameKind.TopicsAdded, pack({ asyncTopics: ['a'], extra: 1 })));
    expect(c.errors).toEqual([]);
    expect(c.frames).toEqual([{ kind: FrameKind.TopicsAdded, asyncTopics: ['a'], syncTopics: [] }]);
    expect('extra' in (c.frames[0] as object)).toBe(false);
  });

  it('names every kind for logs', () => {
    expect(frameKindName(FrameKind.Goodbye)).toBe('Goodbye');
    expect(frameKindName(FrameKind.AsyncMessage)).toBe('AsyncMessage');
    expect(frameKindName(99)).toBe('unknown(99)');
  });

  it('heartbeat frame is prefix + kind + u32', () => {
    expect(encodeFrame({ kind: FrameKind.Heartbeat, nonce: 1 }, limits).length).toBe(FRAME_PREFIX_BYTES + 1 + 4);
  });
});

describe('a stream of frames', () => {
  it('decodes many frames from one chunk and from byte-by-byte input alike', () => {
    const frames: Frame[] = [
      { kind: FrameKind.Handshake, version: 1, name: 'n', asyncTopics: ['a'], syncTopics: [] },
      { kind: FrameKind.AsyncMessage, topic: 'a', payload: 'one', syncToken: undefined },
      { kind: FrameKind.Heartbeat, nonce: 7 },
      { kind: FrameKind.SyncRequest, topic: 'a', payload: new Uint8Array([1, 2, 3]), syncToken: 't' },
      { kind: FrameKind.Goodbye, code: 'normal', reason: 'done' },
    ];
    const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, limits)));
    const whole = collectFrames();
    whole.decoder.push(bytes);
    const byByte = collectFrames();
    for (let i = 0; i < bytes.length; i++) {
      byByte.decoder.push(bytes.subarray(i, i + 1));
      expect(byByte.decoder.bufferedBytes).toBeLessThanOrEqual(bytes.length);
    }
    byByte.decoder.end();
    expect(whole.frames.map(normalize)).toEqual(frames.map(normalize));
    expect(byByte.frames.map(normalize)).toEqual(frames.map(normalize));
    expect(byByte.errors).toEqual([]);
    expect(byByte.decoder.bufferedBytes).toBe(0);
  });

  it('a frame split across many small chunks is joined once it is complete, holding only what arrived', () => {
    const frame: Frame = { kind: FrameKind.AsyncMessage, topic: 'split', payload: 'x'.repeat(5000), syncToken: undefined };
    const bytes = encodeFrame(frame, limits);
    const c = collectFrames();
    // 1-byte pieces: the decoder holds references and compacts them, never the announced size up front.
    for (let i = 0; i < bytes.length - 1; i++) {
      c.decoder.push(Buffer.from(bytes.subarray(i, i + 1)));
      // The 4-byte prefix is consumed once complete; from then on only body bytes are held.
      expect(c.decoder.bufferedBytes).toBe(i < 3 ? i + 1 : i - 3);
    }
    expect(c.frames).toEqual([]);
    c.decoder.push(Buffer.from(bytes.subarray(bytes.length - 1)));
    expect(c.frames).toEqual([frame]);
    expect(c.decoder.bufferedBytes).toBe(0);
  });
});
