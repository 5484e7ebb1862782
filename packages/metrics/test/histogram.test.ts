import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  DEFAULT_BUCKETS,
  exponentialBuckets,
  InvalidBucketsError,
  InvalidMetricOptionError,
  linearBuckets,
} from '../src/index.js';

/** Deterministic uniform [0,1) generator (mulberry32) so the test data is reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The [lower, upper] bucket edges around v. */
function bucketAround(buckets: readonly number[], v: number): [number, number] {
  let lower = 0;
  for (const b of buckets) {
    if (v <= b) return [lower, b];
    lower = b;
  }
  return [lower, Infinity];
}

describe('histogram', () => {
  it('counts, sums and places values in buckets with inclusive upper bounds', () => {
    const r = createRegistry();
    const h = r.histogram('latency_ms', 'Latency.', { buckets: [1, 5, 10] });
    for (const v of [0.5, 1, 1.0001, 5, 7, 10, 11, 1000]) h.observe(v);
    expect(h.count).toBe(8);
    expect(h.sum).toBeCloseTo(1035.5001, 6);
    const text = r.toPrometheus();
    expect(text).toContain('latency_ms_bucket{le="1"} 2\n');
    expect(text).toContain('latency_ms_bucket{le="5"} 4\n');
    expect(text).toContain('latency_ms_bucket{le="10"} 6\n');
    expect(text).toContain('latency_ms_bucket{le="+Inf"} 8\n');
    expect(text).toContain('latency_ms_count 8\n');
  });

  it('ignores NaN and infinite observations', () => {
    const h = createRegistry().histogram('x', 'X.', { buckets: [1] });
    h.observe(NaN);
    h.observe(Infinity);
    h.observe(-Infinity);
    expect(h.count).toBe(0);
    expect(h.sum).toBe(0);
  });

  it('returns null quantiles when nothing was observed', () => {
    const h = createRegistry().histogram('x', 'X.');
    expect(h.quantile(0.5)).toBeNull();
  });

  it('estimates p50/p90/p99 within the resolution of the bucket that holds them', () => {
    const buckets = exponentialBuckets(1, 1.5, 25);
    const h = createRegistry().histogram('latency_ms', 'Latency.', { buckets });
    const next = random(7);
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Log-normal-ish latencies between ~1 and ~1000 ms.
      const v = Math.exp(next() * 3 + next() * 2 + next() * 1.9);
      values.push(v);
      h.observe(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = exactQuantile(values, q);
      const [lower, upper] = bucketAround(buckets, exact);
      const estimate = h.quantile(q)!;
      expect(estimate).toBeGreaterThanOrEqual(lower);
      expect(estimate).toBeLessThanOrEqual(upper);
    }
  });

  it('interpolates linearly inside a bucket', () => {
    const h = createRegistry().histogram('x', 'X.', { buckets: [10, 20] });
    for (let i = 0; i < 10; i++) h.observe(15);
    // All ten in (10, 20]: rank 5 of 10 is halfway through the bucket.
    expect(h.quantile(0.5)).toBe(15);
    expect(h.quantile(1)).toBe(20);
  });

  it('answers with the highest finite bound when the quantile falls in +Inf', () => {
    const h = createRegistry().histogram('x', 'X.', { buckets: [1, 2] });
    h.observe(100);
    expect(h.quantile(0.99)).toBe(2);
  });

  it('handles negative bucket bounds', () => {
    const h = createRegistry().histogram('temperature', 'T.', { buckets: [-10, 0, 10] });
    h.observe(-20);
    h.observe(-5);
    h.observe(5);
    expect(h.quantile(0)).toBe(-10);
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(-10);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(0);
  });

  it('rejects a quantile outside [0, 1]', () => {
    const h = createRegistry().histogram('x', 'X.');
    expect(() => h.quantile(1.5)).toThrow(expect.objectContaining({ code: InvalidMetricOptionError.code }));
  });

  it('rejects empty, unordered or non-finite buckets, accepts a trailing +Inf', () => {
    const r = createRegistry();
    const code = { code: InvalidBucketsError.code };
    expect(() => r.histogram('a', 'A.', { buckets: [] })).toThrow(expect.objectContaining(code));
    expect(() => r.histogram('b', 'B.', { buckets: [1, 1] })).toThrow(expect.objectContaining(code));
    expect(() => r.histogram('c', 'C.', { buckets: [2, 1] })).toThrow(expect.objectContaining(code));
    expect(() => r.histogram('d', 'D.', { buckets: [1, NaN] })).toThrow(expect.objectContaining(code));
    const h = r.histogram('e', 'E.', { buckets: [1, 2, Infinity] });
    h.observe(3);
    expect(r.snapshot().metrics.e).toMatchObject({ buckets: [1, 2] });
  });

  it('uses the Prometheus default buckets when none are given', () => {
    const r = createRegistry();
    r.histogram('x_seconds', 'X.');
    expect(r.snapshot().metrics.x_seconds).toMatchObject({ buckets: [...DEFAULT_BUCKETS] });
  });
});

describe('bucket generators', () => {
  it('makes exponential and linear bounds', () => {
    expect(exponentialBuckets(1, 2, 4)).toEqual([1, 2, 4, 8]);
    expect(linearBuckets(0, 5, 3)).toEqual([0, 5, 10]);
  });

  it('rejects arguments that cannot make increasing bounds', () => {
    const code = { code: InvalidMetricOptionError.code };
    expect(() => exponentialBuckets(0, 2, 3)).toThrow(expect.objectContaining(code));
    expect(() => exponentialBuckets(1, 1, 3)).toThrow(expect.objectContaining(code));
    expect(() => linearBuckets(0, 0, 3)).toThrow(expect.objectContaining(code));
    expect(() => linearBuckets(0, 1, 0)).toThrow(expect.objectContaining(code));
  });
});
