import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameKind, type Frame, ProtocolError, resolveLimits } from '../src/index.js';
import { rawFrame } from './collect-frames.js';

/*
 * A handshake is sent once and must be answered: whatever its body (arbitrary bytes or
 * arbitrary msgpack values), the decoder yields either a handshake frame or one fatal,
 * typed ProtocolError, never a non-fatal rejection that would leave the peer waiting.
 */

const limits = resolveLimits({ maxTopicBytes: 16, maxNodeNameBytes: 16 });

const handshakeish = fc.record(
  {
    version: fc.oneof(fc.integer(), fc.anything()),
    name: fc.oneof(fc.string({ maxLength: 40 }), fc.anything()),
    asyncTopics: fc.oneof(fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }), fc.anything()),
    syncTopics: fc.oneof(fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }), fc.anything()),
    auth: fc.anything(),
    info: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.anything()),
    limits: fc.oneof(
      fc.dictionary(fc.constantFrom('maxTopicBytes', 'maxFrameBytes', 'x'), fc.oneof(fc.integer(), fc.anything())),
      fc.anything(),
    ),
    encodings: fc.oneof(fc.array(fc.constantFrom('text', 'bytes', 'msgpack', 'future', ''), { maxLength: 40 }), fc.anything()),
  },
  { requiredKeys: [] },
);

describe('handshake bodies', () => {
  for (const kind of [FrameKind.Handshake, FrameKind.HandshakeAck]) {
    it(`kind ${kind}: always a frame or exactly one fatal typed error`, () => {
      const bodies = fc.oneof(
        fc.uint8Array({ maxLength: 256 }),
        fc.anything().map((v) => pack(v)),
        handshakeish.map((v) => pack(v)),
      );
      fc.assert(
        fc.property(bodies, (body) => {
          const frames: Frame[] = [];
          const errors: ProtocolError[] = [];
          const d = new FrameDecoder(limits, { onFrame: (f) => frames.push(f), onError: (e) => errors.push(e) }, { handshakeFirst: true });
          d.push(rawFrame(kind, body));
          expect(frames.length + errors.length).toBe(1);
          if (errors.length === 1) {
            expect(errors[0]).toBeInstanceOf(ProtocolError);
            expect(errors[0]?.fatal).toBe(true);
            expect(errors[0]?.code).toMatch(/^SYSTEMGE_ERR_/);
          } else {
            const frame = frames[0] as Frame & { name: string; asyncTopics: string[]; syncTopics: string[] };
            expect(frame.kind).toBe(kind);
            expect(Buffer.byteLength(frame.name)).toBeLessThanOrEqual(16);
            for (const t of [...frame.asyncTopics, ...frame.syncTopics]) expect(Buffer.byteLength(t)).toBeLessThanOrEqual(16);
          }
        }),
        { numRuns: 2000 },
      );
    });
  }
});
