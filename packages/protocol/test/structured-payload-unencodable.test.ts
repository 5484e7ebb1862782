import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FieldTooLargeError,
  FrameKind,
  FrameWriter,
  PayloadEncoding,
  PayloadEncodingError,
  payloadEncoding,
  packPayload,
  resolveLimits,
  type MessageFrame,
} from '../src/index.js';
import { collectFrames } from './collect-frames.js';

const limits = resolveLimits({ maxPayloadBytes: 64 });

function message(payload: unknown, topic = 'orders.create'): MessageFrame {
  return { kind: FrameKind.SyncRequest, topic, payload, syncToken: 'tok' };
}

describe('structured payloads the sender cannot encode', () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const cases: [string, unknown, RegExp][] = [
    ['a function', { run: () => 1 }, /function/],
    ['a symbol', Symbol('s'), /symbol/],
    ['a nested symbol', { s: Symbol('s') }, /symbol/],
    ['a circular value', circular, /circular/],
  ];
  for (const [name, payload, reason] of cases) {
    it(`${name} is a PayloadEncodingError naming the topic, and nothing is written`, () => {
      let error: unknown;
      try {
        encodeFrame(message(payload), limits);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PayloadEncodingError);
      const e = error as PayloadEncodingError;
      expect(e.code).toBe('SYSTEMGE_ERR_PAYLOAD_UNENCODABLE');
      expect(e.topic).toBe('orders.create');
      expect(e.fatal).toBe(false);
      expect(e.message).toContain('"orders.create"');
      expect(e.message).toMatch(reason);

      const chunks: Uint8Array[] = [];
      const writer = new FrameWriter({ write: (c) => chunks.push(c) > 0 }, limits, () => {});
      expect(() => writer.write(message(payload))).toThrow(PayloadEncodingError);
      writer.flush();
      expect(writer.bytesWritten).toBe(0);
      expect(chunks).toEqual([]);
    });
  }

  it('maxPayloadBytes applies to the encoded bytes of a structured payload', () => {
    // 20 one-byte numbers: 21 bytes of msgpack, fine; a 60-character string inside: over 64 bytes.
    expect(() => encodeFrame(message(Array.from({ length: 20 }, (_, i) => i)), limits)).not.toThrow();
    let error: unknown;
    try {
      encodeFrame(message({ text: 'x'.repeat(60) }), limits);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FieldTooLargeError);
    expect((error as FieldTooLargeError).field).toBe('payload');
    expect((error as FieldTooLargeError).size).toBe(packPayload('t', { text: 'x'.repeat(60) }).length);
  });

  it('the receiver refuses a structured payload over its maxPayloadBytes', () => {
    const bytes = encodeFrame(message({ text: 'x'.repeat(60) }), resolveLimits({}));
    const c = collectFrames(limits);
    c.decoder.push(bytes);
    expect(c.frames).toEqual([]);
    expect(c.errors[0]?.code).toBe('SYSTEMGE_ERR_FIELD_TOO_LARGE');
  });

  it('strings and bytes keep their own encodings; everything else is msgpack', () => {
    expect(payloadEncoding('text')).toBe(PayloadEncoding.Text);
    expect(payloadEncoding(new Uint8Array(1))).toBe(PayloadEncoding.Binary);
    expect(payloadEncoding(Buffer.alloc(1))).toBe(PayloadEncoding.Binary);
    for (const v of [{}, [], 1, true, null, undefined, new Date(0), 1n]) expect(payloadEncoding(v)).toBe(PayloadEncoding.Msgpack);
    // The encoding byte follows the kind byte; a string payload is its UTF-8 bytes, nothing more.
    const text = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'hi', syncToken: undefined }, limits);
    expect(text[5]).toBe(0);
    expect(text.subarray(text.length - 2).toString()).toBe('hi');
    const obj = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload: { a: 1 }, syncToken: undefined }, limits);
    expect(obj[5]).toBe(2);
  });

  it('the same frame sent twice is encoded from its current payload each time', () => {
    const payload = { n: 1 };
    const frame = message(payload);
    const first = encodeFrame(frame, limits);
    payload.n = 2;
    frame.payload = { n: 2 };
    const second = encodeFrame(frame, limits);
    const c = collectFrames(limits);
    c.decoder.push(Buffer.concat([first, second]));
    expect(c.frames.map((f) => (f as MessageFrame).payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
