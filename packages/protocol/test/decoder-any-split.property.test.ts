import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, resolveLimits, type Frame } from '../src/index.js';
import { collectFrames, normalize } from './collect-frames.js';
import { anyFrame, propertyLimits, splitAt } from './frame-arbitraries.js';

/* F2: any split or coalescing of the bytes of a valid frame stream yields the same frames. */

const limits = resolveLimits(propertyLimits);
const frameStream = fc.array(anyFrame, { maxLength: 12 });
const cuts = fc.array(fc.nat(), { maxLength: 24 });

/** Cheap string comparison on the hot path; the full diff only when it fails. */
function expectSame(actual: Frame[], expected: Frame[]): void {
  const a = actual.map(normalize);
  const e = expected.map(normalize);
  if (JSON.stringify(a) !== JSON.stringify(e)) expect(a).toEqual(e);
}

describe('decoder: any split of a valid stream', () => {
  it('decodes to the same frames, with nothing left over', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(frameStream, cuts, (frames, cutPoints) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, limits)));
        const c = collectFrames(limits);
        for (const chunk of splitAt(bytes, cutPoints)) c.decoder.push(chunk);
        c.decoder.end();
        expectSame(c.frames, frames);
        if (c.errors.length > 0 || c.decoder.bufferedBytes !== 0) {
          expect(c.errors).toEqual([]);
          expect(c.decoder.bufferedBytes).toBe(0);
        }
      }),
      { numRuns: 30_000 },
    );
  });

  it('decodes to the same frames in the same order when the consumer pauses and resumes at random', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(frameStream, cuts, fc.array(fc.boolean(), { maxLength: 12 }), (frames, cutPoints, pauses) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, limits)));
        let seen = 0;
        const c = collectFrames(limits, (_frame, decoder) => {
          if (pauses[seen++] === true) decoder.pause();
        });
        for (const chunk of splitAt(bytes, cutPoints)) {
          c.decoder.push(chunk);
          // Bounded: what a paused decoder holds is at most what was pushed.
          if (c.decoder.bufferedBytes > bytes.length) expect(c.decoder.bufferedBytes).toBeLessThanOrEqual(bytes.length);
          if (c.decoder.isPaused && seen % 2 === 0) c.decoder.resume();
        }
        c.decoder.end();
        while (c.decoder.isPaused) c.decoder.resume();
        expectSame(c.frames, frames);
        expect(c.errors).toEqual([]);
        expect(c.decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 10_000 },
    );
  });
});
