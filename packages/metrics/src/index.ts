export {
  nodeMetrics,
  nodeMetricNames,
  type NodeMetrics,
  type NodeMetricsOptions,
  type NodeReading,
  type NodeProcessReading,
} from './node-metrics.js';
export { MetricsError, DuplicateMetricError, InvalidMetricOptionError, type MetricsErrorOptions } from './errors.js';
