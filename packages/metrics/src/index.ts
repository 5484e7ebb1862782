export { createRegistry, DEFAULT_MAX_SERIES } from './registry.js';
export type {
  Registry,
  RegistryOptions,
  FamilyOptions,
  GaugeOptions,
  HistogramOptions,
  HistogramFamilyOptions,
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
} from './registry.js';
export type { Counter } from './counter.js';
export type { Gauge } from './gauge.js';
export { DEFAULT_BUCKETS, exponentialBuckets, linearBuckets, type Histogram } from './histogram.js';
export { OVERFLOW_LABEL_VALUE, type MetricFamily } from './family.js';
export type {
  MetricsSnapshot,
  MetricSnapshot,
  CounterSnapshot,
  GaugeSnapshot,
  HistogramSnapshot,
  SeriesSnapshot,
  CounterSeriesSnapshot,
  GaugeSeriesSnapshot,
  HistogramSeriesSnapshot,
  QuantileSnapshot,
} from './snapshot.js';
export {
  PROMETHEUS_CONTENT_TYPE,
  mergePrometheus,
  renderPrometheus,
  escapeHelp,
  escapeLabelValue,
} from './prometheus.js';
export {
  collectProcessMetrics,
  PROCESS_METRIC_NAMES,
  type ProcessMetrics,
  type ProcessMetricsOptions,
} from './process-metrics.js';
export {
  nodeMetrics,
  NODE_METRIC_NAMES,
  NODE_SYNC_LATENCY_BUCKETS_MS,
  type NodeMetrics,
  type NodeMetricsOptions,
  type NodeStatsLike,
  type NodeReadingLike,
  type NodeProcessLike,
} from './node-metrics.js';
export {
  MetricsError,
  InvalidMetricNameError,
  InvalidLabelError,
  DuplicateMetricError,
  LabelCountError,
  InvalidBucketsError,
  InvalidMetricOptionError,
  type MetricsErrorOptions,
} from './errors.js';
