import { LabelCountError } from './errors.js';
import type { SeriesSnapshot } from './snapshot.js';

/** Label value that every label of a family's overflow series carries. */
export const OVERFLOW_LABEL_VALUE = '__other__';

/**
 * A set of series that share a name and label names, one series per
 * combination of label values.
 */
export interface MetricFamily<T> {
  /** Full metric name, prefix included. */
  readonly name: string;
  /** Label names, in the order `labels()` takes their values. */
  readonly labelNames: readonly string[];
  /**
   * The series for these label values, created on first use and cached:
   * resolve it once and keep it, so that the hot path is a plain add.
   * Past `maxSeries` distinct combinations, new ones all share the overflow
   * series whose labels are `__other__`. Throws `SYSTEMGE_ERR_METRIC_LABEL_COUNT`
   * when the number of values differs from the number of label names.
   */
  labels(...values: string[]): T;
  /**
   * Forgets the series for these label values and frees its slot. A caller still
   * holding it may keep using it, but its values are no longer reported.
   * Returns whether a series was removed.
   */
  remove(...values: string[]): boolean;
}

/** What a family needs from each of its series; implemented by the private series classes. */
export interface Series {
  /** Family label values keyed by label name (constant labels excluded). */
  readonly labels: Readonly<Record<string, string>>;
  /** Appends this series' exposition lines, each ending in `\n`. */
  render(name: string): string;
  /** Values now, and rates since the previous call; moves the interval baseline. */
  snapshot(seconds: number): SeriesSnapshot;
}

/** Label identity: the value itself for one label, length-prefixed values otherwise (no separator can collide). */
function keyOf(values: readonly unknown[]): string {
  if (values.length === 1) return String(values[0]);
  let key = '';
  for (const v of values) {
    const s = String(v);
    key += `${s.length}:${s}`;
  }
  return key;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

export class Family<S extends Series> implements MetricFamily<S> {
  private readonly children = new Map<string, S>();
  private overflowChild: S | undefined;
  private readonly overflowKey: string;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    private readonly maxSeries: number,
    private readonly create: (labelValues: readonly string[]) => S,
    /** Counts label combinations folded into the overflow series; absent for the overflow family itself. */
    private readonly overflowCounter: { inc(): void } | undefined,
  ) {
    this.overflowKey = keyOf(labelNames.map(() => OVERFLOW_LABEL_VALUE));
  }

  labels(...values: string[]): S {
    if (values.length !== this.labelNames.length) {
      throw new LabelCountError(this.name, this.labelNames.length, values.length);
    }
    const key = keyOf(values);
    return this.children.get(key) ?? this.miss(key, values);
  }

  remove(...values: string[]): boolean {
    if (values.length !== this.labelNames.length) {
      throw new LabelCountError(this.name, this.labelNames.length, values.length);
    }
    return this.children.delete(keyOf(values));
  }

  render(): string {
    let out = '';
    for (const child of this.children.values()) out += child.render(this.name);
    if (this.overflowChild !== undefined) out += this.overflowChild.render(this.name);
    return out;
  }

  snapshot(seconds: number): SeriesSnapshot[] {
    const series: SeriesSnapshot[] = [];
    for (const child of this.children.values()) series.push(child.snapshot(seconds));
    if (this.overflowChild !== undefined) series.push(this.overflowChild.snapshot(seconds));
    return series;
  }

  private miss(key: string, values: readonly string[]): S {
    if (key === this.overflowKey && this.labelNames.length > 0) return this.overflow();
    if (this.children.size >= this.maxSeries) {
      this.overflowCounter?.inc();
      return this.overflow();
    }
    const child = this.create(values.map(String));
    this.children.set(key, child);
    return child;
  }

  private overflow(): S {
    this.overflowChild ??= this.create(this.labelNames.map(() => OVERFLOW_LABEL_VALUE));
    return this.overflowChild;
  }
}
