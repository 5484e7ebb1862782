import type { Counter } from './counter.js';
import { InvalidMetricOptionError } from './errors.js';
import type { MetricFamily } from './family.js';
import type { Gauge } from './gauge.js';
import type { Histogram } from './histogram.js';
import { PROCESS_METRIC_NAMES } from './process-metrics.js';
import type { Registry } from './registry.js';

/**
 * The counters of one Systemge node, as `node.stats` returns them. Declared here by shape so
 * that this package does not depend on `@systemge/node`; a `NodeStats` object fits it.
 * Fields a reader leaves out are not reported.
 */
export interface NodeStatsLike {
  readonly asyncSent?: number;
  readonly asyncReceived?: number;
  readonly syncRequestsSent?: number;
  readonly syncRequestsReceived?: number;
  readonly syncResponsesSent?: number;
  readonly syncFailuresSent?: number;
  readonly syncResponsesReceived?: number;
  readonly syncFailuresReceived?: number;
  readonly syncTimeouts?: number;
  readonly syncPeerLost?: number;
  readonly unroutedMessages?: number;
  readonly invalidMessages?: number;
  readonly noHandlerMessages?: number;
  readonly handlerErrors?: number;
  readonly unknownTokenResponses?: number;
  readonly backpressureRejections?: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  readonly connectionsIn?: number;
  readonly connectionsOut?: number;
  readonly connectionsAccepted?: number;
  readonly connectionsRefused?: number;
  readonly connectionAttempts?: number;
  readonly connectionFailures?: number;
  readonly connectionsLost?: number;
  readonly reconnects?: number;
  readonly handshakeFailures?: number;
  readonly heartbeatTimeouts?: number;
  readonly reconnectQueued?: number;
  readonly reconnectQueueOverflows?: number;
  readonly reconnectQueueDiscarded?: number;
  readonly reconnectRejections?: number;
  readonly queuedMessages?: number;
  readonly pausedConnections?: number;
  /** Per-bucket (not cumulative) sync latency counts, one per bound of `syncLatencyBucketsMs` plus `+Inf` last. */
  readonly syncLatencyBuckets?: readonly number[];
  readonly syncLatencySumMs?: number;
  readonly syncLatencyCount?: number;
  /** Messages by topic; the node already bounds the number of topics. */
  readonly topics?: Readonly<Record<string, { readonly received: number; readonly sent: number }>>;
}

/** Process figures of the process a node runs in (a remote node's `NodeDescription.process`). */
export interface NodeProcessLike {
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly rssBytes: number;
  /** Event-loop lag since the previous reading, ms. */
  readonly eventLoopLagMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/**
 * A whole reading of a node: its stats plus, when known, its plugins' counters and its
 * process figures. A `NodeDescription` from `@systemge/node` fits it.
 */
export interface NodeReadingLike {
  readonly stats: NodeStatsLike;
  /** Flat counter records by plugin name, e.g. `{ http: { requests_total: 3 } }`. */
  readonly plugins?: Readonly<Record<string, Readonly<Record<string, number>>>> | undefined;
  readonly process?: NodeProcessLike | undefined;
}

/** Options of `nodeMetrics`. */
export interface NodeMetricsOptions {
  /**
   * Upper bounds of the node's sync latency buckets, ms; must match the node's
   * `SYNC_LATENCY_BUCKETS_MS`. Default `NODE_SYNC_LATENCY_BUCKETS_MS` (the same values).
   * A reading whose bucket count does not match is left out of the histogram.
   */
  syncLatencyBucketsMs?: readonly number[];
  /** Most topics kept in the per-topic families before they share `__other__`, count. Default 256. */
  maxTopics?: number;
  /** Most series per plugin metric family, count. Default 100. */
  maxPluginSeries?: number;
}

/** Handle returned by `nodeMetrics`. */
export interface NodeMetrics {
  /** Stops reading and removes every metric `nodeMetrics` registered. Idempotent. */
  stop(): void;
}

/** Sync latency bucket bounds of `@systemge/node`, ms (its `SYNC_LATENCY_BUCKETS_MS`). */
export const NODE_SYNC_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
]);

/** Names (before the registry prefix) of the metrics `nodeMetrics` registers up front. */
export const NODE_METRIC_NAMES = Object.freeze({
  messagesSent: 'messages_sent_total',
  messagesReceived: 'messages_received_total',
  bytesSent: 'bytes_sent_total',
  bytesReceived: 'bytes_received_total',
  syncTimeouts: 'sync_timeouts_total',
  syncPeerLost: 'sync_peer_lost_total',
  syncLatency: 'sync_latency_ms',
  connectionsIn: 'connections_in',
  connectionsOut: 'connections_out',
  connectionAttempts: 'connection_attempts_total',
  connectionFailures: 'connection_failures_total',
  connectionsLost: 'connections_lost_total',
  reconnects: 'reconnects_total',
  connectionsAccepted: 'connections_accepted_total',
  connectionsRefused: 'connections_refused_total',
  handshakeFailures: 'handshake_failures_total',
  heartbeatTimeouts: 'heartbeat_timeouts_total',
  messagesRejected: 'messages_rejected_total',
  handlerErrors: 'handler_errors_total',
  reconnectQueued: 'reconnect_queued_messages_total',
  queuedMessages: 'queued_messages',
  pausedConnections: 'paused_connections',
  topicReceived: 'topic_messages_received_total',
  topicSent: 'topic_messages_sent_total',
} as const);

type StatField = {
  [K in keyof NodeStatsLike]-?: NonNullable<NodeStatsLike[K]> extends number ? K : never;
}[keyof NodeStatsLike];

/** One cumulative source value turned into counter increments. */
interface Fed {
  readonly field: StatField;
  readonly counter: Counter;
  last: number;
}

const MESSAGE_KINDS: readonly (readonly [kind: string, sent: StatField, received: StatField])[] = [
  ['async', 'asyncSent', 'asyncReceived'],
  ['sync_request', 'syncRequestsSent', 'syncRequestsReceived'],
  ['sync_response', 'syncResponsesSent', 'syncResponsesReceived'],
  ['sync_failure', 'syncFailuresSent', 'syncFailuresReceived'],
];

const REJECT_REASONS: readonly (readonly [reason: string, field: StatField])[] = [
  ['invalid', 'invalidMessages'],
  ['unrouted', 'unroutedMessages'],
  ['no_handler', 'noHandlerMessages'],
  ['backpressure', 'backpressureRejections'],
  ['unknown_sync_token', 'unknownTokenResponses'],
  ['reconnecting', 'reconnectRejections'],
  ['reconnect_queue_full', 'reconnectQueueOverflows'],
  ['reconnect_queue_discarded', 'reconnectQueueDiscarded'],
];

/** A growth of the source counter; a value below the last one means the source restarted from 0. */
function growth(current: number, last: number): number {
  return current >= last ? current - last : current;
}

function isReading(value: NodeStatsLike | NodeReadingLike): value is NodeReadingLike {
  const stats = (value as { stats?: unknown }).stats;
  return typeof stats === 'object' && stats !== null;
}

function metricNamePart(text: string): string {
  const cleaned = text.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^_+|_+$/g, '');
  return cleaned === '' ? 'unnamed' : cleaned.toLowerCase();
}

const PLUGIN_KEY = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** `requests_total{route="GET /",status="2xx"}` → name, label names and values. */
function parsePluginKey(key: string): { base: string; names: string[]; values: string[] } | undefined {
  const match = PLUGIN_KEY.exec(key);
  if (match === null) return undefined;
  const names: string[] = [];
  const values: string[] = [];
  for (const pair of (match[2] ?? '').matchAll(LABEL_PAIR)) {
    names.push(pair[1]!);
    values.push(pair[2]!.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c)));
  }
  return { base: match[1]!, names, values };
}

/**
 * Registers the metrics of one Systemge node on `registry` (give it a `node` constant
 * label and, by convention, the `systemge_` prefix) and fills them from `read()` each time
 * the registry is read — `snapshot()` or `toPrometheus()` — so the node's hot path pays
 * nothing. `read` returns the node's stats (`node.stats`), or a whole reading such as a
 * `NodeDescription` to add plugin counters and process gauges, or `undefined` when nothing
 * new is known (values stay as they were).
 *
 * Counters are fed the growth of the source's cumulative values since the previous read;
 * a value lower than before (the node's process restarted) counts from zero again, so
 * counters never go down. Gauges take the current value.
 */
export function nodeMetrics(
  registry: Registry,
  read: () => NodeStatsLike | NodeReadingLike | undefined,
  options: NodeMetricsOptions = {},
): NodeMetrics {
  const bounds = options.syncLatencyBucketsMs ?? NODE_SYNC_LATENCY_BUCKETS_MS;
  const maxTopics = options.maxTopics ?? 256;
  const maxPluginSeries = options.maxPluginSeries ?? 100;
  for (const [name, value] of [
    ['maxTopics', maxTopics],
    ['maxPluginSeries', maxPluginSeries],
  ] as const) {
    if (!(Number.isInteger(value) && value >= 1)) throw new InvalidMetricOptionError(name, value, 'an integer >= 1');
  }
  const n = NODE_METRIC_NAMES;
  const registered: string[] = [];
  const fed: Fed[] = [];
  const counter = (name: string, help: string, field: StatField): void => {
    fed.push({ field, counter: registry.counter(name, help), last: 0 });
    registered.push(name);
  };
  const family = <T>(create: () => MetricFamily<T>, name: string): MetricFamily<T> => {
    registered.push(name);
    return create();
  };

  const sent = family(
    () => registry.counterFamily(n.messagesSent, 'Messages sent to peers, by kind.', ['kind'], { maxSeries: 8 }),
    n.messagesSent,
  );
  const received = family(
    () => registry.counterFamily(n.messagesReceived, 'Messages received from peers, by kind.', ['kind'], { maxSeries: 8 }),
    n.messagesReceived,
  );
  for (const [kind, sentField, receivedField] of MESSAGE_KINDS) {
    fed.push({ field: sentField, counter: sent.labels(kind), last: 0 });
    fed.push({ field: receivedField, counter: received.labels(kind), last: 0 });
  }
  counter(n.bytesSent, 'Bytes written to peer connections.', 'bytesOut');
  counter(n.bytesReceived, 'Bytes read from peer connections.', 'bytesIn');
  counter(n.syncTimeouts, 'Sync requests that timed out before every expected response arrived.', 'syncTimeouts');
  counter(n.syncPeerLost, 'Sync requests that failed because a target peer was lost.', 'syncPeerLost');
  counter(n.connectionAttempts, 'Dial attempts to endpoints.', 'connectionAttempts');
  counter(n.connectionFailures, 'Dial attempts that failed.', 'connectionFailures');
  counter(n.connectionsLost, 'Established connections lost (closed by the peer, reset, heartbeat timeout).', 'connectionsLost');
  counter(n.reconnects, 'Lost outgoing connections that were dialed again successfully.', 'reconnects');
  counter(n.connectionsAccepted, 'Incoming connections accepted (handshake done).', 'connectionsAccepted');
  counter(n.connectionsRefused, 'Incoming connections refused (limits, auth, duplicate name).', 'connectionsRefused');
  counter(n.handshakeFailures, 'Handshakes that failed.', 'handshakeFailures');
  counter(n.heartbeatTimeouts, 'Peers declared dead after staying silent past the heartbeat timeout.', 'heartbeatTimeouts');
  counter(n.handlerErrors, 'Message handlers that threw or returned a wrong type.', 'handlerErrors');
  counter(n.reconnectQueued, 'Async messages held for a reconnecting peer.', 'reconnectQueued');
  const rejected = family(
    () =>
      registry.counterFamily(n.messagesRejected, 'Messages rejected or not delivered, by reason.', ['reason'], {
        maxSeries: REJECT_REASONS.length,
      }),
    n.messagesRejected,
  );
  for (const [reason, field] of REJECT_REASONS) fed.push({ field, counter: rejected.labels(reason), last: 0 });

  const gauges: (readonly [StatField, Gauge])[] = [];
  const gauge = (name: string, help: string, field: StatField): void => {
    gauges.push([field, registry.gauge(name, help)]);
    registered.push(name);
  };
  gauge(n.connectionsIn, 'Open incoming peer connections.', 'connectionsIn');
  gauge(n.connectionsOut, 'Open outgoing peer connections.', 'connectionsOut');
  gauge(n.queuedMessages, 'Messages waiting in handling queues.', 'queuedMessages');
  gauge(n.pausedConnections, 'Connections whose reading is paused by backpressure.', 'pausedConnections');

  const latency: Histogram = registry.histogram(n.syncLatency, 'Sync request latency to the first response, ms.', {
    buckets: bounds,
  });
  registered.push(n.syncLatency);
  const lastBuckets = new Float64Array(bounds.length + 1);
  const deltaBuckets = new Float64Array(bounds.length + 1);
  let lastLatencySum = 0;

  const topicReceived = family(
    () =>
      registry.counterFamily(n.topicReceived, 'Async messages and sync requests received, by topic.', ['topic'], {
        maxSeries: maxTopics,
      }),
    n.topicReceived,
  );
  const topicSent = family(
    () =>
      registry.counterFamily(n.topicSent, 'Async messages and sync requests sent, by topic.', ['topic'], {
        maxSeries: maxTopics,
      }),
    n.topicSent,
  );
  const lastTopics = new Map<string, { received: number; sent: number; r: Counter; s: Counter }>();

  let processGauges: Record<keyof typeof PROCESS_METRIC_NAMES, Gauge> | null | undefined;
  const pluginFamilies = new Map<string, { family: MetricFamily<Counter> | MetricFamily<Gauge>; counter: boolean } | null>();
  const lastPlugin = new Map<string, number>();

  const readStats = (stats: NodeStatsLike): void => {
    for (const f of fed) {
      const value = stats[f.field];
      if (typeof value !== 'number') continue;
      f.counter.inc(growth(value, f.last));
      f.last = value;
    }
    for (const [field, g] of gauges) {
      const value = stats[field];
      if (typeof value === 'number') g.set(value);
    }
    const buckets = stats.syncLatencyBuckets;
    if (buckets !== undefined && buckets.length === lastBuckets.length) {
      const restarted = buckets.some((c, i) => c < lastBuckets[i]!);
      for (let i = 0; i < buckets.length; i++) {
        deltaBuckets[i] = restarted ? buckets[i]! : buckets[i]! - lastBuckets[i]!;
        lastBuckets[i] = buckets[i]!;
      }
      const sum = stats.syncLatencySumMs ?? 0;
      latency.observeBuckets(deltaBuckets, restarted ? sum : sum - lastLatencySum);
      lastLatencySum = sum;
    }
    if (stats.topics !== undefined) {
      for (const [topic, counts] of Object.entries(stats.topics)) {
        let last = lastTopics.get(topic);
        if (last === undefined) {
          last = { received: 0, sent: 0, r: topicReceived.labels(topic), s: topicSent.labels(topic) };
          lastTopics.set(topic, last);
        }
        last.r.inc(growth(counts.received, last.received));
        last.s.inc(growth(counts.sent, last.sent));
        last.received = counts.received;
        last.sent = counts.sent;
      }
    }
  };

  const readProcess = (p: NodeProcessLike): void => {
    if (processGauges === null) return;
    if (processGauges === undefined) {
      const names = PROCESS_METRIC_NAMES;
      const help: Record<keyof typeof PROCESS_METRIC_NAMES, string> = {
        eventLoopLagP50: 'Event-loop lag median of the node process, ms.',
        eventLoopLagP99: 'Event-loop lag 99th percentile of the node process, ms.',
        eventLoopLagMax: 'Event-loop lag maximum of the node process, ms.',
        heapUsed: 'V8 heap in use by the node process, bytes.',
        heapTotal: 'V8 heap allocated by the node process, bytes.',
        rss: 'Resident set size of the node process, bytes.',
      };
      const created: Partial<Record<keyof typeof PROCESS_METRIC_NAMES, Gauge>> = {};
      try {
        for (const key of Object.keys(names) as (keyof typeof PROCESS_METRIC_NAMES)[]) {
          created[key] = registry.gauge(names[key], help[key]);
          registered.push(names[key]);
        }
      } catch {
        // collectProcessMetrics already owns these names on this registry; leave them to it.
        for (const key of Object.keys(created) as (keyof typeof PROCESS_METRIC_NAMES)[]) {
          registry.unregister(names[key]);
          registered.splice(registered.indexOf(names[key]), 1);
        }
        processGauges = null;
        return;
      }
      processGauges = created as Record<keyof typeof PROCESS_METRIC_NAMES, Gauge>;
    }
    processGauges.eventLoopLagP50.set(p.eventLoopLagMs.p50);
    processGauges.eventLoopLagP99.set(p.eventLoopLagMs.p99);
    processGauges.eventLoopLagMax.set(p.eventLoopLagMs.max);
    processGauges.heapUsed.set(p.heapUsedBytes);
    processGauges.heapTotal.set(p.heapTotalBytes);
    processGauges.rss.set(p.rssBytes);
  };

  const pluginFamily = (plugin: string, base: string, names: string[]) => {
    const isCounter = base.endsWith('_total');
    const stem = metricNamePart(isCounter ? base.slice(0, -'_total'.length) : base);
    const by = names.length === 0 ? '' : `_by_${names.map(metricNamePart).join('_')}`;
    const name = `plugin_${metricNamePart(plugin)}_${stem}${by}${isCounter ? '_total' : ''}`;
    const key = `${name}\u0000${names.join('\u0000')}`;
    let entry = pluginFamilies.get(key);
    if (entry === undefined) {
      const help = `${plugin} plugin: ${base}${names.length === 0 ? '' : ` by ${names.join(', ')}`}.`;
      try {
        const opts = { maxSeries: maxPluginSeries };
        entry = isCounter
          ? { family: registry.counterFamily(name, help, names, opts), counter: true }
          : { family: registry.gaugeFamily(name, help, names, opts), counter: false };
        registered.push(name);
      } catch {
        // A name clash or an invalid label name: this stat is left out rather than breaking the read.
        entry = null;
      }
      pluginFamilies.set(key, entry);
    }
    return entry;
  };

  const readPlugins = (plugins: Readonly<Record<string, Readonly<Record<string, number>>>>): void => {
    for (const [plugin, stats] of Object.entries(plugins)) {
      for (const [key, value] of Object.entries(stats)) {
        if (typeof value !== 'number') continue;
        const parsed = parsePluginKey(key);
        if (parsed === undefined) continue;
        const entry = pluginFamily(plugin, parsed.base, parsed.names);
        if (entry === null) continue;
        const series = entry.family.labels(...parsed.values);
        if (entry.counter) {
          const id = `${plugin}\u0000${key}`;
          (series as Counter).inc(growth(value, lastPlugin.get(id) ?? 0));
          lastPlugin.set(id, value);
        } else {
          (series as Gauge).set(value);
        }
      }
    }
  };

  const removeCollector = registry.addCollector(() => {
    const reading = read();
    if (reading === undefined) return;
    if (isReading(reading)) {
      readStats(reading.stats);
      if (reading.plugins !== undefined) readPlugins(reading.plugins);
      if (reading.process !== undefined) readProcess(reading.process);
    } else {
      readStats(reading);
    }
  });

  let stopped = false;
  return {
    stop(): void {
      if (stopped) return;
      stopped = true;
      removeCollector();
      for (const name of registered) registry.unregister(name);
    },
  };
}
