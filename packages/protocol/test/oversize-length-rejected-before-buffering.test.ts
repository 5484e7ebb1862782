import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, resolveLimits } from '../src/index.js';
import { collectFrames, expectProtocolError } from './collect-frames.js';

/*
 * A peer announcing a huge frame must not make the receiver buffer it: the declared length
 * is checked against maxFrameBytes as soon as the 4-byte prefix is complete.
 */

function prefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length >>> 0, 0);
  return b;
}

describe('oversize declared length', () => {
  it('is rejected from the prefix alone, before any body byte is held', () => {
    const c = collectFrames({ maxFrameBytes: 1024 });
    c.decoder.push(Buffer.concat([prefix(1025), Buffer.alloc(512, 7)]));
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_FRAME_TOO_LARGE', true);
    expect(c.errors[0]).toMatchObject({ size: 1025, limit: 1024 });
    expect((c.errors[0] as Error).message).toBe('frame of 1025 bytes exceeds maxFrameBytes 1024');
    expect(c.decoder.bufferedBytes).toBe(0);
    // The peer keeps streaming the announced body: none of it is kept.
    for (let i = 0; i < 100; i++) c.decoder.push(Buffer.alloc(64 * 1024, 1));
    expect(c.decoder.bufferedBytes).toBe(0);
    expect(c.errors).toHaveLength(1);
  });

  it('is rejected when the prefix itself arrives byte by byte', () => {
    const c = collectFrames({ maxFrameBytes: 1024 });
    const p = prefix(0xffff_ffff);
    for (let i = 0; i < 4; i++) {
      c.decoder.push(p.subarray(i, i + 1));
      expect(c.decoder.bufferedBytes).toBeLessThanOrEqual(4);
    }
    c.decoder.push(Buffer.alloc(4096));
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_FRAME_TOO_LARGE', true);
    expect(c.decoder.bufferedBytes).toBe(0);
  });

  it('after valid frames in the same chunk: they are delivered, then the stream fails', () => {
    const limits = resolveLimits({ maxFrameBytes: 64 });
    const ok = encodeFrame({ kind: FrameKind.Heartbeat, nonce: 1 }, limits);
    const c = collectFrames(limits);
    c.decoder.push(Buffer.concat([ok, ok, prefix(65), ok]));
    expect(c.frames).toHaveLength(2);
    expect(c.errors.map((e) => e.code)).toEqual(['SYSTEMGE_ERR_FRAME_TOO_LARGE']);
    expect(c.decoder.broken).toBe(true);
  });

  it('a frame exactly at maxFrameBytes is accepted; buffering it never exceeds the limit plus the prefix', () => {
    const limits = resolveLimits({ maxFrameBytes: 4096 });
    const frame = {
      kind: FrameKind.AsyncMessage,
      topic: 't',
      payload: 'x'.repeat(4096 - 1 - 1 - 2 - 1 - 2),
      syncToken: undefined,
    } as const;
    const bytes = encodeFrame(frame, limits);
    expect(bytes.length).toBe(4096 + 4);
    const c = collectFrames(limits);
    for (let i = 0; i < bytes.length; i += 100) {
      c.decoder.push(bytes.subarray(i, i + 100));
      expect(c.decoder.bufferedBytes).toBeLessThanOrEqual(limits.maxFrameBytes + 4);
    }
    expect(c.errors).toEqual([]);
    expect(c.frames).toEqual([frame]);
    expect(c.decoder.bufferedBytes).toBe(0);
  });
});
