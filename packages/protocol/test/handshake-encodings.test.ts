import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_ENCODINGS,
  acceptsEncoding,
  BASE_ENCODINGS,
  encodeFrame,
  encodingNames,
  encodingSet,
  FrameKind,
  type Frame,
  type HandshakeFrame,
  PAYLOAD_ENCODING_NAMES,
  PayloadEncoding,
  PayloadEncodingUnsupportedError,
  resolveLimits,
} from '../src/index.js';
import { collectFrames, expectProtocolError, rawFrame } from './collect-frames.js';

/*
 * Handshakes announce the payload encodings their sender accepts (`encodings`), so a node never sends
 * a peer a payload it would refuse. A handshake without the field (an older node) decodes as undefined.
 */

const base: HandshakeFrame = { kind: FrameKind.Handshake, version: 1, name: 'a', asyncTopics: ['t'], syncTopics: [], info: {} };

describe('announced payload encodings in handshakes', () => {
  it('round-trip in handshakes and acks', () => {
    const encodings = ['text', 'bytes', 'msgpack'];
    for (const frame of [
      { ...base, encodings },
      { kind: FrameKind.HandshakeAck, version: 1, name: 'b', asyncTopics: [], syncTopics: [], info: {}, encodings },
    ] as Frame[]) {
      const c = collectFrames();
      c.decoder.push(encodeFrame(frame, resolveLimits()));
      expect(c.errors).toEqual([]);
      expect(c.frames[0]).toMatchObject({ encodings });
    }
  });

  it('a handshake without encodings (an older node) decodes as undefined and is written without the field', () => {
    const c = collectFrames();
    c.decoder.push(encodeFrame(base, resolveLimits()));
    expect(c.errors).toEqual([]);
    expect((c.frames[0] as HandshakeFrame).encodings).toBeUndefined();
    expect(encodeFrame(base, resolveLimits()).includes(Buffer.from('encodings'))).toBe(false);
  });

  it('names from a newer peer decode as sent; encodingSet ignores the ones it does not know', () => {
    const c = collectFrames();
    c.decoder.push(rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'a', encodings: ['msgpack', 'zstd-msgpack'] })));
    expect(c.errors).toEqual([]);
    const encodings = (c.frames[0] as HandshakeFrame).encodings;
    expect(encodings).toEqual(['msgpack', 'zstd-msgpack']);
    expect(encodingNames(encodingSet(encodings))).toEqual(['text', 'bytes', 'msgpack']);
  });

  it('malformed encodings refuse the handshake (fatal)', () => {
    for (const encodings of ['msgpack', [1], [''], ['x'.repeat(65)], Array.from({ length: 33 }, () => 'text'), { msgpack: true }]) {
      const c = collectFrames();
      c.decoder.push(rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'a', encodings })));
      expect(c.frames).toEqual([]);
      expect(c.errors).toHaveLength(1);
      expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', true);
    }
  });

  it('encodingSet: nothing announced is text and bytes; text and bytes are always accepted', () => {
    expect(encodingSet(undefined)).toBe(BASE_ENCODINGS);
    expect(encodingNames(encodingSet(undefined))).toEqual(['text', 'bytes']);
    expect(encodingNames(encodingSet([]))).toEqual(['text', 'bytes']);
    expect(acceptsEncoding(encodingSet(undefined), PayloadEncoding.Msgpack)).toBe(false);
    expect(acceptsEncoding(encodingSet(['msgpack']), PayloadEncoding.Msgpack)).toBe(true);
    expect(acceptsEncoding(encodingSet(['msgpack']), PayloadEncoding.Text)).toBe(true);
  });

  it('a name is at the index of its encoding byte, and this build accepts every encoding it sends', () => {
    expect(PAYLOAD_ENCODING_NAMES.indexOf('text')).toBe(PayloadEncoding.Text);
    expect(PAYLOAD_ENCODING_NAMES.indexOf('bytes')).toBe(PayloadEncoding.Binary);
    expect(PAYLOAD_ENCODING_NAMES.indexOf('msgpack')).toBe(PayloadEncoding.Msgpack);
    expect(Object.keys(PayloadEncoding)).toHaveLength(PAYLOAD_ENCODING_NAMES.length);
    expect([...ACCEPTED_ENCODINGS]).toEqual([...PAYLOAD_ENCODING_NAMES]);
  });

  it('PayloadEncodingUnsupportedError names the topic, the peers and what they accept', () => {
    const one = new PayloadEncodingUnsupportedError('orders', ['old'], 'msgpack', ['text', 'bytes']);
    expect(one.code).toBe('SYSTEMGE_ERR_PAYLOAD_ENCODING_UNSUPPORTED');
    expect(one.message).toBe('payload for topic "orders" is msgpack-encoded, which peer "old" does not accept (accepted: text, bytes)');
    expect(one).toMatchObject({ topic: 'orders', peers: ['old'], encoding: 'msgpack' });
    const two = new PayloadEncodingUnsupportedError('orders', ['a', 'b'], 'msgpack', ['text', 'bytes']);
    expect(two.message).toContain('peers "a", "b" do not accept');
  });
});
