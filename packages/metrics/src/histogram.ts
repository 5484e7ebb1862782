import { InvalidBucketsError, InvalidMetricOptionError } from './errors.js';
import type { Series } from './family.js';
import { formatValue } from './prometheus.js';
import type { HistogramSeriesSnapshot, QuantileSnapshot } from './snapshot.js';

/** Prometheus' default bucket upper bounds; they suit durations in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** A distribution of observed values, counted into buckets fixed at creation. */
export interface Histogram {
  /** Records one value. NaN and infinite values are ignored. */
  observe(value: number): void;
  /**
   * Adds observations that were already counted into this histogram's buckets
   * elsewhere: `counts[i]` values fell into bucket `i` (the `+Inf` bucket last,
   * so `buckets.length + 1` entries) and they add up to `sum`. Negative and
   * non-finite counts are ignored. Throws `SYSTEMGE_ERR_METRIC_INVALID_OPTION`
   * when the number of counts does not match the buckets.
   */
  observeBuckets(counts: ArrayLike<number>, sum: number): void;
  /** Number of observations since creation. */
  readonly count: number;
  /** Sum of observations since creation. */
  readonly sum: number;
  /**
   * Estimates the `q` quantile (0 ≤ q ≤ 1) of all observations by linear
   * interpolation inside the bucket that holds it, as Prometheus'
   * `histogram_quantile` does; `null` when nothing was observed.
   */
  quantile(q: number): number | null;
}

/** `count` bucket bounds: `start`, `start·factor`, `start·factor²`, … */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0) || !Number.isFinite(start)) throw new InvalidMetricOptionError('start', start, 'a finite number > 0');
  if (!(factor > 1) || !Number.isFinite(factor)) throw new InvalidMetricOptionError('factor', factor, 'a finite number > 1');
  if (!Number.isInteger(count) || count < 1) throw new InvalidMetricOptionError('count', count, 'an integer >= 1');
  const buckets: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) buckets.push(b);
  return buckets;
}

/** `count` bucket bounds: `start`, `start+width`, `start+2·width`, … */
export function linearBuckets(start: number, width: number, count: number): number[] {
  if (!Number.isFinite(start)) throw new InvalidMetricOptionError('start', start, 'a finite number');
  if (!(width > 0) || !Number.isFinite(width)) throw new InvalidMetricOptionError('width', width, 'a finite number > 0');
  if (!Number.isInteger(count) || count < 1) throw new InvalidMetricOptionError('count', count, 'an integer >= 1');
  const buckets: number[] = [];
  for (let i = 0; i < count; i++) buckets.push(start + i * width);
  return buckets;
}

/** Bucket layout shared by every series of one histogram family. */
export class BucketLayout {
  readonly bounds: Float64Array;
  /** Rendered `le` values, `+Inf` last. */
  readonly le: readonly string[];

  constructor(metric: string, buckets: readonly number[]) {
    if (buckets.length === 0) throw new InvalidBucketsError(metric, 'at least one bucket is required');
    // A trailing +Inf is implicit; accept it from callers who write it out.
    const finite = buckets[buckets.length - 1] === Infinity ? buckets.slice(0, -1) : buckets;
    for (let i = 0; i < finite.length; i++) {
      const b = finite[i]!;
      if (!Number.isFinite(b)) throw new InvalidBucketsError(metric, `bucket ${i} is ${b}, must be finite`);
      if (i > 0 && !(b > finite[i - 1]!)) {
        throw new InvalidBucketsError(metric, `bucket ${i} (${b}) is not greater than bucket ${i - 1} (${finite[i - 1]})`);
      }
    }
    this.bounds = Float64Array.from(finite);
    this.le = [...finite.map(formatValue), '+Inf'];
  }
}

/**
 * Prometheus-style quantile from per-bucket (non-cumulative) counts: linear
 * interpolation inside the bucket holding rank q·total; the first bucket's
 * lower edge is 0 when its bound is positive; the +Inf bucket answers with
 * the highest finite bound.
 */
export function quantileFromBuckets(
  q: number,
  bounds: Float64Array,
  counts: Float64Array,
  total: number,
): number | null {
  if (total <= 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i]!;
    if (c > 0 && cumulative + c >= rank) {
      const upper = bounds[i]!;
      const lower = i > 0 ? bounds[i - 1]! : upper > 0 ? 0 : upper;
      return lower + ((upper - lower) * (rank - cumulative)) / c;
    }
    cumulative += c;
  }
  return bounds.length > 0 ? bounds[bounds.length - 1]! : null;
}

function checkQuantile(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new InvalidMetricOptionError('q', q, 'between 0 and 1');
}

export class HistogramSeries implements Histogram, Series {
  count = 0;
  sum = 0;
  /** Per-bucket counts, not cumulative; the last slot is the +Inf bucket. */
  private readonly counts: Float64Array;
  private readonly prevCounts: Float64Array;
  private readonly delta: Float64Array;
  private prevCount = 0;
  private prevSum = 0;

  constructor(
    /** `a="x",b="y"`, constant labels first; '' when there are none. */
    private readonly labelPairs: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly layout: BucketLayout,
  ) {
    const slots = layout.bounds.length + 1;
    this.counts = new Float64Array(slots);
    this.prevCounts = new Float64Array(slots);
    this.delta = new Float64Array(slots);
  }

  observe(value: number): void {
    // value - value is 0 for finite numbers and NaN for NaN and ±Infinity.
    if (value - value !== 0) return;
    const bounds = this.layout.bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= bounds[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo] = this.counts[lo]! + 1;
    this.count++;
    this.sum += value;
  }

  observeBuckets(counts: ArrayLike<number>, sum: number): void {
    const slots = this.counts.length;
    if (counts.length !== slots) {
      throw new InvalidMetricOptionError('counts.length', counts.length, `${slots} (one per bucket, +Inf last)`);
    }
    let added = 0;
    for (let i = 0; i < slots; i++) {
      const c = counts[i]!;
      if (c > 0 && c !== Infinity) {
        this.counts[i] = this.counts[i]! + c;
        added += c;
      }
    }
    this.count += added;
    if (added > 0 && Number.isFinite(sum)) this.sum += sum;
  }

  quantile(q: number): number | null {
    checkQuantile(q);
    return quantileFromBuckets(q, this.layout.bounds, this.counts, this.count);
  }

  render(name: string): string {
    const sep = this.labelPairs === '' ? '' : ',';
    const block = this.labelPairs === '' ? '' : `{${this.labelPairs}}`;
    const le = this.layout.le;
    let out = '';
    let cumulative = 0;
    for (let i = 0; i < le.length; i++) {
      cumulative += this.counts[i]!;
      out += `${name}_bucket{${this.labelPairs}${sep}le="${le[i]}"} ${formatValue(cumulative)}\n`;
    }
    out += `${name}_sum${block} ${formatValue(this.sum)}\n`;
    out += `${name}_count${block} ${formatValue(this.count)}\n`;
    return out;
  }

  snapshot(seconds: number): HistogramSeriesSnapshot {
    const { bounds } = this.layout;
    const count = this.count;
    const sum = this.sum;
    const intervalCount = count - this.prevCount;
    for (let i = 0; i < this.counts.length; i++) this.delta[i] = this.counts[i]! - this.prevCounts[i]!;
    const interval: QuantileSnapshot = {
      count: intervalCount,
      sum: sum - this.prevSum,
      p50: quantileFromBuckets(0.5, bounds, this.delta, intervalCount),
      p90: quantileFromBuckets(0.9, bounds, this.delta, intervalCount),
      p99: quantileFromBuckets(0.99, bounds, this.delta, intervalCount),
    };
    this.prevCounts.set(this.counts);
    this.prevCount = count;
    this.prevSum = sum;
    return {
      labels: this.labels,
      count,
      sum,
      p50: quantileFromBuckets(0.5, bounds, this.counts, count),
      p90: quantileFromBuckets(0.9, bounds, this.counts, count),
      p99: quantileFromBuckets(0.99, bounds, this.counts, count),
      rate: seconds > 0 ? intervalCount / seconds : 0,
      interval,
    };
  }
}
