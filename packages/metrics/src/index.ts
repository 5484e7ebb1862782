export {
  nodeMetrics,
  type NodeMetrics,
  type NodeMetricsOptions,
  type NodeReading,
  type NodeProcessReading,
} from './node-metrics.js';
export { nodeMetricNames } from './metric-table.js';
export { MetricsError, DuplicateMetricError, InvalidMetricOptionError, type MetricsErrorOptions } from './errors.js';
