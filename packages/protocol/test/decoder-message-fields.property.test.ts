import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameKind,
  type MessageFieldsHandler,
  messageFrame,
  type ProtocolError,
  resolveLimits,
} from '../src/index.js';
import { normalize, rawMessage } from './collect-frames.js';
import { anyFrame, propertyLimits, splitAt } from './frame-arbitraries.js';

/*
 * A sink with `onMessage` takes message frames as fields instead of frame objects. It must see
 * exactly what a frame sink sees: the same messages (payloadBytes only for structured payloads),
 * the same control frames and errors, in the same order, however the bytes are split.
 */

const limits = resolveLimits(propertyLimits);

type Event = { frame: unknown } | { error: string };

function decodeWith(fields: boolean, chunks: Buffer[]): Event[] {
  const events: Event[] = [];
  const onMessage: MessageFieldsHandler = (kind, topic, payload, syncToken, payloadBytes) => {
    events.push({ frame: normalize(messageFrame(kind, topic, payload, syncToken, payloadBytes)) });
  };
  const decoder = new FrameDecoder(limits, {
    onFrame(frame: Frame) {
      if (fields && frame.kind <= 4) throw new Error(`message frame of kind ${frame.kind} reached onFrame`);
      events.push({ frame: normalize(frame) });
    },
    onMessage: fields ? onMessage : undefined,
    onError(error: ProtocolError) {
      events.push({ error: `${error.code} ${error.fatal} ${error.message}` });
    },
  });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return events;
}

const structured = fc.record({
  kind: fc.constantFrom(FrameKind.AsyncMessage, FrameKind.SyncRequest, FrameKind.SyncResponse),
  topic: fc.string({ minLength: 1, maxLength: 8 }),
  payload: fc.oneof(
    fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 4 }),
    fc.array(fc.boolean(), { maxLength: 5 }),
    fc.integer(),
  ),
  syncToken: fc.string({ minLength: 1, maxLength: 8 }),
}) as fc.Arbitrary<Frame>;

/** Messages the decoder rejects alone: bad UTF-8 in each field, an empty topic, a sync frame without a token. */
const rejected = fc.constantFrom(
  rawMessage(FrameKind.AsyncMessage, Buffer.from([0x61, 0xff]), Buffer.alloc(0), Buffer.from('x')),
  rawMessage(FrameKind.SyncRequest, Buffer.from('t'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('x')),
  rawMessage(FrameKind.SyncResponse, Buffer.from('t'), Buffer.from('k'), Buffer.from([0xc0, 0xaf])),
  rawMessage(FrameKind.SyncRequest, Buffer.alloc(0), Buffer.from('k'), Buffer.from('x')),
  rawMessage(FrameKind.SyncFailure, Buffer.from('t'), Buffer.alloc(0), Buffer.from('x')),
);

const item = fc.oneof(
  { arbitrary: anyFrame.map((f) => encodeFrame(f, limits)), weight: 4 },
  { arbitrary: structured.map((f) => encodeFrame(f, limits)), weight: 2 },
  { arbitrary: rejected, weight: 1 },
);

describe('FrameDecoder with onMessage', () => {
  it('reports the same messages, control frames and errors as frame objects, in order, under any split', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, cuts) => {
        const chunks = splitAt(Buffer.concat(frames), cuts);
        const expected = decodeWith(false, chunks);
        expect(decodeWith(true, chunks)).toEqual(expected);
        // The stream did carry messages, so the comparison is not between two empty lists.
        expect(expected.length).toBe(frames.length);
      }),
      { numRuns: 400 },
    );
  });
});
