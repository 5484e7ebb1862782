import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, resolveLimits, type Frame } from '../src/index.js';
import { collectFrames } from './collect-frames.js';

const limits = resolveLimits();
const frames: Frame[] = Array.from({ length: 10 }, (_, i) => ({
  kind: FrameKind.AsyncMessage,
  topic: 't',
  payload: `m${i}`,
  syncToken: undefined,
}));
const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, limits)));
const payloads = (list: Frame[]): string[] => list.map((f) => (f as { payload: string }).payload);

describe('FrameDecoder pause()/resume()', () => {
  it('pausing inside onFrame holds the rest of the chunk until resume', () => {
    const c = collectFrames(undefined, (frame, decoder) => {
      if ((frame as { payload: string }).payload === 'm2') decoder.pause();
    });
    c.decoder.push(bytes);
    expect(payloads(c.frames)).toEqual(['m0', 'm1', 'm2']);
    expect(c.decoder.isPaused).toBe(true);
    expect(c.decoder.bufferedBytes).toBe(bytes.length - 3 * encodeFrame(frames[0] as Frame, limits).length);
    c.decoder.resume();
    expect(payloads(c.frames)).toEqual(payloads(frames));
    expect(c.decoder.bufferedBytes).toBe(0);
  });

  it('input pushed while paused is queued behind what was held, in order', () => {
    const c = collectFrames();
    const half = Math.floor(bytes.length / 2) + 3;
    c.decoder.pause();
    c.decoder.push(bytes.subarray(0, half));
    c.decoder.push(bytes.subarray(half));
    expect(c.frames).toEqual([]);
    c.decoder.resume();
    expect(payloads(c.frames)).toEqual(payloads(frames));
  });

  it('pausing in the middle of a partial frame and resuming completes it', () => {
    const c = collectFrames();
    c.decoder.push(bytes.subarray(0, 5));
    c.decoder.pause();
    c.decoder.push(bytes.subarray(5, 20));
    c.decoder.push(bytes.subarray(20));
    expect(c.frames).toEqual([]);
    c.decoder.resume();
    expect(payloads(c.frames)).toEqual(payloads(frames));
  });

  it('pausing on every frame delivers one frame per resume', () => {
    const c = collectFrames(undefined, (_frame, decoder) => decoder.pause());
    c.decoder.push(bytes);
    for (let i = 1; i <= frames.length; i++) {
      expect(c.frames).toHaveLength(i);
      c.decoder.resume();
    }
    expect(payloads(c.frames)).toEqual(payloads(frames));
    expect(c.decoder.bufferedBytes).toBe(0);
  });

  it('resume() when not paused is a no-op', () => {
    const c = collectFrames();
    c.decoder.resume();
    c.decoder.push(bytes);
    expect(c.frames).toHaveLength(frames.length);
  });

  it('end() while paused waits for the held frames: none are lost and truncation is still reported', () => {
    const c = collectFrames(undefined, (frame, decoder) => {
      if ((frame as { payload: string }).payload === 'm0') decoder.pause();
    });
    c.decoder.push(Buffer.concat([bytes, bytes.subarray(0, 3)]));
    c.decoder.end();
    expect(c.frames).toHaveLength(1);
    expect(c.errors).toEqual([]);
    c.decoder.resume();
    expect(payloads(c.frames)).toEqual(payloads(frames));
    expect(c.errors.map((e) => e.code)).toEqual(['SYSTEMGE_ERR_TRUNCATED_FRAME']);
  });
});
