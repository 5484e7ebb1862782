import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, ProtocolError, resolveLimits } from '../src/index.js';
import { collectFrames, normalize, rawFrame, rawMessage, type DecodeEvent } from './collect-frames.js';
import { anyFrame, propertyLimits, splitAt } from './frame-arbitraries.js';

/*
 * F2: whatever a peer sends, the decoder never throws, never holds more than one frame's
 * worth of bytes, and reports every problem as a typed ProtocolError.
 */

// A small frame limit so that random length prefixes land on both sides of it.
const limits = resolveLimits({
  ...propertyLimits,
  maxFrameBytes: 96,
  maxTopicBytes: 8,
  maxPayloadBytes: 32,
  maxSyncTokenBytes: 4,
  maxNodeNameBytes: 8,
});
const wide = resolveLimits(propertyLimits);
const kinds = [0, 1, 2, 3, 4, 5, 16, 17, 18, 19, 20, 21, 22, 23, 255];

function prefixed(length: number, rest: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + rest.length);
  b.writeUInt32BE(length, 0);
  b.set(rest, 4);
  return b;
}

/** Pieces that look more or less like frames, so the garbage reaches every parser branch. */
const piece: fc.Arbitrary<Buffer> = fc.oneof(
  // Pure noise.
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  // A valid frame (under generous limits, so it may break the small ones).
  anyFrame.map((f) => encodeFrame(f, wide)),
  // A correct length with a random kind and body.
  fc.tuple(fc.constantFrom(...kinds), fc.uint8Array({ maxLength: 40 })).map(([kind, body]) => rawFrame(kind, body)),
  // A random length, small or huge, followed by some bytes.
  fc
    .tuple(fc.oneof(fc.nat({ max: 120 }), fc.nat({ max: 0xffff_ffff })), fc.uint8Array({ maxLength: 40 }))
    .map(([n, rest]) => prefixed(n, rest)),
  // A message frame with random field bytes and flags.
  fc
    .tuple(
      fc.constantFrom(1, 2, 3, 4),
      fc.uint8Array({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 6 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom(0, 1, 2, 0x80),
    )
    .map(([kind, topic, token, payload, flags]) => rawMessage(kind, topic, token, payload, flags)),
  // A control frame whose body is any msgpack value.
  fc
    .tuple(
      fc.constantFrom(16, 17, 18, 19, 22),
      fc.anything({ maxDepth: 2, maxKeys: 4, withDate: true, withTypedArray: true, withNullPrototype: true }),
    )
    .map(([kind, value]) => rawFrame(kind, pack(value))),
  // A control frame whose body is a map with the right keys but random values.
  fc
    .tuple(
      fc.constantFrom(16, 17, 18, 19, 22),
      fc.record(
        {
          version: fc.oneof(fc.integer(), fc.double(), fc.string()),
          name: fc.oneof(fc.string({ maxLength: 12 }), fc.integer()),
          asyncTopics: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), fc.anything({ maxDepth: 1 })),
          syncTopics: fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxLength: 3 }),
          auth: fc.anything({ maxDepth: 1 }),
          info: fc.anything({ maxDepth: 2 }),
          code: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
          reason: fc.string({ maxLength: 1100 }),
        },
        { requiredKeys: [] },
      ),
    )
    .map(([kind, body]) => rawFrame(kind, pack(body))),
);

const garbage = fc.tuple(fc.array(piece, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }));

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function summarize(events: DecodeEvent[]): unknown[] {
  return events.map((e) => ('frame' in e ? normalize(e.frame) : { code: e.error.code, fatal: e.error.fatal }));
}

describe('decoder: arbitrary garbage', () => {
  it('never throws, stays bounded, and reports only typed errors', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(garbage, ([pieces, cutPoints]) => {
        const bytes = Buffer.concat(pieces);
        const c = collectFrames(limits);
        const bound = limits.maxFrameBytes + 4;
        // Plain checks in the hot loop: 50,000 runs of expect() would dominate the run time.
        for (const chunk of splitAt(bytes, cutPoints)) {
          c.decoder.push(chunk);
          check(c.decoder.bufferedBytes <= bound, `bufferedBytes ${c.decoder.bufferedBytes} above ${bound}`);
        }
        c.decoder.end();
        check(c.decoder.bufferedBytes <= bound, `bufferedBytes ${c.decoder.bufferedBytes} above ${bound} after end()`);
        for (const error of c.errors) {
          check(error instanceof ProtocolError, `not a ProtocolError: ${String(error)}`);
          check(/^SYSTEMGE_ERR_[A-Z0-9_]+$/.test(error.code), `bad code ${error.code}`);
          check(typeof error.fatal === 'boolean' && error.message.length > 0, `incomplete error ${error.code}`);
        }
        // At most one fatal error, and nothing after it.
        const fatal = c.events.findIndex((e) => 'error' in e && e.error.fatal);
        if (fatal !== -1) {
          check(fatal === c.events.length - 1, 'events after a fatal error');
          check(c.decoder.broken && c.decoder.bufferedBytes === 0, 'a failed decoder still holds bytes');
        }
        // Every decoded message is within the limits.
        for (const frame of c.frames) {
          if (frame.kind <= 4 && 'topic' in frame) {
            const n = Buffer.byteLength(frame.topic);
            check(n > 0 && n <= limits.maxTopicBytes, `topic of ${n} bytes let through`);
          }
        }
      }),
      { numRuns: 60_000 },
    );
  });

  it('reports the same frames and errors however the garbage is split', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(garbage, ([pieces, cutPoints]) => {
        const bytes = Buffer.concat(pieces);
        const whole = collectFrames(limits);
        whole.decoder.push(bytes);
        whole.decoder.end();
        const split = collectFrames(limits);
        for (const chunk of splitAt(bytes, cutPoints)) split.decoder.push(chunk);
        split.decoder.end();
        expect(summarize(split.events)).toEqual(summarize(whole.events));
      }),
      { numRuns: 20_000 },
    );
  });

  it('a heartbeat after any non-fatal rejection still decodes', () => {
    // Sanity check of the generator's reach: non-fatal rejections do occur and do not break the stream.
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(1, Buffer.from('t'.repeat(9)), Buffer.alloc(0), Buffer.alloc(0)));
    c.decoder.push(encodeFrame({ kind: FrameKind.Heartbeat, nonce: 3 }, limits));
    expect(c.errors.map((e) => [e.code, e.fatal])).toEqual([['SYSTEMGE_ERR_FIELD_TOO_LARGE', false]]);
    expect(c.frames).toEqual([{ kind: FrameKind.Heartbeat, nonce: 3 }]);
  });
});
