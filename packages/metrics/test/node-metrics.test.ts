import { describe, expect, it } from 'vitest';
import {
  collectProcessMetrics,
  createRegistry,
  InvalidMetricOptionError,
  NODE_SYNC_LATENCY_BUCKETS_MS,
  nodeMetrics,
  type CounterSeriesSnapshot,
  type HistogramSnapshot,
  type MetricsSnapshot,
  type NodeReadingLike,
  type NodeStatsLike,
} from '../src/index.js';
import { validateExposition } from './exposition-validator.js';

type MutableStats = { -readonly [K in keyof NodeStatsLike]: NodeStatsLike[K] };

function zeroStats(): MutableStats {
  return {
    asyncSent: 0,
    asyncReceived: 0,
    syncRequestsSent: 0,
    syncRequestsReceived: 0,
    syncResponsesSent: 0,
    syncFailuresSent: 0,
    syncResponsesReceived: 0,
    syncFailuresReceived: 0,
    syncTimeouts: 0,
    syncPeerLost: 0,
    unroutedMessages: 0,
    invalidMessages: 0,
    noHandlerMessages: 0,
    handlerErrors: 0,
    unknownTokenResponses: 0,
    backpressureRejections: 0,
    bytesIn: 0,
    bytesOut: 0,
    connectionsIn: 0,
    connectionsOut: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionAttempts: 0,
    connectionFailures: 0,
    connectionsLost: 0,
    reconnects: 0,
    handshakeFailures: 0,
    heartbeatTimeouts: 0,
    reconnectQueued: 0,
    reconnectQueueOverflows: 0,
    reconnectQueueDiscarded: 0,
    reconnectRejections: 0,
    queuedMessages: 0,
    pausedConnections: 0,
    syncLatencyBuckets: new Array<number>(NODE_SYNC_LATENCY_BUCKETS_MS.length + 1).fill(0),
    syncLatencySumMs: 0,
    syncLatencyCount: 0,
    topics: {},
  };
}

function value(snapshot: MetricsSnapshot, name: string, labels: Record<string, string> = {}): number | null | undefined {
  const metric = snapshot.metrics[name];
  if (metric === undefined) throw new Error(`no metric ${name}`);
  if (metric.type === 'histogram') throw new Error(`${name} is a histogram`);
  const series = (metric.series as CounterSeriesSnapshot[]).find(
    (s) => Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return series?.value;
}

function setup(read: () => NodeStatsLike | NodeReadingLike | undefined) {
  const registry = createRegistry({ prefix: 'systemge_', constLabels: { node: 'alpha' } });
  const metrics = nodeMetrics(registry, read);
  return { registry, metrics };
}

describe('nodeMetrics', () => {
  it('reports messages by kind, bytes, connections and rejections from the stats at read time', () => {
    const stats = zeroStats();
    const { registry } = setup(() => stats);
    Object.assign(stats, {
      asyncSent: 5,
      asyncReceived: 7,
      syncRequestsSent: 2,
      syncResponsesReceived: 1,
      syncFailuresReceived: 1,
      bytesIn: 1000,
      bytesOut: 400,
      connectionsIn: 2,
      connectionsOut: 1,
      connectionAttempts: 3,
      connectionFailures: 1,
      invalidMessages: 4,
      backpressureRejections: 2,
      handlerErrors: 1,
      syncTimeouts: 1,
      queuedMessages: 9,
    });
    const s = registry.snapshot();
    expect(value(s, 'systemge_messages_sent_total', { kind: 'async' })).toBe(5);
    expect(value(s, 'systemge_messages_received_total', { kind: 'async' })).toBe(7);
    expect(value(s, 'systemge_messages_sent_total', { kind: 'sync_request' })).toBe(2);
    expect(value(s, 'systemge_messages_received_total', { kind: 'sync_response' })).toBe(1);
    expect(value(s, 'systemge_messages_received_total', { kind: 'sync_failure' })).toBe(1);
    expect(value(s, 'systemge_bytes_received_total')).toBe(1000);
    expect(value(s, 'systemge_bytes_sent_total')).toBe(400);
    expect(value(s, 'systemge_connections_in')).toBe(2);
    expect(value(s, 'systemge_connections_out')).toBe(1);
    expect(value(s, 'systemge_connection_attempts_total')).toBe(3);
    expect(value(s, 'systemge_connection_failures_total')).toBe(1);
    expect(value(s, 'systemge_messages_rejected_total', { reason: 'invalid' })).toBe(4);
    expect(value(s, 'systemge_messages_rejected_total', { reason: 'backpressure' })).toBe(2);
    expect(value(s, 'systemge_handler_errors_total')).toBe(1);
    expect(value(s, 'systemge_sync_timeouts_total')).toBe(1);
    expect(value(s, 'systemge_queued_messages')).toBe(9);
  });

  it('feeds counters the growth since the previous read, and gauges the current value', () => {
    const stats = zeroStats();
    let clock = 0;
    const registry = createRegistry({ prefix: 'systemge_', now: () => clock });
    nodeMetrics(registry, () => stats);
    stats.asyncSent = 10;
    stats.connectionsIn = 3;
    registry.snapshot();
    stats.asyncSent = 25;
    stats.connectionsIn = 1;
    clock += 1000;
    const s = registry.snapshot();
    expect(value(s, 'systemge_messages_sent_total', { kind: 'async' })).toBe(25);
    expect(value(s, 'systemge_connections_in')).toBe(1);
    const series = (s.metrics['systemge_messages_sent_total']!.series as CounterSeriesSnapshot[]).find(
      (x) => x.labels['kind'] === 'async',
    );
    expect(series?.rate).toBe(15);
  });

  it('never lets a counter go down when the source restarts from zero', () => {
    const stats = zeroStats();
    const { registry } = setup(() => stats);
    stats.asyncReceived = 100;
    stats.topics = { chat: { received: 50, sent: 1 } };
    registry.snapshot();
    // The node's process restarted: its counters start again from zero.
    stats.asyncReceived = 3;
    stats.topics = { chat: { received: 2, sent: 0 } };
    let s = registry.snapshot();
    expect(value(s, 'systemge_messages_received_total', { kind: 'async' })).toBe(103);
    expect(value(s, 'systemge_topic_messages_received_total', { topic: 'chat' })).toBe(52);
    stats.asyncReceived = 5;
    s = registry.snapshot();
    expect(value(s, 'systemge_messages_received_total', { kind: 'async' })).toBe(105);
  });

  it('keeps values when read() has nothing new', () => {
    let stats: MutableStats | undefined = zeroStats();
    stats.bytesIn = 42;
    const { registry } = setup(() => stats);
    registry.snapshot();
    stats = undefined;
    expect(value(registry.snapshot(), 'systemge_bytes_received_total')).toBe(42);
  });

  it('builds the sync latency histogram from the bucket counts, in ms', () => {
    const stats = zeroStats();
    const { registry } = setup(() => stats);
    const buckets = [...stats.syncLatencyBuckets!];
    // 3 requests in the (0.5, 1] ms bucket, 1 in the (25, 50] ms bucket.
    buckets[NODE_SYNC_LATENCY_BUCKETS_MS.indexOf(1)] = 3;
    buckets[NODE_SYNC_LATENCY_BUCKETS_MS.indexOf(50)] = 1;
    Object.assign(stats, { syncLatencyBuckets: buckets, syncLatencySumMs: 42.5, syncLatencyCount: 4 });
    let h = registry.snapshot().metrics['systemge_sync_latency_ms'] as HistogramSnapshot;
    expect(h.type).toBe('histogram');
    expect(h.buckets).toEqual([...NODE_SYNC_LATENCY_BUCKETS_MS]);
    expect(h.series[0]).toMatchObject({ count: 4, sum: 42.5 });
    expect(h.series[0]!.p50).toBeGreaterThan(0.5);
    expect(h.series[0]!.p50).toBeLessThanOrEqual(1);
    expect(h.series[0]!.p99).toBeGreaterThan(25);

    const more = [...buckets];
    more[NODE_SYNC_LATENCY_BUCKETS_MS.indexOf(1)] = 5;
    Object.assign(stats, { syncLatencyBuckets: more, syncLatencySumMs: 44, syncLatencyCount: 6 });
    h = registry.snapshot().metrics['systemge_sync_latency_ms'] as HistogramSnapshot;
    expect(h.series[0]).toMatchObject({ count: 6, sum: 44 });
    expect(h.series[0]!.interval.count).toBe(2);

    const text = registry.toPrometheus();
    expect(text).toContain('systemge_sync_latency_ms_bucket{node="alpha",le="1"} 5');
    expect(text).toContain('systemge_sync_latency_ms_count{node="alpha"} 6');
  });

  it('leaves out latency buckets that do not match the configured bounds', () => {
    const stats = zeroStats();
    stats.syncLatencyBuckets = [1, 2, 3];
    const { registry } = setup(() => stats);
    const h = registry.snapshot().metrics['systemge_sync_latency_ms'] as HistogramSnapshot;
    expect(h.series[0]!.count).toBe(0);
  });

  it('counts messages per topic within maxTopics', () => {
    const stats = zeroStats();
    const registry = createRegistry({ prefix: 'systemge_' });
    nodeMetrics(registry, () => stats, { maxTopics: 2 });
    stats.topics = { a: { received: 1, sent: 2 }, b: { received: 3, sent: 0 }, c: { received: 5, sent: 5 } };
    const s = registry.snapshot();
    expect(value(s, 'systemge_topic_messages_received_total', { topic: 'a' })).toBe(1);
    expect(value(s, 'systemge_topic_messages_sent_total', { topic: 'a' })).toBe(2);
    expect(value(s, 'systemge_topic_messages_received_total', { topic: 'b' })).toBe(3);
    expect(value(s, 'systemge_topic_messages_received_total', { topic: '__other__' })).toBe(5);
  });

  it('adds plugin counters and gauges, and process gauges, from a whole reading', () => {
    const reading = {
      stats: zeroStats(),
      plugins: {
        http: {
          requests_total: 4,
          routes: 2,
          'requests_total{route="GET /users/:id",status="2xx"}': 3,
        },
      },
      process: { heapUsedBytes: 10, heapTotalBytes: 20, rssBytes: 30, eventLoopLagMs: { p50: 1, p99: 2, max: 3 } },
    };
    const { registry } = setup(() => reading);
    let s = registry.snapshot();
    expect(value(s, 'systemge_plugin_http_requests_total')).toBe(4);
    expect(value(s, 'systemge_plugin_http_routes')).toBe(2);
    expect(s.metrics['systemge_plugin_http_routes']!.type).toBe('gauge');
    expect(value(s, 'systemge_plugin_http_requests_by_route_status_total', { route: 'GET /users/:id', status: '2xx' })).toBe(3);
    expect(value(s, 'systemge_process_heap_used_bytes')).toBe(10);
    expect(value(s, 'systemge_process_resident_memory_bytes')).toBe(30);
    expect(value(s, 'systemge_process_event_loop_lag_p99_ms')).toBe(2);

    reading.plugins.http.requests_total = 6;
    s = registry.snapshot();
    expect(value(s, 'systemge_plugin_http_requests_total')).toBe(6);
    validateExposition(registry.toPrometheus());
  });

  it('leaves process gauges to collectProcessMetrics when both are on one registry', () => {
    const registry = createRegistry({ prefix: 'systemge_' });
    const processMetrics = collectProcessMetrics(registry);
    nodeMetrics(registry, () => ({
      stats: zeroStats(),
      process: { heapUsedBytes: 1, heapTotalBytes: 1, rssBytes: 1, eventLoopLagMs: { p50: 0, p99: 0, max: 0 } },
    }));
    const s = registry.snapshot();
    // The collector still ran (the node families are filled) and the process gauge is the real one.
    expect(value(s, 'systemge_bytes_received_total')).toBe(0);
    expect(value(s, 'systemge_process_heap_used_bytes')).toBeGreaterThan(1);
    processMetrics.stop();
  });

  it('renders a valid exposition with every F29 family, and stop() removes them', () => {
    const stats = zeroStats();
    stats.asyncSent = 1;
    const { registry, metrics } = setup(() => stats);
    const families = validateExposition(registry.toPrometheus()).map((f) => f.name);
    for (const name of [
      'systemge_messages_sent_total',
      'systemge_messages_received_total',
      'systemge_bytes_sent_total',
      'systemge_bytes_received_total',
      'systemge_sync_timeouts_total',
      'systemge_sync_peer_lost_total',
      'systemge_sync_latency_ms',
      'systemge_connections_in',
      'systemge_connections_out',
      'systemge_connection_attempts_total',
      'systemge_connection_failures_total',
      'systemge_connections_lost_total',
      'systemge_reconnects_total',
      'systemge_connections_accepted_total',
      'systemge_connections_refused_total',
      'systemge_messages_rejected_total',
      'systemge_handler_errors_total',
      'systemge_queued_messages',
    ]) {
      expect(families).toContain(name);
    }
    metrics.stop();
    metrics.stop();
    expect(registry.toPrometheus()).not.toContain('systemge_messages_sent_total');
  });

  it('costs nothing between reads: read() is called only when the registry is read', () => {
    let reads = 0;
    const registry = createRegistry();
    nodeMetrics(registry, () => {
      reads++;
      return zeroStats();
    });
    expect(reads).toBe(0);
    registry.snapshot();
    registry.toPrometheus();
    expect(reads).toBe(2);
  });

  it('rejects out-of-range options with a typed error', () => {
    const registry = createRegistry();
    expect(() => nodeMetrics(registry, () => undefined, { maxTopics: 0 })).toThrow(
      expect.objectContaining({ code: InvalidMetricOptionError.code }),
    );
  });
});

describe('histogram.observeBuckets', () => {
  it('adds pre-bucketed counts and checks their number', () => {
    const h = createRegistry().histogram('x_ms', 'X.', { buckets: [1, 10] });
    h.observeBuckets([2, 1, 1], 120);
    expect(h.count).toBe(4);
    expect(h.sum).toBe(120);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(1);
    h.observeBuckets([-1, NaN, 0], 5);
    expect(h.count).toBe(4);
    expect(() => h.observeBuckets([1, 2], 1)).toThrow(expect.objectContaining({ code: InvalidMetricOptionError.code }));
  });
});
