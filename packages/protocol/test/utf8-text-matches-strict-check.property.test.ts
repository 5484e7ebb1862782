import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Text } from '../src/frame-decoder.js';
import { collectFrames, expectProtocolError, rawMessage } from './collect-frames.js';
import { FrameKind } from '../src/index.js';

/*
 * The decoder reads topics, sync tokens and text payloads with utf8Text, which decodes first and
 * runs the strict UTF-8 check only when the text holds U+FFFD. It must accept exactly what isUtf8
 * accepts, and return the same string as decoding the bytes alone.
 */

/** The reference: the strict check on its own view, then the decode. */
function reference(bytes: Uint8Array): string | undefined {
  return isUtf8(bytes) ? Buffer.from(bytes).toString('utf8') : undefined;
}

/** Bytes around the edges of UTF-8: lead bytes, continuation bytes, surrogates, overlongs, U+FFFD, above U+10FFFF. */
const edgyByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90, 0xbd),
);
const edgyBytes = fc.array(edgyByte, { maxLength: 24 }).map((a) => Uint8Array.from(a));
/** Valid text, some of it with U+FFFD itself (EF BF BD), spliced with arbitrary bytes. */
const mixedBytes = fc
  .tuple(fc.string({ unit: fc.constantFrom('a', 'é', '\uFFFD', '€', '😀', '\u0000') }), edgyBytes, fc.nat(32))
  .map(([text, extra, at]) => {
    const valid = Buffer.from(text, 'utf8');
    const cut = Math.min(at, valid.length);
    return Buffer.concat([valid.subarray(0, cut), extra, valid.subarray(cut)]);
  });

/** Decodes `bytes` at an offset inside a larger buffer, as the decoder does. */
function atOffset(bytes: Uint8Array, before: number, after: number): string | undefined {
  const buf = Buffer.alloc(before + bytes.length + after, 0xff);
  buf.set(bytes, before);
  return utf8Text(buf, before, before + bytes.length);
}

describe('utf8Text', () => {
  it('accepts exactly the bytes isUtf8 accepts, and decodes them to the same string', () => {
    fc.assert(
      fc.property(fc.oneof(edgyBytes, mixedBytes), fc.nat(8), fc.nat(8), (bytes, before, after) => {
        expect(atOffset(bytes, before, after)).toBe(reference(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with isUtf8 on every sequence of up to two bytes and every sequence starting with a multi-byte lead', () => {
    const mismatches: string[] = [];
    const check = (bytes: Uint8Array): void => {
      if (atOffset(bytes, 1, 1) !== reference(bytes)) mismatches.push(Buffer.from(bytes).toString('hex'));
    };
    const one = new Uint8Array(1);
    const two = new Uint8Array(2);
    const three = new Uint8Array(3);
    for (let a = 0; a < 256; a++) {
      one[0] = a;
      check(one);
      for (let b = 0; b < 256; b++) {
        two[0] = a;
        two[1] = b;
        check(two);
      }
    }
    // Three-byte forms and the first three bytes of four-byte forms, including surrogates (ED A0..BF) and overlongs (E0 80..9F).
    for (let a = 0xe0; a <= 0xf7; a++) {
      for (let b = 0x70; b < 0xd0; b++) {
        for (let c = 0x70; c < 0xd0; c++) {
          three[0] = a;
          three[1] = b;
          three[2] = c;
          check(three);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('keeps U+FFFD sent as such, and refuses a payload whose only oddity is an encoded surrogate', () => {
    const c = collectFrames();
    const replacement = Buffer.from('a\uFFFDb', 'utf8');
    const surrogate = Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]);
    c.decoder.push(
      Buffer.concat([
        rawMessage(FrameKind.AsyncMessage, replacement, Buffer.alloc(0), replacement),
        rawMessage(FrameKind.AsyncMessage, Buffer.from('t'), Buffer.alloc(0), surrogate),
      ]),
    );
    expect(c.frames.map((f) => [(f as { topic: string }).topic, (f as { payload: unknown }).payload])).toEqual([['a\uFFFDb', 'a\uFFFDb']]);
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_UTF8', false);
  });
});
