import type { Payload, PayloadEncodingName, SystemgeError } from '@systemge/protocol';
import type {
  AnyTopics,
  CommandResult,
  AsyncMessageHandler,
  AsyncPayload,
  AsyncTopic,
  PluginMetric,
  SyncMessageHandler,
  SyncRequestPayload,
  SyncResponsePayload,
  SyncTopic,
  TopicMap,
} from './components.js';
import type { EndpointConfig } from './config.js';
import type { AddressList } from '@systemge/access';
import type { BalanceStrategy } from './messaging/balancer.js';
import type { DiscoveryState } from './discovery/mesh.js';
import type { NodeStats } from './stats.js';
import type { CodedError } from './error-codes.js';

/** `stopped → starting → started → stopping → stopped`. */
export type NodeStatus = 'stopped' | 'starting' | 'started' | 'stopping';

/** One answer to a sync request. */
export type SyncResponse<R extends Payload = Payload> =
  | { readonly origin: string; readonly ok: true; readonly payload: R }
  | { readonly origin: string; readonly ok: false; readonly error: string; readonly code: string };

/** Why a sync request stopped collecting responses. */
export type SyncOutcome = 'complete' | 'max-responses' | 'timeout' | 'cancelled' | 'failed';

/**
 * A sync request in flight: iterate it for responses as they arrive, or await `all()` / `first()`.
 * It always settles: all expected responses, `maxResponses` reached, timeout, peers lost, or node stopped.
 */
export interface SyncRequest<R extends Payload = Payload> extends AsyncIterable<SyncResponse<R>> {
  readonly topic: string;
  /** Unguessable correlation token. */
  readonly token: string;
  /** Names of the peers the request was sent to. */
  readonly targets: readonly string[];
  /** Responses received so far (including failures). */
  readonly responses: readonly SyncResponse<R>[];
  /** Targets that have not answered (yet). */
  readonly missing: readonly string[];
  /** Undefined until settled. */
  readonly outcome: SyncOutcome | undefined;
  /**
   * All responses once settled. Resolves on complete, max-responses and timeout (check `outcome`
   * and `missing`); rejects when the request could not be sent or the node stopped.
   */
  all(): Promise<SyncResponse<R>[]>;
  /**
   * The first successful response's payload; the request then stops collecting, with outcome
   * `complete` when every target has answered by then, else `max-responses`. Rejects with the
   * failure, a timeout, or the send error.
   */
  first(): Promise<R>;
  /**
   * `first()` without a promise, for hot paths: `callback(undefined, payload)` with the first
   * successful response's payload (the request is then cancelled), or `callback(error)` with what
   * `first()` rejects with. Called once; never from inside `onFirst` itself. An exception it throws
   * is logged by the node.
   */
  onFirst(callback: (error: Error | undefined, payload: R | undefined) => void): void;
  /** Stops waiting; `outcome` becomes `cancelled`. */
  cancel(): void;
}

export interface AsyncMessageOptions {
  /** Send only to these peer names (each must be connected and handle the topic). Not with `balance` or `key`. */
  to?: string | readonly string[];
  /**
   * Send to ONE of the peers that handle the topic, picked by this strategy (see `RequestOptions.balance`;
   * `least-pending` counts this node's open `request()`s). Default: none (every peer), or `key` when a key is given.
   */
  balance?: BalanceStrategy;
  /** With `balance: 'key'` (implied): messages with the same key go to the same peer while the peers stay the same. */
  key?: string;
}

/** Options of `node.request()`: which one peer is asked, how often it is retried, and for how long. */
export interface RequestOptions {
  /**
   * How the one peer is picked among those that handle the topic: `round-robin` (default; in turn,
   * per topic), `random`, `least-pending` (fewest `request()`s from this node still open to it; ties
   * in turn), or `key` (rendezvous hashing of `key` and the peer names: the same key goes to the same
   * peer while the peers stay the same; a peer leaving moves only its keys). Default: `round-robin`,
   * or `key` when a key is given.
   */
  balance?: BalanceStrategy;
  /** The affinity key of `balance: 'key'` (implied when given); not allowed with another strategy. */
  key?: string;
  /**
   * Further peers tried when the peer asked is lost before it answers, or the send fails
   * (`SYSTEMGE_ERR_PEER_LOST`, `SYSTEMGE_ERR_PEER_NOT_CONNECTED`, `SYSTEMGE_ERR_BACKPRESSURE`, a
   * transport error): an integer from 0 to 100. Each try asks a peer not asked before. Never after a
   * failure the handler answered, nor after the timeout. Default: 2.
   */
  retries?: number;
  /**
   * The whole request (all tries) gives up after this long, ms: an integer from 1 to 2147483647
   * (`MAX_TIMER_MS`). Default: `sync.timeoutMs`.
   */
  timeoutMs?: number;
}

export interface SyncRequestOptions {
  /** Ask only these peer names. Default: every peer that handles the topic. */
  to?: string | readonly string[];
  /**
   * Gives up waiting after this long, ms: an integer from 1 to 2147483647 (`MAX_TIMER_MS`, the Node.js
   * timer maximum). Anything else fails the request with `SYSTEMGE_ERR_INVALID_ARGUMENT`. Default: `sync.timeoutMs`.
   */
  timeoutMs?: number;
  /** Settles after this many responses; 0 = one per target. A negative or fractional value fails the request with `SYSTEMGE_ERR_INVALID_ARGUMENT`. Default: `sync.maxResponses`. */
  maxResponses?: number;
}

/** A connected (or connecting) peer as seen by this node. */
export interface PeerInfo {
  /** Peer node name (empty while handshaking). */
  name: string;
  /** `out` when this node dialed, `in` when the peer did. */
  direction: 'in' | 'out';
  transport: string;
  remoteAddress: string;
  remotePort: number;
  /** The configured endpoint for outgoing connections. */
  endpoint?: EndpointConfig | undefined;
  asyncTopics: string[];
  syncTopics: string[];
  /**
   * Payload encodings the peer accepts (its handshake's `encodings`): `['text', 'bytes', 'msgpack']`
   * for a peer that takes structured payloads, `['text', 'bytes']` for an older one.
   */
  encodings: PayloadEncodingName[];
  connectedAt: number;
  bytesIn: number;
  bytesOut: number;
  /** Outgoing bytes accepted but not yet handed to the kernel (kept near `connection.highWaterMark` by backpressure). */
  bufferedBytes: number;
  framesIn: number;
  framesOut: number;
  info?: Record<string, string> | undefined;
}

/** Events a node emits, with their arguments. */
export interface NodeEvents {
  status: [status: NodeStatus, previous: NodeStatus];
  'peer:connected': [peer: PeerInfo];
  'peer:disconnected': [peer: PeerInfo, reason: { code: string; reason: string; initiator: 'local' | 'remote' }];
  'peer:dead': [peer: PeerInfo];
  'connect:attempt': [endpoint: EndpointConfig, attempt: number];
  /**
   * `retryInMs`: delay before the next attempt; undefined when this was the last one. `error.code` says why,
   * e.g. `SYSTEMGE_ERR_DIAL_FAILED`, `SYSTEMGE_ERR_HANDSHAKE`, `SYSTEMGE_ERR_AUTH_FAILED`.
   */
  'connect:failed': [endpoint: EndpointConfig, attempt: number, error: CodedError, retryInMs: number | undefined];
  'connect:gave-up': [endpoint: EndpointConfig, error: Error];
  'reconnected': [peer: PeerInfo];
  /** The discovery's members or degraded state changed (only with the `discovery` option): the state now. */
  'discovery:changed': [state: DiscoveryState];
  /**
   * A problem that did not stop the node (handshake refused, invalid frame, queued messages discarded...).
   * `error.code` says which (see docs/errors.md).
   */
  warning: [error: CodedError];
}

export type NodeEventName = keyof NodeEvents;

/**
 * The events as the node emits them: errors are `SystemgeError`s, whose classes all carry a
 * `SystemgeErrorCode` (listeners see them as `CodedError`).
 */
export type EmittedNodeEvents = Omit<NodeEvents, 'warning' | 'connect:failed'> & {
  warning: [error: SystemgeError];
  'connect:failed': [endpoint: EndpointConfig, attempt: number, error: SystemgeError, retryInMs: number | undefined];
};

/** A Systemge node. Create with `createNode(config, application)`. */
export interface SystemgeNode<T extends TopicMap = AnyTopics> {
  readonly name: string;
  readonly status: NodeStatus;
  /** The bound listen address once started. */
  readonly address: { host: string; port: number } | undefined;
  /** Plain counters, cheap to read (see `NodeStats`). */
  readonly stats: NodeStats;
  /** False while any peer's outgoing buffer is above the high-water mark. */
  readonly writable: boolean;
  /** Milliseconds since the node last started; 0 unless started. */
  readonly uptimeMs: number;
  /**
   * True when the handshake authenticates peers: `auth.token`, `auth.peerTokens` or
   * `auth.requireCertificateName` is set. Read-only; the configuration itself stays private.
   */
  readonly authenticatesPeers: boolean;
  /** Addresses and CIDR ranges allowed to connect (empty: everyone). Edits apply to new connections. */
  readonly allowList: AddressList;
  /** Addresses and CIDR ranges refused before any handshake. Edits apply to new connections. */
  readonly denyList: AddressList;

  start(): Promise<void>;
  stop(reason?: string): Promise<void>;
  restart(): Promise<void>;

  /**
   * Sends an async message to every peer that handles `topic` (or to the `to` peers, or to one
   * peer picked by `balance` / `key`).
   * Returns false when a peer's buffer is above the high-water mark: the message is queued,
   * but wait for `drained()` before sending more. Throws a typed error when it cannot be sent.
   */
  asyncMessage<K extends AsyncTopic<T>>(topic: K, payload: AsyncPayload<T, K>, options?: AsyncMessageOptions): boolean;
  syncRequest<K extends SyncTopic<T>>(
    topic: K,
    payload: SyncRequestPayload<T, K>,
    options?: SyncRequestOptions,
  ): SyncRequest<SyncResponsePayload<T, K>>;
  /**
   * Asks ONE of the peers that handle `topic` (picked by `options.balance`) and resolves with its
   * answer. Rejects with `SYSTEMGE_ERR_SYNC_FAILURE` (the handler failed: the remote error text;
   * never retried), `SYSTEMGE_ERR_NO_ROUTE` (no peer handles the topic), `SYSTEMGE_ERR_SYNC_TIMEOUT`,
   * `SYSTEMGE_ERR_PEER_LOST` (lost, and no retry left or no other peer), `SYSTEMGE_ERR_INVALID_ARGUMENT`,
   * `SYSTEMGE_ERR_NODE_STATUS` or `SYSTEMGE_ERR_NODE_STOPPED`. A retry after a lost peer is
   * at-least-once: the lost peer may have handled the request.
   */
  request<K extends SyncTopic<T>>(
    topic: K,
    payload: SyncRequestPayload<T, K>,
    options?: RequestOptions,
  ): Promise<SyncResponsePayload<T, K>>;
  /** Resolves when every peer's outgoing buffer is below the high-water mark. */
  drained(): Promise<void>;

  /** Dials a peer now (with the connection-attempt policy); resolves with it once the handshake is done. */
  connect(endpoint: EndpointConfig): Promise<PeerInfo>;
  /** Closes the connection to a peer by name (an outgoing one is not redialed). */
  disconnect(name: string, reason?: string): Promise<void>;
  peers(): PeerInfo[];
  /**
   * What the node knows through its discovery (the `discovery` option of `createNode`): the source's
   * kind, the members, the degraded state and its reason, the skipped records and the time of the
   * last change. Undefined for a node without discovery. A snapshot: read it again after `discovery:changed`.
   */
  discoveryState(): DiscoveryState | undefined;

  /**
   * Handles a topic from now on and announces it to connected peers. Throws `SYSTEMGE_ERR_INVALID_TOPIC`
   * (nothing changes) for a topic peers would refuse: empty, not well-formed Unicode, or over
   * `limits.maxTopicBytes` UTF-8 bytes.
   */
  addAsyncTopic<K extends AsyncTopic<T>>(topic: K, handler: AsyncMessageHandler<AsyncPayload<T, K>, T>): void;
  /** Like `addAsyncTopic`, for a sync topic; throws `SYSTEMGE_ERR_INVALID_TOPIC` likewise. */
  addSyncTopic<K extends SyncTopic<T>>(topic: K, handler: SyncMessageHandler<SyncRequestPayload<T, K>, SyncResponsePayload<T, K>, T>): void;
  removeAsyncTopic(topic: string): boolean;
  removeSyncTopic(topic: string): boolean;
  /** Topics this node handles. */
  topics(): { asyncTopics: string[]; syncTopics: string[] };

  /**
   * Runs a command by name; resolves with its text or data (built-ins such as `stats`,
   * `connections`, `topics` and `status` return data). Rejects with SYSTEMGE_ERR_UNKNOWN_COMMAND
   * listing the available ones.
   */
  command(name: string, args?: string[]): Promise<CommandResult>;
  commandNames(): string[];
  /** Counters of the node's plugins (`NodePlugin.getStats`), by plugin name; plugins without counters are left out. */
  pluginStats(): Record<string, Record<string, number>>;
  /** Labelled samples of the node's plugins (`NodePlugin.getMetrics`), by plugin name; plugins without `getMetrics` are left out. */
  pluginMetrics(): Record<string, PluginMetric[]>;

  on<E extends NodeEventName>(event: E, listener: (...args: NodeEvents[E]) => void): this;
  once<E extends NodeEventName>(event: E, listener: (...args: NodeEvents[E]) => void): this;
  off<E extends NodeEventName>(event: E, listener: (...args: NodeEvents[E]) => void): this;
}
