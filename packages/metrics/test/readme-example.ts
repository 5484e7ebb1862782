import { collectProcessMetrics, createRegistry, exponentialBuckets, renderPrometheus } from '../src/index.js';

const registry = createRegistry({ prefix: 'systemge_', constLabels: { node: 'alpha' } });

// Resolve metric objects once; on the hot path an update is a plain add.
const received = registry.counterFamily('messages_received_total', 'Messages received, by topic.', ['topic'], {
  maxSeries: 100,
});
const chat = received.labels('chat');
const connections = registry.gauge('connections', 'Open connections.');
const latency = registry.histogram('sync_latency_ms', 'Sync request latency, ms.', {
  buckets: exponentialBuckets(0.25, 2, 16),
});
const processMetrics = collectProcessMetrics(registry);

chat.inc();
connections.inc();
latency.observe(3.2);

const snapshot = registry.snapshot(); // JSON-able: values, rates per second, p50/p90/p99
console.log(snapshot.metrics.systemge_messages_received_total);
console.log(registry.toPrometheus()); // text format 0.0.4 for one node
console.log(renderPrometheus([registry])); // several nodes on one endpoint

processMetrics.stop();
