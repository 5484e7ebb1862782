import type { HistogramSnapshot, MetricsSnapshot } from '@systemge/metrics';

/** The figures a node list or a live chart needs, from one metrics snapshot. Rates are per second over the last interval. */
export interface NodeMetricsSummary {
  /** Messages of every kind sent to peers, total. */
  messagesSent: number;
  messagesReceived: number;
  messagesSentPerSecond: number;
  messagesReceivedPerSecond: number;
  bytesSentPerSecond: number;
  bytesReceivedPerSecond: number;
  connectionsIn: number;
  connectionsOut: number;
  /** Sync requests this node sent, per second. */
  syncRequestsSentPerSecond: number;
  /** Sync requests this node received (and its handlers answered), per second. */
  syncRequestsReceivedPerSecond: number;
  /** Messages rejected or not delivered (invalid, unrouted, no handler, backpressure...) per second. */
  rejectedPerSecond: number;
  /** Sync latency over the last interval, ms; null when no request completed in it. */
  syncLatencyP50Ms: number | null;
  syncLatencyP99Ms: number | null;
  /** Null when the node's process figures are unknown. */
  heapUsedBytes: number | null;
  rssBytes: number | null;
  eventLoopLagP99Ms: number | null;
}

interface Totals {
  value: number;
  rate: number;
}

function totals(snapshot: MetricsSnapshot, name: string): Totals {
  const metric = snapshot.metrics[name];
  const out = { value: 0, rate: 0 };
  if (metric === undefined || metric.type !== 'counter') return out;
  for (const s of metric.series) {
    out.value += s.value;
    out.rate += s.rate;
  }
  return out;
}

function kindRate(snapshot: MetricsSnapshot, name: string, kind: string): number {
  const metric = snapshot.metrics[name];
  if (metric === undefined || metric.type !== 'counter') return 0;
  return metric.series.find((s) => s.labels['kind'] === kind)?.rate ?? 0;
}

function gauge(snapshot: MetricsSnapshot, name: string): number | null {
  const metric = snapshot.metrics[name];
  if (metric === undefined || metric.type !== 'gauge') return null;
  return metric.series[0]?.value ?? null;
}

/** Condenses a node registry's snapshot (metrics named by `nodeMetrics` with the `systemge_` prefix). */
export function summarize(snapshot: MetricsSnapshot): NodeMetricsSummary {
  const sent = totals(snapshot, 'systemge_messages_sent_total');
  const received = totals(snapshot, 'systemge_messages_received_total');
  const latency = snapshot.metrics['systemge_sync_latency_ms'] as HistogramSnapshot | undefined;
  const interval = latency?.series[0]?.interval;
  return {
    messagesSent: sent.value,
    messagesReceived: received.value,
    messagesSentPerSecond: sent.rate,
    messagesReceivedPerSecond: received.rate,
    bytesSentPerSecond: totals(snapshot, 'systemge_bytes_sent_total').rate,
    bytesReceivedPerSecond: totals(snapshot, 'systemge_bytes_received_total').rate,
    connectionsIn: gauge(snapshot, 'systemge_connections_in') ?? 0,
    connectionsOut: gauge(snapshot, 'systemge_connections_out') ?? 0,
    syncRequestsSentPerSecond: kindRate(snapshot, 'systemge_messages_sent_total', 'sync_request'),
    syncRequestsReceivedPerSecond: kindRate(snapshot, 'systemge_messages_received_total', 'sync_request'),
    rejectedPerSecond: totals(snapshot, 'systemge_messages_rejected_total').rate,
    syncLatencyP50Ms: interval?.p50 ?? null,
    syncLatencyP99Ms: interval?.p99 ?? null,
    heapUsedBytes: gauge(snapshot, 'systemge_process_heap_used_bytes'),
    rssBytes: gauge(snapshot, 'systemge_process_resident_memory_bytes'),
    eventLoopLagP99Ms: gauge(snapshot, 'systemge_process_event_loop_lag_p99_ms'),
  };
}
