import { readFileSync } from 'node:fs';
import { resolveLimits, type ProtocolLimits, type Transport } from '@systemge/protocol';
import { AddressList, type AccessControlConfig } from './connect/access-control.js';
import { ConfigError } from './errors.js';
import type { RateLimitConfig } from './messaging/rate-limits.js';
import { invalidDuration, MAX_TIMER_MS } from './timers.js';

/** A peer to dial. */
export interface EndpointConfig {
  host: string;
  port: number;
  /** Expected peer name; the connection is refused when the peer announces another. */
  name?: string;
  /** TLS: server name for SNI and certificate verification. */
  serverName?: string;
  /** TLS: CA certificate (PEM) that verifies this endpoint. */
  ca?: string;
  /** Token presented to this endpoint in the handshake. Default: `auth.token`. Never logged. */
  token?: string;
}

/** Handshake authentication. Tokens are compared in constant time and never logged. */
export interface AuthConfig {
  /** Token every dialing peer must present, and the default this node presents when dialing. */
  token?: string;
  /** Per-peer tokens by peer name; a peer listed here must present its own token instead of `token`. */
  peerTokens?: Record<string, string>;
  /**
   * With TLS client/server certificates: require the peer's verified certificate to name the node
   * it announces (subject CN or a DNS subject-alt-name equal to the node name). Default false.
   */
  requireCertificateName?: boolean;
}

/** Where this node accepts peers. */
export interface ListenConfig {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
}

/**
 * How incoming messages are handed to handlers.
 * - `concurrent`: each message starts its handler at once; at most `concurrency` unfinished handlers per connection.
 * - `sequential-connection`: one handler at a time per connection, in arrival order.
 * - `sequential-node`: one handler at a time for the whole node, in arrival order.
 * In every mode a full queue pauses reading from the sending connection (backpressure); nothing is dropped.
 */
export type HandlingMode = 'concurrent' | 'sequential-connection' | 'sequential-node';

export interface HandlingConfig {
  /** Default `concurrent`. */
  mode?: HandlingMode;
  /**
   * Messages waiting per queue before reading pauses (sequential modes). Default 1024.
   * In `sequential-node` mode a frame already read from another connection is still queued,
   * so the node queue holds at most `queueSize + connections - 1`.
   */
  queueSize?: number;
  /** Unfinished async handlers per connection before reading pauses (concurrent mode). Default 1024. */
  concurrency?: number;
}

export interface SyncConfig {
  /** Default timeout of a sync request, ms, 1 to 2147483647 (`MAX_TIMER_MS`). Default 5000. */
  timeoutMs?: number;
  /** Default cap on responses per request; 0 means one per targeted peer. Default 0. */
  maxResponses?: number;
}

/**
 * How endpoints are dialed, redialed and what happens when they cannot be reached.
 *
 * One endpoint's attempt sequence: attempt 1 at once; after failed attempt `n` the node waits
 * `min(initialDelayMs * backoffFactor^(n-1), maxDelayMs)`, spread by ±`jitter`, then tries again,
 * until an attempt succeeds or `maxAttempts` attempts have failed. Every attempt emits
 * `connect:attempt`, every failure `connect:failed` (counted in `connectionAttempts` /
 * `connectionFailures`); running out emits `connect:gave-up` and applies `onFailure`.
 *
 * `start()` dials every configured endpoint in parallel and resolves only when each endpoint's
 * sequence has ended: connected, or out of attempts. With `maxAttempts: 0` an unreachable endpoint
 * keeps `start()` waiting until it becomes reachable; `stop()` meanwhile cancels the attempts and
 * `start()` rejects with `SYSTEMGE_ERR_NODE_STOPPED`.
 *
 * A lost outgoing connection (not one this node closed) is redialed with the same sequence
 * (`onLoss: 'reconnect'`); `reconnected` is emitted when it is back.
 */
export interface ConnectionConfig {
  /** Dial attempts per endpoint (at start, on `connect()`, and per reconnect) before giving up; 0 means forever. Default 5. */
  maxAttempts?: number;
  /** Delay after the first failed attempt, ms, 0 to `MAX_TIMER_MS` (0 = retry at once). Default 200. */
  initialDelayMs?: number;
  /** Cap on the delay between attempts, ms, 0 to `MAX_TIMER_MS` (jitter never takes a delay past `MAX_TIMER_MS`). Default 10000. */
  maxDelayMs?: number;
  /** Delay multiplier per failed attempt, 1..100 (1 = constant delay). Default 2. */
  backoffFactor?: number;
  /** Random spread of each delay, 0..1 (0.2 = ±20%, 0 = exact delays). Default 0.2. */
  jitter?: number;
  /**
   * What happens when an endpoint's attempts run out. `continue`: `connect:gave-up` is emitted and the
   * node runs on without that peer (`start()` resolves). `stop`: `start()` rejects with
   * `SYSTEMGE_ERR_CONNECT_ATTEMPTS` and leaves nothing bound; a running node (giving up on a reconnect) stops.
   * Default `continue`.
   */
  onFailure?: 'continue' | 'stop';
  /**
   * What happens when an outgoing connection is lost (closed by the peer, reset, heartbeat timeout):
   * dial it again with the attempt sequence, or stop the node (a `warning` with `SYSTEMGE_ERR_PEER_LOST`
   * names the peer and the reason). Default `reconnect`.
   */
  onLoss?: 'reconnect' | 'stop';
  /**
   * Async messages addressed by name (`to`) to a peer that is reconnecting: `queue` holds them (up to
   * `reconnectQueueSize` per endpoint) and sends them in order once the peer is back; `reject` throws
   * `SYSTEMGE_ERR_PEER_RECONNECTING`. A full queue throws `SYSTEMGE_ERR_RECONNECT_QUEUE_FULL`; held messages
   * that can no longer be sent (gave up, node stopped, topic gone) are counted and reported as a `warning`
   * with `SYSTEMGE_ERR_QUEUED_MESSAGES_DISCARDED`. Default `reject`.
   */
  whileReconnecting?: 'queue' | 'reject';
  /** Messages held per reconnecting endpoint when `whileReconnecting` is `queue`. Default 1024. */
  reconnectQueueSize?: number;
  /** Gives up one dial after this long, ms, 1 to `MAX_TIMER_MS`. Default 5000. */
  dialTimeoutMs?: number;
  /** Closes a connection whose handshake is not done after this long, ms, 1 to `MAX_TIMER_MS`. Default 5000. */
  handshakeTimeoutMs?: number;
  /** Outgoing bytes buffered per peer above which `asyncMessage` returns false, bytes. Default 1 MiB. */
  highWaterMark?: number;
  /** Outgoing bytes buffered per peer above which sends are refused with SYSTEMGE_ERR_BACKPRESSURE, bytes. Default 64 MiB. */
  maxBufferedBytes?: number;
}

export interface HeartbeatConfig {
  /**
   * A connection that received nothing for this long is probed, ms; liveness is checked every
   * `intervalMs / 2`. 0 to `MAX_TIMER_MS`; 0 turns heartbeats off. Default 5000.
   */
  intervalMs?: number;
  /**
   * A peer silent this long is declared dead (`peer:dead`, counted in `heartbeatTimeouts`) and its
   * socket destroyed, ms; detection happens within `timeoutMs + intervalMs`. Any bytes from the peer
   * count as life, and a peer whose event loop is busy for less than this is not declared dead.
   * Must be greater than `intervalMs`, at most `MAX_TIMER_MS`. Default 15000.
   */
  timeoutMs?: number;
}

/** Everything about one node. Plain data, loadable from JSON, except `transport`. */
export interface NodeConfig {
  /** Unique node name, at most `limits.maxNodeNameBytes` bytes. */
  name: string;
  /** Makes connections, e.g. `tcpTransport()`. Required when the node listens or has endpoints. */
  transport?: Transport;
  /** Where to accept peers; `false` for a node that only dials. Default `{ host: '127.0.0.1', port: 0 }`. */
  listen?: ListenConfig | false;
  /** Peers to dial at start. Default none. */
  endpoints?: EndpointConfig[];
  /** Codec limits (see `@systemge/protocol`). */
  limits?: Partial<ProtocolLimits>;
  handling?: HandlingConfig;
  sync?: SyncConfig;
  connection?: ConnectionConfig;
  heartbeat?: HeartbeatConfig;
  /** How long `stop()` waits for running handlers, ms, 0 to `MAX_TIMER_MS` (0 = do not wait). Default 5000. */
  shutdownTimeoutMs?: number;
  /** Handshake authentication. Default: none (any peer may connect). */
  auth?: AuthConfig;
  /** IP allow/deny lists, per-IP attempt rate, caps on pending handshakes and connections. */
  access?: AccessControlConfig;
  /** Per-connection incoming message and byte rates. Default: unlimited. */
  rateLimits?: RateLimitConfig;
}

/** A config with every default filled in. */
export interface ResolvedNodeConfig {
  name: string;
  transport: Transport | undefined;
  listen: Required<ListenConfig> | false;
  endpoints: EndpointConfig[];
  limits: ProtocolLimits;
  handling: Required<HandlingConfig>;
  sync: Required<SyncConfig>;
  connection: Required<ConnectionConfig>;
  heartbeat: Required<HeartbeatConfig>;
  shutdownTimeoutMs: number;
  auth: AuthConfig;
  access: Required<AccessControlConfig>;
  rateLimits: Required<RateLimitConfig>;
}

type Check = (value: unknown, path: string) => void;

function fail(path: string, message: string): never {
  throw new ConfigError(path, message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(path, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
    }
  };

const number =
  (min: number, max: number): Check =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      fail(path, `expected a number from ${min} to ${max}, got ${describe(v)}`);
    }
  };

/** A duration in ms that a timer can wait: an integer from `min` to MAX_TIMER_MS (2^31 - 1). */
const duration =
  (min: number): Check =>
  (v, path) => {
    if (invalidDuration(v, min) !== undefined) {
      fail(path, `expected an integer from ${min} to ${MAX_TIMER_MS} ms (the Node.js timer maximum), got ${describe(v)}`);
    }
  };

const nonEmptyString: Check = (v, path) => {
  if (typeof v !== 'string' || v.length === 0) fail(path, `expected a non-empty string, got ${describe(v)}`);
};

const oneOf =
  (...values: string[]): Check =>
  (v, path) => {
    if (typeof v !== 'string' || !values.includes(v)) {
      fail(path, `expected one of ${values.map((x) => `"${x}"`).join(', ')}, got ${describe(v)}`);
    }
  };

function object(shape: Record<string, Check>): Check {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `expected an object, got ${describe(v)}`);
    for (const [key, value] of Object.entries(v)) {
      const sub = path === '' ? key : `${path}.${key}`;
      const check = Object.hasOwn(shape, key) ? shape[key] : undefined;
      if (check === undefined) fail(sub, `unknown field; known fields: ${Object.keys(shape).join(', ')}`);
      if (value !== undefined) check(value, sub);
    }
  };
}

const port = integer(0, 65535);
const endpoint = object({
  host: nonEmptyString,
  port: (v, p) => {
    integer(1, 65535)(v, p);
  },
  name: nonEmptyString,
  serverName: nonEmptyString,
  ca: nonEmptyString,
  token: nonEmptyString,
});

const transportCheck: Check = (v, path) => {
  const t = v as Partial<Transport> | null;
  if (typeof t !== 'object' || t === null || typeof t.listen !== 'function' || typeof t.dial !== 'function') {
    fail(path, 'expected a Transport (an object with listen() and dial()), e.g. tcpTransport()');
  }
};

const limitsCheck: Check = (v, path) => {
  object({
    maxFrameBytes: integer(1, 0xffff_ffff),
    maxTopicBytes: integer(1, 0xffff),
    maxPayloadBytes: integer(1, 0xffff_ffff),
    maxSyncTokenBytes: integer(32, 0xffff),
    maxNodeNameBytes: integer(1, 0xffff),
    maxHandshakeFrameBytes: integer(16 * 1024, 0xffff_ffff),
  })(v, path);
};

function addressList(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, `expected an array of addresses or CIDR ranges, got ${describe(v)}`);
  v.forEach((entry, i) => nonEmptyString(entry, `${path}[${i}]`));
  new AddressList(v as string[], path);
}

const configCheck = object({
  name: nonEmptyString,
  transport: transportCheck,
  listen: (v, path) => {
    if (v === false) return;
    object({ host: nonEmptyString, port })(v, path);
  },
  endpoints: (v, path) => {
    if (!Array.isArray(v)) fail(path, `expected an array of endpoints, got ${describe(v)}`);
    v.forEach((e, i) => {
      if (e === undefined) fail(`${path}[${i}]`, 'expected an endpoint');
      const sub = `${path}[${i}]`;
      if (typeof e === 'object' && e !== null) {
        if (!('host' in e)) fail(`${sub}.host`, 'required field is missing');
        if (!('port' in e)) fail(`${sub}.port`, 'required field is missing');
      }
      endpoint(e, sub);
    });
  },
  limits: limitsCheck,
  handling: object({
    mode: oneOf('concurrent', 'sequential-connection', 'sequential-node'),
    queueSize: integer(1),
    concurrency: integer(1),
  }),
  sync: object({ timeoutMs: duration(1), maxResponses: integer(0) }),
  connection: object({
    maxAttempts: integer(0),
    initialDelayMs: duration(0),
    maxDelayMs: duration(0),
    backoffFactor: number(1, 100),
    jitter: number(0, 1),
    onFailure: oneOf('continue', 'stop'),
    onLoss: oneOf('reconnect', 'stop'),
    whileReconnecting: oneOf('queue', 'reject'),
    reconnectQueueSize: integer(1),
    dialTimeoutMs: duration(1),
    handshakeTimeoutMs: duration(1),
    highWaterMark: integer(1),
    maxBufferedBytes: integer(1),
  }),
  heartbeat: object({ intervalMs: duration(0), timeoutMs: duration(1) }),
  shutdownTimeoutMs: duration(0),
  access: object({
    allow: (v, path) => addressList(v, path),
    deny: (v, path) => addressList(v, path),
    maxAttemptsPerIp: integer(0),
    attemptWindowMs: duration(1),
    maxPendingHandshakes: integer(1),
    maxPendingHandshakeBytes: integer(1),
    maxConnections: integer(1),
  }),
  rateLimits: object({
    messagesPerSecond: number(0, Number.MAX_SAFE_INTEGER),
    bytesPerSecond: number(0, Number.MAX_SAFE_INTEGER),
    burstSeconds: number(0.001, 3600),
    onExceed: oneOf('backpressure', 'drop'),
  }),
  auth: object({
    token: nonEmptyString,
    requireCertificateName: (v, path) => {
      if (typeof v !== 'boolean') fail(path, `expected true or false, got ${describe(v)}`);
    },
    peerTokens: (v, path) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `expected an object of peer name → token, got ${describe(v)}`);
      for (const [name, token] of Object.entries(v)) nonEmptyString(token, `${path}.${name}`);
    },
  }),
});

/**
 * Validates a node config and fills in the defaults.
 * Throws `SYSTEMGE_ERR_INVALID_CONFIG` naming the exact field path on the first problem.
 */
export function resolveNodeConfig(config: NodeConfig): ResolvedNodeConfig {
  return resolveConfig(config, true);
}

/** `requireTransport` is false for configs read from files, which cannot carry a transport. */
function resolveConfig(config: NodeConfig, requireTransport: boolean): ResolvedNodeConfig {
  configCheck(config, '');
  if (config === null || typeof config !== 'object') fail('', 'expected an object');
  if (config.name === undefined) fail('name', 'required field is missing');
  const limits = resolveLimits(config.limits);
  const nameBytes = Buffer.byteLength(config.name, 'utf8');
  if (nameBytes > limits.maxNodeNameBytes) {
    fail('name', `${nameBytes} bytes exceeds limits.maxNodeNameBytes ${limits.maxNodeNameBytes}`);
  }
  const listen = config.listen === false ? false : { host: '127.0.0.1', port: 0, ...config.listen };
  const endpoints = config.endpoints ?? [];
  if (requireTransport && (listen !== false || endpoints.length > 0) && config.transport === undefined) {
    fail('transport', 'required when the node listens or has endpoints (e.g. tcpTransport() from @systemge/transport-tcp)');
  }
  const connection: Required<ConnectionConfig> = {
    maxAttempts: 5,
    initialDelayMs: 200,
    maxDelayMs: 10_000,
    backoffFactor: 2,
    jitter: 0.2,
    onFailure: 'continue',
    onLoss: 'reconnect',
    whileReconnecting: 'reject',
    reconnectQueueSize: 1024,
    dialTimeoutMs: 5000,
    handshakeTimeoutMs: 5000,
    highWaterMark: 1024 * 1024,
    maxBufferedBytes: 64 * 1024 * 1024,
    ...config.connection,
  };
  if (connection.maxBufferedBytes < connection.highWaterMark) {
    fail('connection.maxBufferedBytes', `must be at least connection.highWaterMark (${connection.highWaterMark})`);
  }
  const handshakeFrameBytes = Math.min(limits.maxHandshakeFrameBytes, limits.maxFrameBytes);
  const maxPendingHandshakeBytes = config.access?.maxPendingHandshakeBytes ?? 8 * 1024 * 1024;
  if (maxPendingHandshakeBytes < handshakeFrameBytes) {
    fail(
      'access.maxPendingHandshakeBytes',
      `must be at least limits.maxHandshakeFrameBytes (${handshakeFrameBytes}): each pending handshake may hold that much`,
    );
  }
  const heartbeat: Required<HeartbeatConfig> = { intervalMs: 5000, timeoutMs: 15_000, ...config.heartbeat };
  if (heartbeat.intervalMs > 0 && heartbeat.timeoutMs <= heartbeat.intervalMs) {
    fail('heartbeat.timeoutMs', `must be greater than heartbeat.intervalMs (${heartbeat.intervalMs})`);
  }
  return {
    name: config.name,
    transport: config.transport,
    listen,
    endpoints: endpoints.map((e) => ({ ...e })),
    limits,
    handling: { mode: 'concurrent', queueSize: 1024, concurrency: 1024, ...config.handling },
    sync: { timeoutMs: 5000, maxResponses: 0, ...config.sync },
    connection,
    heartbeat,
    shutdownTimeoutMs: config.shutdownTimeoutMs ?? 5000,
    auth: { ...config.auth },
    access: {
      allow: [...(config.access?.allow ?? [])],
      deny: [...(config.access?.deny ?? [])],
      maxAttemptsPerIp: config.access?.maxAttemptsPerIp ?? 0,
      attemptWindowMs: config.access?.attemptWindowMs ?? 10_000,
      maxPendingHandshakes: config.access?.maxPendingHandshakes ?? 128,
      maxPendingHandshakeBytes,
      maxConnections: config.access?.maxConnections ?? 4096,
    },
    rateLimits: {
      messagesPerSecond: config.rateLimits?.messagesPerSecond ?? 0,
      bytesPerSecond: config.rateLimits?.bytesPerSecond ?? 0,
      burstSeconds: config.rateLimits?.burstSeconds ?? 1,
      onExceed: config.rateLimits?.onExceed ?? 'backpressure',
    },
  };
}

/**
 * Reads a node config from a JSON file and validates it (without `transport`, which the caller adds).
 * Errors name the file and the field path.
 */
export function loadNodeConfig(file: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('', `cannot read ${file}: ${(cause as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError('', `${file} is not valid JSON: ${(cause as Error).message}`);
  }
  try {
    // Everything resolveNodeConfig checks (required and cross-field rules too), except the transport.
    resolveConfig(data as NodeConfig, false);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.path, `${file}: ${error.message.replace(/^invalid config at [^:]+: /, '')}`);
    throw error;
  }
  return data as NodeConfig;
}
