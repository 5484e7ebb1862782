import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, resolveLimits, type Frame } from '../src/index.js';
import { collectFrames, expectProtocolError, rawFrame, rawMessage } from './collect-frames.js';

/*
 * A frame whose length prefix is sane but whose field breaks a limit is rejected on its
 * own (FieldTooLargeError, fatal: false); the stream is still trustworthy, so the very
 * next frame must decode.
 */

const limits = { maxTopicBytes: 8, maxPayloadBytes: 16, maxSyncTokenBytes: 4, maxNodeNameBytes: 6 };
const wide = resolveLimits();
const next: Frame = { kind: FrameKind.AsyncMessage, topic: 'next', payload: 'still here', syncToken: undefined };
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function decodeWithNext(bad: Buffer) {
  const c = collectFrames(limits);
  c.decoder.push(Buffer.concat([bad, encodeFrame(next, wide)]));
  c.decoder.end();
  expect(c.decoder.broken).toBe(false);
  expect(c.frames).toEqual([next]);
  expect(c.errors).toHaveLength(1);
  return c.errors[0];
}

describe('over-limit fields are rejected one frame at a time', () => {
  it('topic over maxTopicBytes', () => {
    const error = decodeWithNext(rawMessage(FrameKind.AsyncMessage, utf8('t'.repeat(9)), utf8(''), utf8('p')));
    expectProtocolError(error, 'SYSTEMGE_ERR_FIELD_TOO_LARGE', false);
    expect(error).toMatchObject({ field: 'topic', size: 9, limit: 8, frameKind: FrameKind.AsyncMessage });
  });

  it('payload over maxPayloadBytes (string and binary)', () => {
    for (const flags of [0, 1]) {
      const error = decodeWithNext(rawMessage(FrameKind.AsyncMessage, utf8('t'), utf8(''), utf8('p'.repeat(17)), flags));
      expectProtocolError(error, 'SYSTEMGE_ERR_FIELD_TOO_LARGE', false);
      expect(error).toMatchObject({ field: 'payload', size: 17, limit: 16, topic: 't' });
    }
  });

  it('sync token over maxSyncTokenBytes, with the topic kept for a failure response', () => {
    const error = decodeWithNext(rawMessage(FrameKind.SyncRequest, utf8('t'), utf8('12345'), utf8('')));
    expectProtocolError(error, 'SYSTEMGE_ERR_FIELD_TOO_LARGE', false);
    expect(error).toMatchObject({ field: 'syncToken', size: 5, limit: 4, frameKind: FrameKind.SyncRequest });
  });

  it('an over-limit topic of a sync request keeps the sync token so the sender can be answered', () => {
    const error = decodeWithNext(rawMessage(FrameKind.SyncRequest, utf8('t'.repeat(9)), utf8('tok'), utf8('')));
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'topic', syncToken: 'tok' });
  });

  it('handshake name over maxNodeNameBytes (fatal: a handshake is never retried)', () => {
    const c = collectFrames(limits);
    c.decoder.push(rawFrame(FrameKind.Handshake, pack({ version: 1, name: 'seven77', asyncTopics: [], syncTopics: [] })));
    const error = c.errors[0];
    expectProtocolError(error, 'SYSTEMGE_ERR_FIELD_TOO_LARGE', true);
    expect(c.decoder.broken).toBe(true);
    expect(error).toMatchObject({ field: 'name', size: 7, limit: 6 });
  });

  it('handshake-ack name over maxNodeNameBytes (fatal)', () => {
    const c = collectFrames(limits);
    c.decoder.push(rawFrame(FrameKind.HandshakeAck, pack({ version: 1, name: 'ääää', asyncTopics: [], syncTopics: [] })));
    expect(c.errors[0]).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'name', size: 8, fatal: true });
  });

  it('a topic in a topic list over maxTopicBytes', () => {
    const error = decodeWithNext(rawFrame(FrameKind.TopicsAdded, pack({ asyncTopics: ['ok', 'x'.repeat(9)], syncTopics: [] })));
    expectProtocolError(error, 'SYSTEMGE_ERR_FIELD_TOO_LARGE', false);
    expect(error).toMatchObject({ field: 'topic', size: 9 });
  });

  it('fields exactly at their limit are accepted', () => {
    const c = collectFrames(limits);
    const frame: Frame = { kind: FrameKind.SyncResponse, topic: 't'.repeat(8), payload: 'p'.repeat(16), syncToken: 'abcd' };
    c.decoder.push(encodeFrame(frame, resolveLimits(limits)));
    expect(c.errors).toEqual([]);
    expect(c.frames).toEqual([frame]);
  });
});
