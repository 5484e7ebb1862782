import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, packPayload, resolveLimits, type MessageFrame } from '../src/index.js';
import { collectFrames } from './collect-frames.js';
import { splitAt } from './frame-arbitraries.js';

/* Any value msgpack carries comes back as the same kind of value, through any split of the byte stream. */

const limits = resolveLimits({ maxFrameBytes: 1 << 20, maxPayloadBytes: 1 << 20 });

// `__proto__` is renamed on receive (see structured-payload-hostile.test.ts), so generated keys avoid it.
const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
);
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }).map((o) => ({ ...o })),
    fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 5 }).map((items) => new Set(items)),
  ),
}));
// A top-level string or Uint8Array takes the text/bytes path, which the other property tests cover.
const structured = value.filter((v) => typeof v !== 'string' && !(v instanceof Uint8Array));

const frame = fc.record({
  kind: fc.constantFrom(FrameKind.AsyncMessage, FrameKind.SyncRequest, FrameKind.SyncResponse),
  topic: fc.string({ minLength: 1, maxLength: 12 }),
  payload: structured,
  syncToken: fc.string({ minLength: 1, maxLength: 8 }),
}) as fc.Arbitrary<MessageFrame>;

describe('structured payloads: round trip through any split', () => {
  it('decodes to equal values of the same types', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 16 }), (frames, cuts) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, limits)));
        const c = collectFrames(limits);
        for (const chunk of splitAt(bytes, cuts)) c.decoder.push(chunk);
        c.decoder.end();
        expect(c.errors).toEqual([]);
        // toEqual compares Dates, Sets, bigints and byte arrays by value and type.
        const received = c.frames as MessageFrame[];
        expect(received.map(({ payloadBytes: _, ...f }) => f)).toEqual(frames);
        expect(received.map((f) => f.payloadBytes)).toEqual(frames.map((f) => packPayload(f.topic, f.payload).length));
      }),
      { numRuns: 3_000 },
    );
  });
});
