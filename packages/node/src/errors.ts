import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/** One problem of a configuration: the field path (`nodes[0].sync.timeoutMs`, `''` for the whole) and what is wrong. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * The configuration is invalid. `issues` lists every problem found, each with its field path;
 * `path` is the first one's, e.g. `connection.maxAttempts`. The message has one line per issue.
 */
export class ConfigError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INVALID_CONFIG';
  readonly path: string;
  readonly issues: readonly ConfigIssue[];
  /** `options.issues`: further problems, reported after this one. */
  constructor(path: string, message: string, options?: SystemgeErrorOptions & { issues?: readonly ConfigIssue[] }) {
    const issues = [{ path, message }, ...(options?.issues ?? [])];
    super(ConfigError.code, issues.map((i) => `invalid config at ${i.path === '' ? '(root)' : i.path}: ${i.message}`).join('\n'), options);
    this.path = path;
    this.issues = issues;
  }

  /** One error reporting all of `issues` (at least one); `prefix` (e.g. a file name) starts each issue's text. */
  static of(issues: readonly ConfigIssue[], prefix = ''): ConfigError {
    const [first, ...rest] = issues.map((i) => ({ path: i.path, message: `${prefix}${i.message}` }));
    if (first === undefined) throw new RangeError('ConfigError.of needs at least one issue');
    return new ConfigError(first.path, first.message, { issues: rest });
  }
}

/** The operation needs a node status it is not in (e.g. `asyncMessage` on a stopped node). */
export class NodeStatusError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_NODE_STATUS';
  constructor(message: string) {
    super(NodeStatusError.code, message);
  }
}

/** The node stopped while the operation was pending. */
export class NodeStoppedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_NODE_STOPPED';
  constructor(nodeName: string) {
    super(NodeStoppedError.code, `node ${nodeName} stopped`);
  }
}

/** No connected peer handles the topic, or a named target does not handle it. */
export class NoRouteError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_NO_ROUTE';
  readonly topic: string;
  constructor(topic: string, detail?: string) {
    super(NoRouteError.code, detail ?? `no connected peer handles topic "${topic}"`);
    this.topic = topic;
  }
}

/** A message was addressed to a peer name that is not connected. */
export class PeerNotConnectedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_PEER_NOT_CONNECTED';
  readonly peer: string;
  constructor(peer: string) {
    super(PeerNotConnectedError.code, `no connected peer named "${peer}"`);
    this.peer = peer;
  }
}

/** The peer's connection was lost before it answered. */
export class PeerLostError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_PEER_LOST';
  readonly peer: string;
  constructor(peer: string, reason: string) {
    super(PeerLostError.code, `peer ${peer} lost: ${reason}`);
    this.peer = peer;
  }
}

/** A sync request timed out before every expected response arrived. */
export class SyncTimeoutError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_SYNC_TIMEOUT';
  constructor(topic: string, timeoutMs: number, missing: string[]) {
    super(
      SyncTimeoutError.code,
      `sync request "${topic}" timed out after ${timeoutMs} ms waiting for ${missing.length === 0 ? 'responses' : missing.join(', ')}`,
    );
  }
}

/** A peer answered a sync request with a failure; `message` is the remote error text. */
export class SyncFailureError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_SYNC_FAILURE';
  readonly origin: string;
  constructor(origin: string, error: string) {
    super(SyncFailureError.code, `${origin}: ${error}`);
    this.origin = origin;
  }
}

/** A handler was not found for the topic on the receiving node (text of the failure response). */
export class NoHandlerError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_NO_HANDLER';
  readonly topic: string;
  constructor(topic: string) {
    super(NoHandlerError.code, `no handler for topic ${topic}`);
    this.topic = topic;
  }
}

/** A peer's outgoing buffer is above `maxBufferedBytes`; the message was not queued. */
export class BackpressureError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_BACKPRESSURE';
  constructor(peer: string, buffered: number, limit: number) {
    super(BackpressureError.code, `peer ${peer} has ${buffered} bytes buffered, above maxBufferedBytes ${limit}; wait for node.drained()`);
  }
}

/** Another node with the same name is already connected (or the peer has this node's own name). */
export class DuplicateNameError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_DUPLICATE_NAME';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(DuplicateNameError.code, message, options);
  }
}

/** The handshake failed: unexpected frame, wrong peer name, or the peer refused it. */
export class HandshakeError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HANDSHAKE';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(HandshakeError.code, message, options);
  }
}

/** The peer did not complete the handshake in time. */
export class HandshakeTimeoutError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HANDSHAKE_TIMEOUT';
  constructor(timeoutMs: number) {
    super(HandshakeTimeoutError.code, `handshake not completed within ${timeoutMs} ms`);
  }
}

/** The peer sent nothing, not even a heartbeat answer, for longer than `heartbeat.timeoutMs`. */
export class HeartbeatTimeoutError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HEARTBEAT_TIMEOUT';
  constructor(peer: string, silentMs: number, timeoutMs: number) {
    super(HeartbeatTimeoutError.code, `peer ${peer} silent for ${silentMs} ms, above heartbeat timeout ${timeoutMs} ms`);
  }
}

/** Every connection attempt to an endpoint failed. */
export class ConnectAttemptsError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CONNECT_ATTEMPTS';
  readonly endpoint: string;
  readonly attempts: number;
  constructor(endpoint: string, attempts: number, options?: SystemgeErrorOptions) {
    const last = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(ConnectAttemptsError.code, `could not connect to ${endpoint} after ${attempts} attempts${last}`, options);
    this.endpoint = endpoint;
    this.attempts = attempts;
  }
}

/** An async message was addressed to a peer that is reconnecting, and `connection.whileReconnecting` is `reject`. */
export class PeerReconnectingError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_PEER_RECONNECTING';
  readonly peer: string;
  constructor(peer: string, endpoint: string) {
    super(PeerReconnectingError.code, `peer "${peer}" is reconnecting (${endpoint}); message not sent`);
    this.peer = peer;
  }
}

/** The queue of messages held for a reconnecting peer is full (`connection.reconnectQueueSize`). */
export class ReconnectQueueFullError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_RECONNECT_QUEUE_FULL';
  readonly peer: string;
  constructor(peer: string, limit: number) {
    super(
      ReconnectQueueFullError.code,
      `${limit} messages already held for reconnecting peer "${peer}", the connection.reconnectQueueSize limit; message not queued`,
    );
    this.peer = peer;
  }
}

/** Messages held for a reconnecting peer were discarded: the node gave up on it, stopped, or the peer came back without the topic. */
export class QueuedMessagesDiscardedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_QUEUED_MESSAGES_DISCARDED';
  readonly peer: string;
  readonly count: number;
  constructor(peer: string, count: number, reason: string) {
    super(QueuedMessagesDiscardedError.code, `${count} messages held for peer "${peer}" discarded: ${reason}`);
    this.peer = peer;
    this.count = count;
  }
}

/** `node.command()` was called with a command the node does not have. */
export class UnknownCommandError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_UNKNOWN_COMMAND';
  readonly command: string;
  readonly available: string[];
  constructor(command: string, available: string[]) {
    super(UnknownCommandError.code, `unknown command "${command}"; available: ${available.join(', ')}`);
    this.command = command;
    this.available = available;
  }
}

/** Shows at most 40 characters of a user-given string in a message, so a huge value cannot flood logs. */
export function preview(value: string): string {
  const chars = [...value];
  return chars.length > 40 ? `"${chars.slice(0, 40).join('')}…" (${chars.length} characters)` : `"${value}"`;
}

/**
 * A topic this node would have to announce to its peers is one their decoders must refuse: empty, not
 * well-formed Unicode, or longer than `limits.maxTopicBytes` (UTF-8). Thrown by `addAsyncTopic` /
 * `addSyncTopic`; handler maps with such a topic make `createNode` throw `SYSTEMGE_ERR_INVALID_CONFIG`
 * with this error as `cause`.
 */
export class InvalidTopicError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INVALID_TOPIC';
  readonly topic: string;
  /** Size in UTF-8 bytes. */
  readonly bytes: number;
  /** `limits.maxTopicBytes` of the node. */
  readonly limit: number;
  constructor(topic: string, bytes: number, limit: number, problem: string) {
    super(InvalidTopicError.code, `invalid topic ${preview(topic)}: ${problem}`);
    this.topic = topic;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** An argument of an API call is out of range, e.g. a `timeoutMs` above the timer maximum; `argument` names it. */
export class InvalidArgumentError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INVALID_ARGUMENT';
  readonly argument: string;
  constructor(argument: string, message: string) {
    super(InvalidArgumentError.code, `invalid ${argument}: ${message}`);
    this.argument = argument;
  }
}

/**
 * The node dialed itself: the listener that answered is this very node instance (recognised by the
 * random instance id every handshake carries). Final: never retried.
 */
export class SelfDialError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_SELF_DIAL';
  constructor(message: string) {
    super(SelfDialError.code, message);
  }
}

/**
 * Close reason of a redundant connection: two nodes dialed each other at the same time, and the one
 * connection per pair that both sides keep was chosen by the rule in the node README. Not an error a
 * caller sees: the losing dial resolves with the surviving connection. Its code is the goodbye code.
 */
export class ConnectionSupersededError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CONNECTION_SUPERSEDED';
  constructor() {
    super(ConnectionSupersededError.code, 'another connection between these nodes is kept');
  }
}

/**
 * The node listens on a non-loopback address without any authentication (no `auth.token`, no
 * `auth.peerTokens`, no TLS client certificate verification): anyone who can reach the port may join.
 * Reported as a `warning` event and logged at start; the node runs.
 */
export class InsecureListenError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INSECURE_LISTEN';
  readonly host: string;
  constructor(host: string, port: number) {
    super(
      InsecureListenError.code,
      `listening on ${host}:${port}, which is not a loopback address, without authentication: any node that can reach it may connect; set auth.token (or auth.peerTokens) or use TLS with client certificate verification`,
    );
    this.host = host;
  }
}

/** Maps a goodbye code received during the handshake to a typed error for the dialing side. */
export function errorFromRefusal(code: string, reason: string): SystemgeError {
  if (code === DuplicateNameError.code) return new DuplicateNameError(reason);
  if (code === 'SYSTEMGE_ERR_AUTH_FAILED') return new AuthenticationError();
  if (code === SelfDialError.code) return new SelfDialError(reason);
  if (code === HandshakeTimeoutError.code) return new HandshakeError(reason);
  return new SystemgeError(code.startsWith('SYSTEMGE_ERR_') ? code : HandshakeError.code, reason);
}

/** The peer's handshake token is missing or wrong. Nothing else is revealed to the peer. */
export class AuthenticationError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_AUTH_FAILED';
  constructor() {
    super(AuthenticationError.code, 'authentication failed');
  }
}
