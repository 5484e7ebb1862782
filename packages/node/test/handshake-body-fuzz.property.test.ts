import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { FrameDecoder, FrameKind, type Frame, resolveLimits } from '@systemge/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startNode } from './helpers.js';
import { RawPeer } from './raw-peer.js';

/*
 * Whatever a socket sends as its handshake body (arbitrary bytes, or arbitrary msgpack values),
 * the node answers with a typed refusal (a goodbye whose code is SYSTEMGE_ERR_...) or, for a
 * body that happens to be a valid handshake, an ack; nothing throws, and the node keeps serving.
 */

// msgpack as the protocol package itself encodes it (a dependency of @systemge/protocol).
const requireFromProtocol = createRequire(import.meta.resolve('@systemge/protocol'));
const { pack } = requireFromProtocol('msgpackr') as { pack: (value: unknown) => Buffer };

function frameOf(body: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = FrameKind.Handshake;
  out.set(body, 5);
  return out;
}

/** Sends one handshake frame on a fresh socket; resolves with what the node answered before closing. */
function exchange(port: number, bytes: Buffer): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    const decoder = new FrameDecoder(resolveLimits(), { onFrame: (f) => frames.push(f), onError: () => {} }, { handshakeFirst: true });
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 10 s; got ${JSON.stringify(frames.map((f) => f.kind))}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      // A valid handshake is acked and the connection stays open: that is an answer too.
      if (frames.some((f) => f.kind === FrameKind.HandshakeAck)) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(frames);
    });
  });
}

function answeredTypedly(frames: Frame[]): boolean {
  const first = frames[0];
  if (first === undefined) return false;
  if (first.kind === FrameKind.HandshakeAck) return true;
  return first.kind === FrameKind.Goodbye && first.code.startsWith('SYSTEMGE_ERR_');
}

// Handshake-shaped maps, mostly well-typed fields with some arbitrary ones, reach deeper than random values alone.
const mostly = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: fc.anything(), weight: 1 });
const topicList = fc.array(fc.string({ minLength: 0, maxLength: 300 }), { maxLength: 4 });
const handshakeish = fc.record(
  {
    version: mostly(fc.constantFrom(1, 1, 1, 2)),
    name: mostly(fc.string({ minLength: 0, maxLength: 140 })),
    asyncTopics: mostly(topicList),
    syncTopics: mostly(topicList),
    auth: mostly(fc.string()),
    info: mostly(fc.dictionary(fc.string(), fc.string())),
    limits: mostly(
      fc.dictionary(
        fc.constantFrom('maxTopicBytes', 'maxNodeNameBytes', 'maxPayloadBytes', 'other'),
        mostly(fc.integer({ min: -1, max: 1000 })),
      ),
    ),
  },
  { requiredKeys: ['version', 'name'] },
);

describe('handshake bodies from anyone', () => {
  it('arbitrary bytes and arbitrary msgpack values get a typed answer and the node keeps serving', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      const node = await startNode(
        // A handshake left unanswered would only end at this timeout, far beyond the 10 s each answer may take.
        { name: 'n', access: { maxPendingHandshakes: 1024 }, connection: { handshakeTimeoutMs: 60_000 } },
        { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) },
      );
      const port = node.address!.port;
      const bodies = fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 512 }),
        fc.anything().map((v) => pack(v)),
        handshakeish.map((v) => pack(v)),
      );
      await fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          const frames = await exchange(port, frameOf(body));
          expect(answeredTypedly(frames), `answer to ${Buffer.from(body).toString('hex').slice(0, 200)}: ${JSON.stringify(frames)}`).toBe(
            true,
          );
        }),
        { numRuns: 150 },
      );
      expect(uncaught).toEqual([]);
      expect(node.status).toBe('started');
      // Still serving a well-behaved peer.
      const { peer } = await RawPeer.handshake(port, 'after-fuzz');
      peer.send({ kind: FrameKind.SyncRequest, topic: 'echo', payload: 'still here', syncToken: 't1' });
      const answer = await peer.next((f) => f.kind === FrameKind.SyncResponse);
      expect(answer).toMatchObject({ payload: 'still here' });
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
  }, 120_000);
});
