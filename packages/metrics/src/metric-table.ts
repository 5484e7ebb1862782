// The Prometheus metrics of a node, derived from NODE_METRICS of @systemge/node.
import { NODE_METRICS, NODE_TOPIC_METRICS } from '@systemge/node';
import type { NodeProcessReading } from './node-metrics.js';

/** `NodeStats` fields exposed as counters or gauges. */
export type ScalarKey = {
  [K in keyof typeof NODE_METRICS]: (typeof NODE_METRICS)[K]['type'] extends 'histogram' ? never : K;
}[keyof typeof NODE_METRICS];

/** One Prometheus metric of the table, with the fields that feed it. */
export interface TableMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly labelNames: string[];
  readonly fields: { readonly key: ScalarKey; readonly labels: Readonly<Record<string, string>> }[];
}

/** Process gauges per node: name without prefix, help, and how to read it. */
export const PROCESS_GAUGES = [
  [
    'process_event_loop_lag_p50_ms',
    'Event-loop lag median of the node process since the previous reading, ms.',
    (p: NodeProcessReading) => p.eventLoopLagMs.p50,
  ],
  [
    'process_event_loop_lag_p99_ms',
    'Event-loop lag 99th percentile of the node process since the previous reading, ms.',
    (p: NodeProcessReading) => p.eventLoopLagMs.p99,
  ],
  [
    'process_event_loop_lag_max_ms',
    'Event-loop lag maximum of the node process since the previous reading, ms.',
    (p: NodeProcessReading) => p.eventLoopLagMs.max,
  ],
  ['process_heap_used_bytes', 'V8 heap in use by the node process, bytes.', (p: NodeProcessReading) => p.heapUsedBytes],
  ['process_heap_total_bytes', 'V8 heap allocated by the node process, bytes.', (p: NodeProcessReading) => p.heapTotalBytes],
  ['process_resident_memory_bytes', 'Resident set size of the node process, bytes.', (p: NodeProcessReading) => p.rssBytes],
] as const;

/** The metrics `NODE_METRICS` declares, grouped by Prometheus name (several fields may share one). */
export function tableMetrics(): TableMetric[] {
  const byName = new Map<string, TableMetric>();
  for (const [key, spec] of Object.entries(NODE_METRICS)) {
    if (spec.type === 'histogram') continue;
    const labels: Readonly<Record<string, string>> = 'labels' in spec ? spec.labels : {};
    let metric = byName.get(spec.metric);
    if (metric === undefined) {
      metric = { name: spec.metric, type: spec.type, help: spec.help, labelNames: ['node', ...Object.keys(labels)], fields: [] };
      byName.set(spec.metric, metric);
    }
    metric.fields.push({ key: key as ScalarKey, labels });
  }
  return [...byName.values()];
}

/** Prometheus names (without prefix) and types of every node metric, for docs and dashboards. */
export function nodeMetricNames(): { name: string; type: 'counter' | 'gauge' | 'histogram'; help: string; labels: string[] }[] {
  const out: { name: string; type: 'counter' | 'gauge' | 'histogram'; help: string; labels: string[] }[] = tableMetrics().map((m) => ({
    name: m.name,
    type: m.type,
    help: m.help,
    labels: m.labelNames,
  }));
  for (const spec of Object.values(NODE_METRICS)) {
    if (spec.type === 'histogram') out.push({ name: spec.metric, type: 'histogram', help: spec.help, labels: ['node', 'le'] });
  }
  for (const spec of Object.values(NODE_TOPIC_METRICS))
    out.push({ name: spec.metric, type: spec.type, help: spec.help, labels: ['node', 'topic'] });
  for (const [name, help] of PROCESS_GAUGES) out.push({ name, type: 'gauge', help, labels: ['node'] });
  return out;
}
