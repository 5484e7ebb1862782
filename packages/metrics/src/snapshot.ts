/** One counter series in a snapshot. */
export interface CounterSeriesSnapshot {
  /** Family label values by label name; `{}` for an unlabeled counter. */
  labels: Readonly<Record<string, string>>;
  /** Total since creation. */
  value: number;
  /** Increase per second over the snapshot interval. */
  rate: number;
}

/** One gauge series in a snapshot. */
export interface GaugeSeriesSnapshot {
  labels: Readonly<Record<string, string>>;
  /** Current value; `null` when it is not finite (e.g. its collect callback threw). */
  value: number | null;
}

/** Quantiles estimated from bucket counts; `null` when there were no observations. */
export interface QuantileSnapshot {
  /** Number of observations. */
  count: number;
  /** Sum of observed values. */
  sum: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** One histogram series in a snapshot: cumulative figures plus those of the last interval. */
export interface HistogramSeriesSnapshot extends QuantileSnapshot {
  labels: Readonly<Record<string, string>>;
  /** Observations per second over the snapshot interval. */
  rate: number;
  /** Observations made during the snapshot interval only. */
  interval: QuantileSnapshot;
}

export type SeriesSnapshot = CounterSeriesSnapshot | GaugeSeriesSnapshot | HistogramSeriesSnapshot;

export interface CounterSnapshot {
  type: 'counter';
  help: string;
  series: CounterSeriesSnapshot[];
}

export interface GaugeSnapshot {
  type: 'gauge';
  help: string;
  series: GaugeSeriesSnapshot[];
}

export interface HistogramSnapshot {
  type: 'histogram';
  help: string;
  /** Upper bounds of the finite buckets, ascending. */
  buckets: number[];
  series: HistogramSeriesSnapshot[];
}

export type MetricSnapshot = CounterSnapshot | GaugeSnapshot | HistogramSnapshot;

/** A plain, JSON-serialisable picture of a registry. */
export interface MetricsSnapshot {
  /** When it was taken, ms, from the registry clock (epoch ms by default). */
  timestamp: number;
  /** Length of the interval that rates cover, ms: since the previous snapshot, or since the registry was created. */
  intervalMs: number;
  /** The registry's constant labels. */
  constLabels: Readonly<Record<string, string>>;
  /** Metrics by full name (prefix included), in registration order. */
  metrics: Record<string, MetricSnapshot>;
}
