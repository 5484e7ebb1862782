/** Upper bounds of the sync latency histogram buckets, ms. A last bucket counts everything above. */
export const SYNC_LATENCY_BUCKETS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
];

/** Per-topic message counts are kept for at most this many topics; the rest share `__other__`. */
export const MAX_TOPIC_SERIES = 256;
export const OTHER_TOPIC = '__other__';

export interface TopicCounts {
  received: number;
  sent: number;
}

/** A node's counters. Numbers only; `node.stats` returns a fresh copy on each read. */
export interface NodeStats {
  asyncSent: number;
  asyncReceived: number;
  syncRequestsSent: number;
  syncRequestsReceived: number;
  syncResponsesSent: number;
  syncFailuresSent: number;
  syncResponsesReceived: number;
  syncFailuresReceived: number;
  syncTimeouts: number;
  syncPeerLost: number;
  /** Async messages for a topic no connected peer handles. */
  unroutedMessages: number;
  /** Frames rejected by the codec (over limits, bad UTF-8...). */
  invalidMessages: number;
  /** Messages for a topic this node has no handler for. */
  noHandlerMessages: number;
  handlerErrors: number;
  /** Responses carrying a token with no pending request. */
  unknownTokenResponses: number;
  /** Messages refused because a peer's buffer was over `maxBufferedBytes`. */
  backpressureRejections: number;
  bytesIn: number;
  bytesOut: number;
  connectionsIn: number;
  connectionsOut: number;
  connectionsAccepted: number;
  connectionsRefused: number;
  connectionAttempts: number;
  connectionFailures: number;
  connectionsLost: number;
  reconnects: number;
  handshakeFailures: number;
  heartbeatTimeouts: number;
  /** Incoming messages over a peer's rate limit (delayed or dropped). */
  rateLimited: number;
  /** Of those, dropped because `rateLimits.onExceed` is `drop`. */
  rateLimitDrops: number;
  /** Async messages held for a reconnecting peer (`connection.whileReconnecting: 'queue'`). */
  reconnectQueued: number;
  /** Async messages refused because a reconnecting peer's queue was full. */
  reconnectQueueOverflows: number;
  /** Held messages discarded (gave up on the peer, node stopped, topic gone after the reconnect). */
  reconnectQueueDiscarded: number;
  /** Async messages refused because the named peer was reconnecting (`whileReconnecting: 'reject'`). */
  reconnectRejections: number;
  /** Messages waiting in handling queues now. */
  queuedMessages: number;
  /** Connections whose reading is paused by backpressure now. */
  pausedConnections: number;
  syncLatencyBuckets: number[];
  syncLatencySumMs: number;
  syncLatencyCount: number;
  topics: Record<string, TopicCounts>;
}

/** The mutable counters behind `NodeStats`; hot paths do plain adds on these fields. */
export class Counters {
  asyncSent = 0;
  asyncReceived = 0;
  syncRequestsSent = 0;
  syncRequestsReceived = 0;
  syncResponsesSent = 0;
  syncFailuresSent = 0;
  syncResponsesReceived = 0;
  syncFailuresReceived = 0;
  syncTimeouts = 0;
  syncPeerLost = 0;
  unroutedMessages = 0;
  invalidMessages = 0;
  noHandlerMessages = 0;
  handlerErrors = 0;
  unknownTokenResponses = 0;
  backpressureRejections = 0;
  closedBytesIn = 0;
  closedBytesOut = 0;
  connectionsAccepted = 0;
  connectionsRefused = 0;
  connectionAttempts = 0;
  connectionFailures = 0;
  connectionsLost = 0;
  reconnects = 0;
  handshakeFailures = 0;
  heartbeatTimeouts = 0;
  rateLimited = 0;
  rateLimitDrops = 0;
  reconnectQueued = 0;
  reconnectQueueOverflows = 0;
  reconnectQueueDiscarded = 0;
  reconnectRejections = 0;
  readonly syncLatencyBuckets = new Array<number>(SYNC_LATENCY_BUCKETS_MS.length + 1).fill(0);
  syncLatencySumMs = 0;
  syncLatencyCount = 0;
  private readonly topicCounts = new Map<string, TopicCounts>();

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
  return {
    asyncSent: c.asyncSent,
    asyncReceived: c.asyncReceived,
    syncRequestsSent: c.syncRequestsSent,
    syncRequestsReceived: c.syncRequestsReceived,
    syncResponsesSent: c.syncResponsesSent,
    syncFailuresSent: c.syncFailuresSent,
    syncResponsesReceived: c.syncResponsesReceived,
    syncFailuresReceived: c.syncFailuresReceived,
    syncTimeouts: c.syncTimeouts,
    syncPeerLost: c.syncPeerLost,
    unroutedMessages: c.unroutedMessages,
    invalidMessages: c.invalidMessages,
    noHandlerMessages: c.noHandlerMessages,
    handlerErrors: c.handlerErrors,
    unknownTokenResponses: c.unknownTokenResponses,
    backpressureRejections: c.backpressureRejections,
    bytesIn,
    bytesOut,
    connectionsIn,
    connectionsOut,
    connectionsAccepted: c.connectionsAccepted,
    connectionsRefused: c.connectionsRefused,
    connectionAttempts: c.connectionAttempts,
    connectionFailures: c.connectionFailures,
    connectionsLost: c.connectionsLost,
    reconnects: c.reconnects,
    handshakeFailures: c.handshakeFailures,
    heartbeatTimeouts: c.heartbeatTimeouts,
    rateLimited: c.rateLimited,
    rateLimitDrops: c.rateLimitDrops,
    reconnectQueued: c.reconnectQueued,
    reconnectQueueOverflows: c.reconnectQueueOverflows,
    reconnectQueueDiscarded: c.reconnectQueueDiscarded,
    reconnectRejections: c.reconnectRejections,
    queuedMessages: queued,
    pausedConnections: paused,
    syncLatencyBuckets: c.syncLatencyBuckets.slice(),
    syncLatencySumMs: c.syncLatencySumMs,
    syncLatencyCount: c.syncLatencyCount,
    topics: c.topicsRecord(),
  };
}
