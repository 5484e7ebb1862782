import { describe, expect, it } from 'vitest';
import { topicCache } from '../src/frame-decoder.js';
import { encodeFrame, type Frame, FrameKind, resolveLimits } from '../src/index.js';
import { TOPIC_CACHE_BYTES, TOPIC_CACHE_ENTRIES, TopicCache } from '../src/topic-cache.js';
import { collectFrames, expectProtocolError, rawMessage } from './collect-frames.js';

/*
 * Decoders share one cache of topic strings, direct-mapped by a hash of the bytes. Topics whose
 * bytes hash to the same entry must never be mistaken for each other (nor for a cached topic of
 * another decoder), bytes that are not UTF-8 must never be answered from it, and it must stay
 * within its fixed number of entries whatever peers send.
 */

const limits = resolveLimits();
const message = (topic: string): Frame => ({ kind: FrameKind.AsyncMessage, topic, payload: 'p', syncToken: undefined });
const slotOf = (topic: string): number => {
  const bytes = Buffer.from(topic, 'utf8');
  return TopicCache.slot(bytes, 0, bytes.length);
};

/** `count` distinct topics of one length that share a cache entry. */
function colliding(count: number): string[] {
  const bySlot = new Map<number, string[]>();
  for (let i = 0; ; i++) {
    const topic = `topic.${String(i).padStart(6, '0')}`;
    const same = bySlot.get(slotOf(topic)) ?? [];
    same.push(topic);
    bySlot.set(slotOf(topic), same);
    if (same.length === count) return same;
  }
}

const topicsOf = (frames: Frame[]): string[] => frames.map((f) => (f as { topic: string }).topic);

describe('the topic cache', () => {
  it('never answers a topic with another topic of the same length and the same entry', () => {
    const [a, b, c] = colliding(3) as [string, string, string];
    expect(new Set([slotOf(a), slotOf(b), slotOf(c)]).size).toBe(1);
    const stream = [a, b, a, a, c, b, c, a];
    const d = collectFrames();
    d.decoder.push(Buffer.concat(stream.map((t) => encodeFrame(message(t), limits))));
    expect(d.errors).toEqual([]);
    expect(topicsOf(d.frames)).toEqual(stream);
  });

  it('keeps each decoder exact while other decoders overwrite the entries it used last', () => {
    const [a, b] = colliding(2) as [string, string];
    const one = collectFrames();
    const two = collectFrames();
    for (let i = 0; i < 6; i++) {
      one.decoder.push(encodeFrame(message(a), limits));
      two.decoder.push(encodeFrame(message(b), limits));
    }
    expect(topicsOf(one.frames)).toEqual(Array(6).fill(a));
    expect(topicsOf(two.frames)).toEqual(Array(6).fill(b));
  });

  it('refuses a non-UTF-8 topic that shares the entry of a cached topic, then still knows the cached one', () => {
    const valid = 'orders.eu';
    const slot = slotOf(valid);
    // A same-length byte string that is not UTF-8 and lands on the same entry.
    let bad: Buffer | undefined;
    for (let i = 0; bad === undefined; i++) {
      const candidate = Buffer.from(valid);
      candidate[7] = 0x80 + (i & 0x3f);
      candidate[8] = 0xc0 + ((i >> 6) & 0x3f);
      if (TopicCache.slot(candidate, 0, candidate.length) === slot) bad = candidate;
    }
    const d = collectFrames();
    d.decoder.push(
      Buffer.concat([
        encodeFrame(message(valid), limits),
        rawMessage(FrameKind.AsyncMessage, bad, Buffer.alloc(0), Buffer.from('p')),
        encodeFrame(message(valid), limits),
      ]),
    );
    expect(topicsOf(d.frames)).toEqual([valid, valid]);
    expect(d.errors).toHaveLength(1);
    expectProtocolError(d.errors[0], 'SYSTEMGE_ERR_INVALID_UTF8', false);
  });

  it('stays within its entries over thousands of distinct topics, and decodes topics too long to cache every time', () => {
    const d = collectFrames();
    const topics = Array.from({ length: 5000 }, (_, i) => `t.${i}.${'é'.repeat(i % 40)}`);
    const long = `long.${'x'.repeat(TOPIC_CACHE_BYTES)}`;
    topics.push(long, long);
    for (let i = 0; i < topics.length; i += 500) {
      d.decoder.push(Buffer.concat(topics.slice(i, i + 500).map((t) => encodeFrame(message(t), limits))));
    }
    expect(d.errors).toEqual([]);
    expect(topicsOf(d.frames)).toEqual(topics);
    expect(topicCache.size).toBeGreaterThan(TOPIC_CACHE_ENTRIES / 2);
    expect(topicCache.size).toBeLessThanOrEqual(TOPIC_CACHE_ENTRIES);
  });

  it('compares every byte: topics differing only in their first or last byte stay apart', () => {
    const cache = new TopicCache();
    const a = Buffer.from('xabcdefgh');
    const first = Buffer.from('yabcdefgh');
    const last = Buffer.from('xabcdefgi');
    const slot = TopicCache.slot(a, 0, a.length);
    cache.store(slot, a, 0, a.length, 'xabcdefgh');
    expect(cache.matches(slot, a, 0, a.length)).toBe(true);
    expect(cache.matches(slot, first, 0, first.length)).toBe(false);
    expect(cache.matches(slot, last, 0, last.length)).toBe(false);
    expect(cache.matches(slot, a, 0, a.length - 1)).toBe(false);
    // The same bytes inside a larger buffer, at an offset.
    const framed = Buffer.concat([Buffer.from([1, 2, 3]), a, Buffer.from([4])]);
    expect(cache.matches(slot, framed, 3, 3 + a.length)).toBe(true);
    expect(cache.string(slot)).toBe('xabcdefgh');
  });
});
