import fc from 'fast-check';
import { FrameKind, type Frame } from '../src/index.js';

/** Limits small enough that generated frames hit them, large enough for every generated valid frame. */
export const propertyLimits = {
  maxFrameBytes: 4096,
  maxTopicBytes: 64,
  maxPayloadBytes: 2048,
  maxSyncTokenBytes: 32,
  maxNodeNameBytes: 32,
};

// Up to 16 code points of at most 4 UTF-8 bytes each: 64 bytes.
const topic = fc.string({ unit: 'binary', minLength: 1, maxLength: 16 });
const token = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 });
const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 });
const text = fc.string({ unit: 'binary', maxLength: 200 });
const payload = fc.oneof(text, fc.uint8Array({ maxLength: 300 }));
const topics = fc.array(topic, { maxLength: 4 });
const info = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }), { nil: undefined });

export const messageFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    kind: fc.constant(FrameKind.AsyncMessage),
    topic,
    payload,
    syncToken: fc.option(token, { nil: undefined }),
  }),
  fc.record({
    kind: fc.constantFrom(FrameKind.SyncRequest, FrameKind.SyncResponse, FrameKind.SyncFailure),
    topic,
    payload,
    syncToken: token,
  }),
);

export const controlFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    kind: fc.constant(FrameKind.Handshake),
    version: fc.integer({ min: 0, max: 1000 }),
    name,
    asyncTopics: topics,
    syncTopics: topics,
    auth: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    info,
  }),
  fc.record({
    kind: fc.constant(FrameKind.HandshakeAck),
    version: fc.integer({ min: 0, max: 1000 }),
    name,
    asyncTopics: topics,
    syncTopics: topics,
    info,
  }),
  fc.record({ kind: fc.constantFrom(FrameKind.TopicsAdded, FrameKind.TopicsRemoved), asyncTopics: topics, syncTopics: topics }),
  fc.record({ kind: fc.constantFrom(FrameKind.Heartbeat, FrameKind.HeartbeatAck), nonce: fc.nat({ max: 0xffff_ffff }) }),
  fc.record({ kind: fc.constant(FrameKind.Goodbye), code: fc.string({ maxLength: 40 }), reason: fc.string({ maxLength: 100 }) }),
) as fc.Arbitrary<Frame>;

export const anyFrame: fc.Arbitrary<Frame> = fc.oneof({ arbitrary: messageFrame, weight: 3 }, { arbitrary: controlFrame, weight: 2 });

/** Cuts `bytes` at the given positions (any order, duplicates allowed) into consecutive chunks. */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}
