/**
 * The one declaration of a node's counters. `NodeStats`, the `Counters` the node increments,
 * the Prometheus metrics of `@systemge/metrics` and docs/metrics.md are all derived from
 * `NODE_METRICS`: adding a counter is one entry here (plus the line that increments it).
 */

/** How a node figure is exposed to Prometheus. */
export type NodeMetricType = 'counter' | 'gauge' | 'histogram';

/** One entry of `NODE_METRICS`. */
export interface NodeMetricSpec {
  readonly type: NodeMetricType;
  /** Prometheus metric name, without the registry prefix (`systemge_` by default). */
  readonly metric: string;
  /** Help text of the Prometheus metric; entries sharing a metric share its help. */
  readonly help: string;
  /** What this field counts, for `NodeStats` readers and docs/metrics.md. */
  readonly description: string;
  /** Fixed labels of this field's series within its metric, e.g. `{ kind: 'async' }`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Histogram upper bounds; a last bucket counts everything above. */
  readonly buckets?: readonly number[];
  /**
   * `read`: computed when `node.stats` is read (open connections, bytes of open connections...),
   * so it is not a field the node increments.
   */
  readonly source?: 'read';
}

const MESSAGES_SENT = 'Messages sent to peers, by kind.';
const MESSAGES_RECEIVED = 'Messages received from peers, by kind.';
const MESSAGES_REJECTED = 'Messages rejected or not delivered, by reason.';

/** Every counter, gauge and histogram of a node, by `NodeStats` field. */
export const NODE_METRICS = {
  asyncSent: {
    type: 'counter',
    metric: 'messages_sent_total',
    labels: { kind: 'async' },
    help: MESSAGES_SENT,
    description: 'Async messages sent (one per target peer).',
  },
  asyncReceived: {
    type: 'counter',
    metric: 'messages_received_total',
    labels: { kind: 'async' },
    help: MESSAGES_RECEIVED,
    description: 'Async messages received.',
  },
  syncRequestsSent: {
    type: 'counter',
    metric: 'messages_sent_total',
    labels: { kind: 'sync_request' },
    help: MESSAGES_SENT,
    description: 'Sync requests sent.',
  },
  syncRequestsReceived: {
    type: 'counter',
    metric: 'messages_received_total',
    labels: { kind: 'sync_request' },
    help: MESSAGES_RECEIVED,
    description: 'Sync requests received.',
  },
  syncResponsesSent: {
    type: 'counter',
    metric: 'messages_sent_total',
    labels: { kind: 'sync_response' },
    help: MESSAGES_SENT,
    description: 'Sync requests this node served: successful responses sent.',
  },
  syncFailuresSent: {
    type: 'counter',
    metric: 'messages_sent_total',
    labels: { kind: 'sync_failure' },
    help: MESSAGES_SENT,
    description: 'Sync requests this node failed: failure responses sent.',
  },
  syncResponsesReceived: {
    type: 'counter',
    metric: 'messages_received_total',
    labels: { kind: 'sync_response' },
    help: MESSAGES_RECEIVED,
    description: 'Successful sync responses received.',
  },
  syncFailuresReceived: {
    type: 'counter',
    metric: 'messages_received_total',
    labels: { kind: 'sync_failure' },
    help: MESSAGES_RECEIVED,
    description: 'Failure sync responses received.',
  },
  syncTimeouts: {
    type: 'counter',
    metric: 'sync_timeouts_total',
    help: 'Sync requests that timed out before every expected response arrived.',
    description: 'Sync requests that timed out.',
  },
  syncPeerLost: {
    type: 'counter',
    metric: 'sync_peer_lost_total',
    help: 'Sync requests that failed because a target peer was lost.',
    description: 'Sync requests failed by a lost peer.',
  },
  unroutedMessages: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'unrouted' },
    help: MESSAGES_REJECTED,
    description: 'Async messages for a topic no connected peer handles.',
  },
  invalidMessages: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'invalid' },
    help: MESSAGES_REJECTED,
    description: 'Frames rejected by the codec (over limits, bad UTF-8...).',
  },
  noHandlerMessages: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'no_handler' },
    help: MESSAGES_REJECTED,
    description: 'Messages for a topic this node has no handler for.',
  },
  handlerErrors: {
    type: 'counter',
    metric: 'handler_errors_total',
    help: 'Message handlers that threw or returned a wrong type.',
    description: 'Message handlers that threw or returned a wrong type.',
  },
  unknownTokenResponses: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'unknown_sync_token' },
    help: MESSAGES_REJECTED,
    description: 'Responses carrying a token with no pending request.',
  },
  backpressureRejections: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'backpressure' },
    help: MESSAGES_REJECTED,
    description: "Messages refused because a peer's buffer was over `maxBufferedBytes`.",
  },
  encodingRefusals: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'encoding_unsupported' },
    help: MESSAGES_REJECTED,
    description:
      "Messages and sync responses not sent to a peer because it does not accept the payload's encoding, one per peer (a structured payload for a node that predates structured payloads).",
  },
  balancedRetries: {
    type: 'counter',
    metric: 'balanced_retries_total',
    help: 'Balanced requests sent again to another peer after the peer was lost or the send failed.',
    description: 'Balanced requests (`node.request()`) sent again to another peer after the peer was lost or the send failed.',
  },
  balancedRequestsNoPeer: {
    type: 'counter',
    metric: 'balanced_no_peer_total',
    labels: { kind: 'request' },
    help: 'Balanced requests and async messages that found no eligible peer, by kind.',
    description:
      'Balanced requests that found no eligible peer: none handles the topic, none accepts the payload, or every one was already tried.',
  },
  balancedAsyncNoPeer: {
    type: 'counter',
    metric: 'balanced_no_peer_total',
    labels: { kind: 'async' },
    help: 'Balanced requests and async messages that found no eligible peer, by kind.',
    description: 'Balanced async messages that found no eligible peer: none handles the topic, or none accepts the payload.',
  },
  bytesIn: {
    type: 'counter',
    metric: 'bytes_received_total',
    source: 'read',
    help: 'Bytes read from peer connections.',
    description: 'Bytes read from peer connections.',
  },
  bytesOut: {
    type: 'counter',
    metric: 'bytes_sent_total',
    source: 'read',
    help: 'Bytes written to peer connections.',
    description: 'Bytes written to peer connections.',
  },
  connectionsIn: {
    type: 'gauge',
    metric: 'connections_in',
    source: 'read',
    help: 'Open incoming peer connections.',
    description: 'Open incoming peer connections now.',
  },
  connectionsOut: {
    type: 'gauge',
    metric: 'connections_out',
    source: 'read',
    help: 'Open outgoing peer connections.',
    description: 'Open outgoing peer connections now.',
  },
  connectionsAccepted: {
    type: 'counter',
    metric: 'connections_accepted_total',
    help: 'Incoming connections accepted (handshake done).',
    description: 'Incoming connections accepted.',
  },
  connectionsRefused: {
    type: 'counter',
    metric: 'connections_refused_total',
    help: 'Incoming connections refused (limits, auth, duplicate name).',
    description: 'Incoming connections refused.',
  },
  connectionAttempts: {
    type: 'counter',
    metric: 'connection_attempts_total',
    help: 'Dial attempts to endpoints.',
    description: 'Dial attempts to endpoints.',
  },
  connectionFailures: {
    type: 'counter',
    metric: 'connection_failures_total',
    help: 'Dial attempts that failed.',
    description: 'Dial attempts that failed.',
  },
  connectionsLost: {
    type: 'counter',
    metric: 'connections_lost_total',
    help: 'Established connections lost (closed by the peer, reset, heartbeat timeout).',
    description: 'Established connections lost.',
  },
  reconnects: {
    type: 'counter',
    metric: 'reconnects_total',
    help: 'Lost outgoing connections that were dialed again successfully.',
    description: 'Lost outgoing connections dialed again successfully.',
  },
  handshakeFailures: {
    type: 'counter',
    metric: 'handshake_failures_total',
    help: 'Handshakes that failed.',
    description: 'Handshakes that failed.',
  },
  heartbeatTimeouts: {
    type: 'counter',
    metric: 'heartbeat_timeouts_total',
    help: 'Peers declared dead after staying silent past the heartbeat timeout.',
    description: 'Peers declared dead by the heartbeat.',
  },
  rateLimited: {
    type: 'counter',
    metric: 'rate_limited_messages_total',
    help: "Incoming messages over a peer's rate limit (delayed or dropped).",
    description: "Incoming messages over a peer's rate limit (delayed or dropped).",
  },
  rateLimitDrops: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'rate_limit' },
    help: MESSAGES_REJECTED,
    description: 'Of those, dropped because `rateLimits.onExceed` is `drop`.',
  },
  reconnectQueued: {
    type: 'counter',
    metric: 'reconnect_queued_messages_total',
    help: 'Async messages held for a reconnecting peer.',
    description: "Async messages held for a reconnecting peer (`connection.whileReconnecting: 'queue'`).",
  },
  reconnectQueueOverflows: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'reconnect_queue_full' },
    help: MESSAGES_REJECTED,
    description: "Async messages refused because a reconnecting peer's queue was full.",
  },
  reconnectQueueDiscarded: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'reconnect_queue_discarded' },
    help: MESSAGES_REJECTED,
    description: 'Held messages discarded (gave up on the peer, node stopped, topic gone after the reconnect).',
  },
  reconnectRejections: {
    type: 'counter',
    metric: 'messages_rejected_total',
    labels: { reason: 'reconnecting' },
    help: MESSAGES_REJECTED,
    description: "Async messages refused because the named peer was reconnecting (`whileReconnecting: 'reject'`).",
  },
  queuedMessages: {
    type: 'gauge',
    metric: 'queued_messages',
    source: 'read',
    help: 'Messages waiting in handling queues.',
    description: 'Messages waiting in handling queues now.',
  },
  pausedConnections: {
    type: 'gauge',
    metric: 'paused_connections',
    source: 'read',
    help: 'Connections whose reading is paused by backpressure.',
    description: 'Connections whose reading is paused by backpressure now.',
  },
  syncLatency: {
    type: 'histogram',
    metric: 'sync_latency_ms',
    help: 'Sync request latency to the first response, ms.',
    description: 'Sync request latency to the first response, ms (`syncLatencyBuckets`, `syncLatencySumMs`, `syncLatencyCount`).',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
  },
} as const satisfies Record<string, NodeMetricSpec>;

/** Per-topic message counts: two counter metrics with a `topic` label, fed from `NodeStats.topics`. */
export const NODE_TOPIC_METRICS = {
  received: { type: 'counter', metric: 'topic_messages_received_total', help: 'Async messages and sync requests received, by topic.' },
  sent: { type: 'counter', metric: 'topic_messages_sent_total', help: 'Async messages and sync requests sent, by topic.' },
} as const;

type Metrics = typeof NODE_METRICS;
type KeysOf<T extends NodeMetricType> = { [K in keyof Metrics]: Metrics[K]['type'] extends T ? K : never }[keyof Metrics];
type ScalarKey = KeysOf<'counter' | 'gauge'>;
type HistogramKey = KeysOf<'histogram'>;
/** Counters the node increments (not computed when read). */
export type CountedKey = { [K in ScalarKey]: Metrics[K] extends { source: 'read' } ? never : K }[ScalarKey];
/** Figures computed when `node.stats` is read. */
export type ReadKey = Exclude<ScalarKey, CountedKey>;

/** The fields of one histogram in `NodeStats`: per-bucket (not cumulative) counts, `+Inf` last. */
type HistogramFields<K extends string> = { [P in `${K}Buckets`]: number[] } & { [P in `${K}SumMs` | `${K}Count`]: number };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

export interface TopicCounts {
  received: number;
  sent: number;
}

/** A node's counters (see `NODE_METRICS`). Numbers only; `node.stats` returns a fresh copy on each read. */
export type NodeStats = { [K in ScalarKey]: number } & UnionToIntersection<{ [K in HistogramKey]: HistogramFields<K> }[HistogramKey]> & {
    topics: Record<string, TopicCounts>;
  };

/** Upper bounds of the sync latency histogram buckets, ms. A last bucket counts everything above. */
export const SYNC_LATENCY_BUCKETS_MS: readonly number[] = NODE_METRICS.syncLatency.buckets;

/** Per-topic message counts are kept for at most this many topics; the rest share `__other__`. */
export const MAX_TOPIC_SERIES = 256;
export const OTHER_TOPIC = '__other__';

const COUNTED_KEYS = (Object.keys(NODE_METRICS) as (keyof Metrics)[]).filter(
  (k): k is CountedKey => NODE_METRICS[k].type !== 'histogram' && !('source' in NODE_METRICS[k]),
);

/** The figures of `NodeStats` that are computed when it is read. */
export type ReadFigures = { [K in ReadKey]: number };

/** The mutable counters behind `NodeStats`; hot paths do plain adds on these fields. */
export interface Counters extends Record<CountedKey, number> {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface types the fields the constructor creates from NODE_METRICS, one per counted key
export class Counters {
  /** Bytes of connections already closed (open ones are added when stats are read). */
  closedBytesIn = 0;
  closedBytesOut = 0;
  readonly syncLatencyBuckets = new Array<number>(SYNC_LATENCY_BUCKETS_MS.length + 1).fill(0);
  syncLatencySumMs = 0;
  syncLatencyCount = 0;
  private readonly topicCounts = new Map<string, TopicCounts>();

  constructor() {
    // Same order for every instance: one hidden class, plain field adds on the hot path.
    for (const key of COUNTED_KEYS) this[key] = 0;
  }

  topic(topic: string): TopicCounts {
    let counts = this.topicCounts.get(topic);
    if (counts === undefined) {
      const key = this.topicCounts.size >= MAX_TOPIC_SERIES ? OTHER_TOPIC : topic;
      counts = this.topicCounts.get(key);
      if (counts === undefined) {
        counts = { received: 0, sent: 0 };
        this.topicCounts.set(key, counts);
      }
    }
    return counts;
  }

  observeSyncLatency(ms: number): void {
    const buckets = SYNC_LATENCY_BUCKETS_MS;
    let i = 0;
    while (i < buckets.length && ms > (buckets[i] as number)) i++;
    (this.syncLatencyBuckets[i] as number)++;
    this.syncLatencySumMs += ms;
    this.syncLatencyCount++;
  }

  topicsRecord(): Record<string, TopicCounts> {
    // fromEntries defines own properties: a topic named `__proto__` is a key like any other.
    return Object.fromEntries([...this.topicCounts].map(([topic, c]) => [topic, { received: c.received, sent: c.sent }]));
  }

  /** A `NodeStats` copy: every counted field, the read figures given, the latency histogram and topics. */
  snapshot(read: ReadFigures): NodeStats {
    const out: Record<string, unknown> = {};
    for (const key of COUNTED_KEYS) out[key] = this[key];
    Object.assign(out, read);
    out['syncLatencyBuckets'] = this.syncLatencyBuckets.slice();
    out['syncLatencySumMs'] = this.syncLatencySumMs;
    out['syncLatencyCount'] = this.syncLatencyCount;
    out['topics'] = this.topicsRecord();
    return out as NodeStats;
  }
}

/** One connection as a stats snapshot sees it. */
export interface ConnectionFigures {
  readonly connection: { readonly bytesIn: number; readonly bytesOut: number; readonly paused: boolean };
  readonly queue: { readonly length: number };
  readonly state: string;
  readonly direction: 'in' | 'out';
  /** Replaced by another connection to the same node (closing): not counted as a connection. */
  readonly superseded: boolean;
}

/** A fresh `NodeStats` from the counters, the live connections and the node-wide handling queue. */
export function statsSnapshot(c: Counters, connections: Iterable<ConnectionFigures>, nodeQueued: number): NodeStats {
  let bytesIn = c.closedBytesIn;
  let bytesOut = c.closedBytesOut;
  let connectionsIn = 0;
  let connectionsOut = 0;
  let queued = nodeQueued;
  let paused = 0;
  for (const peer of connections) {
    bytesIn += peer.connection.bytesIn;
    bytesOut += peer.connection.bytesOut;
    queued += peer.queue.length;
    if (peer.connection.paused) paused++;
    if (peer.state !== 'ready' || peer.superseded) continue;
    if (peer.direction === 'in') connectionsIn++;
    else connectionsOut++;
  }
  return c.snapshot({ bytesIn, bytesOut, connectionsIn, connectionsOut, queuedMessages: queued, pausedConnections: paused });
}
