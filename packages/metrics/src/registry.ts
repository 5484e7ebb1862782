import { CounterSeries, type Counter } from './counter.js';
import {
  DuplicateMetricError,
  InvalidLabelError,
  InvalidMetricNameError,
  InvalidMetricOptionError,
} from './errors.js';
import { Family, type MetricFamily, type MetricType, type Series } from './family.js';
import { GaugeSeries, type Gauge } from './gauge.js';
import { BucketLayout, DEFAULT_BUCKETS, HistogramSeries, type Histogram } from './histogram.js';
import { escapeHelp, renderLabelPairs } from './prometheus.js';
import type { MetricSnapshot, MetricsSnapshot } from './snapshot.js';

/** Options of `createRegistry`. */
export interface RegistryOptions {
  /** Prepended to every metric name registered, e.g. `systemge_`. Default `''`. */
  prefix?: string;
  /** Labels added to every series of the registry, e.g. `{ node: 'alpha' }`. Default `{}`. */
  constLabels?: Readonly<Record<string, string>>;
  /** Clock for snapshot timestamps and rates, ms. Default `Date.now`. */
  now?: () => number;
}

/** Options of a labeled family. */
export interface FamilyOptions {
  /**
   * Most distinct label-value combinations kept, count. Past it, new
   * combinations share one overflow series labeled `__other__` and the
   * registry's `metrics_series_overflow_total{metric="…"}` is incremented.
   * Default 100.
   */
  maxSeries?: number;
}

/** Options of a gauge. */
export interface GaugeOptions {
  /**
   * Called at every read (`snapshot()`, `toPrometheus()`) and its result used
   * as the value. A callback that throws reads as NaN. Default: none, the
   * value is whatever was last set.
   */
  collect?: () => number;
}

/** Options of a histogram. */
export interface HistogramOptions {
  /**
   * Upper bounds of the buckets, strictly increasing, in the unit of the
   * observed values; `+Inf` is implicit. Quantiles are only as precise as the
   * buckets. Default `DEFAULT_BUCKETS` (Prometheus' defaults, for seconds).
   */
  buckets?: readonly number[];
}

/** Options of a labeled histogram family. */
export interface HistogramFamilyOptions extends FamilyOptions, HistogramOptions {}

/** A labeled family of counters. */
export type CounterFamily = MetricFamily<Counter>;
/** A labeled family of gauges. */
export type GaugeFamily = MetricFamily<Gauge>;
/** A labeled family of histograms. */
export type HistogramFamily = MetricFamily<Histogram>;

/**
 * The metrics of one node. Metric objects are created once, kept by the
 * caller, and updated with plain adds; all aggregation happens when the
 * registry is read.
 */
export interface Registry {
  /** Prefix prepended to every metric name. */
  readonly prefix: string;
  /** Labels added to every series. */
  readonly constLabels: Readonly<Record<string, string>>;
  /** Registers a counter; `name` must end in `_total`. */
  counter(name: string, help: string): Counter;
  /** Registers a gauge, set by the caller or computed by `options.collect` at read time. */
  gauge(name: string, help: string, options?: GaugeOptions): Gauge;
  /** Registers a histogram with fixed buckets. */
  histogram(name: string, help: string, options?: HistogramOptions): Histogram;
  /** Registers a family of counters with bounded label cardinality. */
  counterFamily(name: string, help: string, labelNames: readonly string[], options?: FamilyOptions): CounterFamily;
  /** Registers a family of gauges with bounded label cardinality. */
  gaugeFamily(name: string, help: string, labelNames: readonly string[], options?: FamilyOptions): GaugeFamily;
  /** Registers a family of histograms with bounded label cardinality; every member has the same buckets. */
  histogramFamily(
    name: string,
    help: string,
    labelNames: readonly string[],
    options?: HistogramFamilyOptions,
  ): HistogramFamily;
  /**
   * Adds a function run once at the start of every read, before values are
   * taken — the place to update gauges from a source that is costly to query.
   * A collector that throws is skipped for that read. Returns a function that
   * removes it.
   */
  addCollector(collect: () => void): () => void;
  /** Removes a metric by the name it was registered with (without prefix). Returns whether it existed. */
  unregister(name: string): boolean;
  /**
   * Current values as a plain JSON-serialisable object, with rates per second
   * over the interval since the previous `snapshot()` (or since creation).
   * Each call starts a new interval, so one consumer should own snapshots.
   */
  snapshot(): MetricsSnapshot;
  /** Prometheus text exposition format 0.0.4. */
  toPrometheus(): string;
}

/** Default `maxSeries` of a labeled family. */
export const DEFAULT_MAX_SERIES = 100;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OVERFLOW_METRIC = 'metrics_series_overflow_total';

interface Entry {
  readonly family: Family<Series>;
  /** Rendered HELP and TYPE lines. */
  readonly header: string;
  readonly buckets: number[] | undefined;
}

class MetricsRegistry implements Registry {
  readonly prefix: string;
  readonly constLabels: Readonly<Record<string, string>>;
  private readonly constNames: readonly string[];
  private readonly constValues: readonly string[];
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly collectors = new Set<() => void>();
  private overflowFamily: Family<CounterSeries> | undefined;
  private lastSnapshotAt: number;

  constructor(options: RegistryOptions) {
    this.prefix = options.prefix ?? '';
    if (this.prefix !== '' && !METRIC_NAME.test(this.prefix)) {
      throw new InvalidMetricNameError(this.prefix, 'prefix must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    }
    const constLabels = { ...(options.constLabels ?? {}) };
    for (const [name, value] of Object.entries(constLabels)) {
      checkLabelName('(constLabels)', name);
      constLabels[name] = String(value);
    }
    this.constLabels = Object.freeze(constLabels);
    this.constNames = Object.keys(constLabels);
    this.constValues = Object.values(constLabels);
    this.now = options.now ?? Date.now;
    this.lastSnapshotAt = this.now();
  }

  counter(name: string, help: string): Counter {
    return this.counterFamily(name, help, []).labels();
  }

  gauge(name: string, help: string, options: GaugeOptions = {}): Gauge {
    const { collect } = options;
    return this.register(name, help, 'gauge', [], Infinity, undefined, (block, labels) =>
      new GaugeSeries(block, labels, collect),
    ).labels();
  }

  histogram(name: string, help: string, options: HistogramOptions = {}): Histogram {
    return this.histogramFamily(name, help, [], options).labels();
  }

  counterFamily(name: string, help: string, labelNames: readonly string[], options: FamilyOptions = {}): CounterFamily {
    const full = this.prefix + name;
    if (!full.endsWith('_total')) throw new InvalidMetricNameError(full, 'a counter name must end in _total');
    return this.register(name, help, 'counter', labelNames, maxSeriesOf(options), undefined, (block, labels) =>
      new CounterSeries(block, labels),
    );
  }

  gaugeFamily(name: string, help: string, labelNames: readonly string[], options: FamilyOptions = {}): GaugeFamily {
    return this.register(name, help, 'gauge', labelNames, maxSeriesOf(options), undefined, (block, labels) =>
      new GaugeSeries(block, labels, undefined),
    );
  }

  histogramFamily(
    name: string,
    help: string,
    labelNames: readonly string[],
    options: HistogramFamilyOptions = {},
  ): HistogramFamily {
    const full = this.prefix + name;
    const layout = new BucketLayout(full, options.buckets ?? DEFAULT_BUCKETS);
    if (labelNames.includes('le')) throw new InvalidLabelError(full, 'le', 'reserved for histogram buckets');
    return this.register(name, help, 'histogram', labelNames, maxSeriesOf(options), layout, (_block, labels, pairs) =>
      new HistogramSeries(pairs, labels, layout),
    );
  }

  addCollector(collect: () => void): () => void {
    // Wrap so the same function may be added twice and removed independently.
    const entry = (): void => collect();
    this.collectors.add(entry);
    return () => {
      this.collectors.delete(entry);
    };
  }

  unregister(name: string): boolean {
    const full = this.prefix + name;
    const entry = this.entries.get(full);
    if (entry === undefined) return false;
    this.entries.delete(full);
    if (entry.family.labelNames.length > 0 && entry.family !== (this.overflowFamily as unknown)) {
      this.overflowFamily?.remove(full);
    }
    return true;
  }

  snapshot(): MetricsSnapshot {
    this.runCollectors();
    const timestamp = this.now();
    const intervalMs = Math.max(0, timestamp - this.lastSnapshotAt);
    this.lastSnapshotAt = timestamp;
    const seconds = intervalMs / 1000;
    const metrics: Record<string, MetricSnapshot> = {};
    for (const [name, { family, buckets }] of this.entries) {
      const series = family.snapshot(seconds);
      metrics[name] =
        family.type === 'histogram'
          ? ({ type: 'histogram', help: family.help, buckets: buckets ?? [], series } as MetricSnapshot)
          : ({ type: family.type, help: family.help, series } as MetricSnapshot);
    }
    return { timestamp, intervalMs, constLabels: this.constLabels, metrics };
  }

  toPrometheus(): string {
    this.runCollectors();
    let out = '';
    for (const { family, header } of this.entries.values()) out += header + family.render();
    return out;
  }

  private runCollectors(): void {
    for (const collect of this.collectors) {
      try {
        collect();
      } catch {
        // One failing collector must not take the whole exposition down.
      }
    }
  }

  private register<S extends Series>(
    name: string,
    help: string,
    type: MetricType,
    labelNames: readonly string[],
    maxSeries: number,
    layout: BucketLayout | undefined,
    create: (labelBlock: string, labels: Readonly<Record<string, string>>, labelPairs: string) => S,
  ): Family<S> {
    const full = this.prefix + name;
    if (!METRIC_NAME.test(full)) throw new InvalidMetricNameError(full, 'must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    if (this.entries.has(full)) throw new DuplicateMetricError(full);
    const names = [...labelNames];
    for (let i = 0; i < names.length; i++) {
      const label = names[i]!;
      checkLabelName(full, label);
      if (names.indexOf(label) !== i) throw new InvalidLabelError(full, label, 'appears twice');
      if (this.constNames.includes(label)) throw new InvalidLabelError(full, label, 'is already a constant label');
    }
    Object.freeze(names);

    const allNames = [...this.constNames, ...names];
    const constValues = this.constValues;
    const factory = (values: readonly string[]): S => {
      const labels: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i]!;
      const pairs = renderLabelPairs(allNames, [...constValues, ...values]);
      return create(pairs === '' ? '' : `{${pairs}}`, Object.freeze(labels), pairs);
    };
    const overflow = names.length > 0 && maxSeries !== Infinity ? this.overflowCounterFor(full) : undefined;
    const family = new Family<S>(full, help, type, names, maxSeries, factory, overflow);
    const header = `# HELP ${full} ${escapeHelp(help)}\n# TYPE ${full} ${type}\n`;
    this.entries.set(full, {
      family: family as unknown as Family<Series>,
      header,
      buckets: layout === undefined ? undefined : Array.from(layout.bounds),
    });
    return family;
  }

  /** The overflow counter of one bounded family, registered with the first such family. */
  private overflowCounterFor(metric: string): CounterSeries {
    if (this.overflowFamily === undefined) {
      this.overflowFamily = this.register(
        OVERFLOW_METRIC,
        'labels() calls that found a family at its maxSeries and returned its __other__ series.',
        'counter',
        ['metric'],
        Infinity,
        undefined,
        (block, labels) => new CounterSeries(block, labels),
      );
    }
    return this.overflowFamily.labels(metric);
  }
}

function checkLabelName(metric: string, label: string): void {
  if (!LABEL_NAME.test(label)) throw new InvalidLabelError(metric, label, 'must match [a-zA-Z_][a-zA-Z0-9_]*');
  if (label.startsWith('__')) throw new InvalidLabelError(metric, label, 'names starting with __ are reserved');
}

function maxSeriesOf(options: FamilyOptions): number {
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  if (!(Number.isInteger(maxSeries) && maxSeries >= 1)) {
    throw new InvalidMetricOptionError('maxSeries', maxSeries, 'an integer >= 1');
  }
  return maxSeries;
}

/** Creates the metrics registry of one node. */
export function createRegistry(options: RegistryOptions = {}): Registry {
  return new MetricsRegistry(options);
}
