import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, resolveLimits, type Frame } from '../src/index.js';
import { collectFrames, expectProtocolError, rawMessage } from './collect-frames.js';

/*
 * The decoder caches topics, so a run of messages to one topic skips UTF-8
 * validation and decoding. A topic of the same length that differs in any byte, or is
 * not UTF-8 at all, must never be mistaken for the remembered one.
 */

const limits = resolveLimits();
const message = (topic: string): Frame => ({ kind: FrameKind.AsyncMessage, topic, payload: 'p', syncToken: undefined });

describe('repeated topics', () => {
  it('decodes every topic of a stream that repeats, alternates and changes in the last byte', () => {
    const topics = [
      'orders.eu',
      'orders.eu',
      'orders.us',
      'orders.eu',
      'orders.e',
      'orders.eu',
      'x'.repeat(200),
      'x'.repeat(200),
      'orders.eu',
    ];
    const c = collectFrames();
    c.decoder.push(Buffer.concat(topics.map((t) => encodeFrame(message(t), limits))));
    expect(c.errors).toEqual([]);
    expect(c.frames.map((f) => (f as { topic: string }).topic)).toEqual(topics);
  });

  it('rejects a non-UTF-8 topic of the same length as the remembered one, then recognises the old one again', () => {
    const c = collectFrames();
    const bad = Buffer.from('orders.eu');
    bad[8] = 0xff;
    c.decoder.push(
      Buffer.concat([
        encodeFrame(message('orders.eu'), limits),
        rawMessage(FrameKind.AsyncMessage, bad, Buffer.alloc(0), Buffer.from('p')),
        encodeFrame(message('orders.eu'), limits),
      ]),
    );
    expect(c.frames.map((f) => (f as { topic: string }).topic)).toEqual(['orders.eu', 'orders.eu']);
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_UTF8', false);
  });
});
