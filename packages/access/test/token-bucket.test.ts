import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/index.js';

describe('TokenBucket', () => {
  it('refills at its rate and caps at its capacity', () => {
    const bucket = new TokenBucket(100, 10, 0);
    for (let i = 0; i < 10; i++) expect(bucket.take(1, 0)).toBe(true);
    expect(bucket.take(1, 0)).toBe(false);
    expect(bucket.waitMs(1, 0)).toBe(10);
    expect(bucket.take(1, 10)).toBe(true);
    expect(bucket.take(5, 1000)).toBe(true); // refilled to the cap of 10, not 100
    expect(bucket.take(6, 1000)).toBe(false);
  });

  it('lets one request larger than the capacity through a full bucket, and goes into debt on force', () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.take(8, 0)).toBe(true);
    expect(bucket.take(1, 0)).toBe(false);
    expect(bucket.waitMs(1, 0)).toBe(400); // 3 tokens of debt plus the one asked for, at 10/s
    bucket.force(2, 1000); // refilled to 5, then 3 left
    expect(bucket.waitMs(5, 1000)).toBe(200);
  });
});
