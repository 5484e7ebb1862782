import { SYNC_LATENCY_BUCKETS_MS, type NodeDescription, type NodeStats } from '@systemge/node';

/**
 * The figures a node list, a totals table or a live chart needs, from two successive descriptions
 * of a node. Totals are the node's cumulative counters; rates are per second over the interval.
 */
export interface NodeMetricsSummary {
  /** Messages of every kind sent to peers, total. */
  messagesSent: number;
  /** Messages of every kind received from peers, total. */
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Sync requests this node answered successfully, total. */
  syncRequestsServed: number;
  /** Sync requests this node answered with a failure, total. */
  syncRequestsFailed: number;
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

const sent = (s: NodeStats): number => s.asyncSent + s.syncRequestsSent + s.syncResponsesSent + s.syncFailuresSent;
const received = (s: NodeStats): number => s.asyncReceived + s.syncRequestsReceived + s.syncResponsesReceived + s.syncFailuresReceived;
const rejected = (s: NodeStats): number =>
  s.invalidMessages +
  s.unroutedMessages +
  s.noHandlerMessages +
  s.backpressureRejections +
  s.unknownTokenResponses +
  s.rateLimitDrops +
  s.reconnectRejections +
  s.reconnectQueueOverflows +
  s.reconnectQueueDiscarded;

/** Growth of a counter; a lower value than before means the node started counting again. */
const growth = (now: number, before: number): number => (now >= before ? now - before : now);

/**
 * The value below which a fraction `q` of the interval's observations fall, interpolated inside
 * its bucket as Prometheus' `histogram_quantile` does; null without observations.
 */
export function bucketQuantile(q: number, counts: readonly number[], bounds: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (seen + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = bounds[i];
      if (upper === undefined) return bounds[bounds.length - 1] ?? null;
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds[bounds.length - 1] ?? null;
}

/** Condenses a node's description, with rates since `previous` (none before a second one). */
export function summarize(current: NodeDescription, previous: NodeDescription | undefined): NodeMetricsSummary {
  const s = current.stats;
  const p = previous?.stats;
  const seconds = previous === undefined ? 0 : (current.timestamp - previous.timestamp) / 1000;
  const rate = (read: (stats: NodeStats) => number): number => (p === undefined || !(seconds > 0) ? 0 : growth(read(s), read(p)) / seconds);
  let interval: number[] = [];
  if (p !== undefined && p.syncLatencyBuckets.length === s.syncLatencyBuckets.length) {
    const restarted = s.syncLatencyCount < p.syncLatencyCount;
    interval = s.syncLatencyBuckets.map((c, i) => (restarted ? c : c - (p.syncLatencyBuckets[i] ?? 0)));
  }
  return {
    messagesSent: sent(s),
    messagesReceived: received(s),
    bytesSent: s.bytesOut,
    bytesReceived: s.bytesIn,
    syncRequestsServed: s.syncResponsesSent,
    syncRequestsFailed: s.syncFailuresSent,
    messagesSentPerSecond: rate(sent),
    messagesReceivedPerSecond: rate(received),
    bytesSentPerSecond: rate((x) => x.bytesOut),
    bytesReceivedPerSecond: rate((x) => x.bytesIn),
    connectionsIn: s.connectionsIn,
    connectionsOut: s.connectionsOut,
    syncRequestsSentPerSecond: rate((x) => x.syncRequestsSent),
    syncRequestsReceivedPerSecond: rate((x) => x.syncRequestsReceived),
    rejectedPerSecond: rate(rejected),
    syncLatencyP50Ms: bucketQuantile(0.5, interval, SYNC_LATENCY_BUCKETS_MS),
    syncLatencyP99Ms: bucketQuantile(0.99, interval, SYNC_LATENCY_BUCKETS_MS),
    heapUsedBytes: current.process?.heapUsedBytes ?? null,
    rssBytes: current.process?.rssBytes ?? null,
    eventLoopLagP99Ms: current.process?.eventLoopLagMs.p99 ?? null,
  };
}
