import { DEFAULT_LIMITS } from '@systemge/protocol';
import { type Static, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { MAX_TIMER_MS } from './timers.js';

/*
 * The one description of a node's configuration. The TypeScript types (`Static<>`), the defaults
 * (`default`), the validation (./config-validation.ts) and the published JSON Schema all come from
 * these schemas. Rules that span fields are in config.ts (`crossFieldIssues`).
 */

/** Marks a schema as a duration in ms: an integer a Node.js timer can wait (`MAX_TIMER_MS`). */
const DURATION = 'x-systemge-duration';

/** A strict object: unknown fields are refused. */
function strict<T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string, defaultValue?: object) {
  return Type.Object(properties, {
    additionalProperties: false,
    description,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

const int = (minimum: number, maximum: number, description: string, defaultValue?: number) =>
  Type.Integer({ minimum, maximum, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });

const count = (minimum: number, description: string, defaultValue?: number) =>
  int(minimum, Number.MAX_SAFE_INTEGER, description, defaultValue);

/** A duration in ms from `minimum` to MAX_TIMER_MS (2^31 - 1). */
const duration = (minimum: 0 | 1, description: string, defaultValue: number) =>
  Type.Integer({ minimum, maximum: MAX_TIMER_MS, description, default: defaultValue, [DURATION]: true });

const num = (minimum: number, maximum: number, description: string, defaultValue: number) =>
  Type.Number({ minimum, maximum, description, default: defaultValue });

const text = (description: string) => Type.String({ minLength: 1, description });

/** One of a few strings. */
const oneOf = <const T extends readonly string[]>(values: T, description: string, defaultValue: T[number]) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, default: defaultValue },
  ) as unknown as TUnion<TLiteral<T[number]>[]>;

/** True when `schema` is a duration (its range errors name the timer maximum). */
export function isDurationSchema(schema: TSchema): boolean {
  return (schema as Record<string, unknown>)[DURATION] === true;
}

export const ListenSchema = strict(
  {
    /** Interface to bind. Default `127.0.0.1`. */
    host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to bind. Default `127.0.0.1`.' })),
    /** Port; 0 picks a free one. Default 0. */
    port: Type.Optional(int(0, 65535, 'Port; 0 picks a free one. Default 0.', 0)),
  },
  'Where this node accepts peers.',
);

export const EndpointSchema = strict(
  {
    /** Host name or address of the peer. */
    host: text('Host name or address of the peer.'),
    /** Port of the peer, 1 to 65535. */
    port: int(1, 65535, 'Port of the peer, 1 to 65535.'),
    /** Expected peer name; the connection is refused when the peer announces another. */
    name: Type.Optional(text('Expected peer name; the connection is refused when the peer announces another.')),
    /** TLS: server name for SNI and certificate verification. */
    serverName: Type.Optional(text('TLS: server name for SNI and certificate verification.')),
    /** TLS: CA certificate (PEM) that verifies this endpoint. */
    ca: Type.Optional(text('TLS: CA certificate (PEM) that verifies this endpoint.')),
    /** Token presented to this endpoint in the handshake. Default: `auth.token`. Never logged. */
    token: Type.Optional(text('Token presented to this endpoint in the handshake. Default: `auth.token`. Never logged.')),
  },
  'A peer to dial.',
);

export const LimitsSchema = strict(
  {
    /** Largest frame accepted, bytes, length prefix excluded. Default 16 MiB. */
    maxFrameBytes: Type.Optional(
      int(1, 0xffff_ffff, 'Largest frame accepted, bytes, length prefix excluded. Default 16 MiB.', DEFAULT_LIMITS.maxFrameBytes),
    ),
    /** Largest topic, UTF-8 bytes. Default 256. */
    maxTopicBytes: Type.Optional(int(1, 0xffff, 'Largest topic, UTF-8 bytes. Default 256.', DEFAULT_LIMITS.maxTopicBytes)),
    /** Largest payload, bytes. Default 16 MiB minus 1 KiB. */
    maxPayloadBytes: Type.Optional(
      int(1, 0xffff_ffff, 'Largest payload, bytes. Default 16 MiB minus 1 KiB.', DEFAULT_LIMITS.maxPayloadBytes),
    ),
    /** Largest sync token, bytes, at least 32. Default 64. */
    maxSyncTokenBytes: Type.Optional(
      int(32, 0xffff, 'Largest sync token, bytes, at least 32. Default 64.', DEFAULT_LIMITS.maxSyncTokenBytes),
    ),
    /** Largest node name, UTF-8 bytes. Default 128. */
    maxNodeNameBytes: Type.Optional(int(1, 0xffff, 'Largest node name, UTF-8 bytes. Default 128.', DEFAULT_LIMITS.maxNodeNameBytes)),
    /**
     * Largest first frame (the handshake or its answer) accepted from a peer, bytes, length prefix excluded; checked
     * before the body is buffered. The effective cap is the smaller of this and `maxFrameBytes`. At least 16 KiB.
     * Default 64 KiB.
     */
    maxHandshakeFrameBytes: Type.Optional(
      int(
        16 * 1024,
        0xffff_ffff,
        'Largest first frame (the handshake or its answer) accepted from a peer, bytes, length prefix excluded; checked ' +
          'before the body is buffered. The effective cap is the smaller of this and `maxFrameBytes`. At least 16 KiB. ' +
          'Default 64 KiB.',
        DEFAULT_LIMITS.maxHandshakeFrameBytes,
      ),
    ),
  },
  'Codec limits, enforced on both the sending and the receiving side (see `@systemge/protocol`).',
  {},
);

export const HandlingModeSchema = oneOf(
  ['concurrent', 'sequential-connection', 'sequential-node'],
  'How incoming messages are handed to handlers: `concurrent` starts each handler at once (at most `concurrency` ' +
    'unfinished per connection); `sequential-connection` runs one at a time per connection; `sequential-node` one at a ' +
    'time for the whole node. A full queue pauses reading (backpressure); nothing is dropped. Default `concurrent`.',
  'concurrent',
);

export const HandlingSchema = strict(
  {
    /**
     * How incoming messages are handed to handlers: `concurrent` starts each handler at once (at most
     * `concurrency` unfinished per connection); `sequential-connection` runs one at a time per connection;
     * `sequential-node` one at a time for the whole node. A full queue pauses reading (backpressure); nothing is
     * dropped. Default `concurrent`.
     */
    mode: Type.Optional(HandlingModeSchema),
    /**
     * Messages waiting per queue before reading pauses (sequential modes); in `sequential-node` mode the node
     * queue holds at most `queueSize + connections - 1`. Default 1024.
     */
    queueSize: Type.Optional(
      count(
        1,
        'Messages waiting per queue before reading pauses (sequential modes); in `sequential-node` mode the node queue ' +
          'holds at most `queueSize + connections - 1`. Default 1024.',
        1024,
      ),
    ),
    /** Unfinished async handlers per connection before reading pauses (concurrent mode). Default 1024. */
    concurrency: Type.Optional(
      count(1, 'Unfinished async handlers per connection before reading pauses (concurrent mode). Default 1024.', 1024),
    ),
  },
  'How incoming messages are handed to handlers.',
  {},
);

export const SyncSchema = strict(
  {
    /** Default timeout of a sync request, ms, 1 to 2147483647 (`MAX_TIMER_MS`). Default 5000. */
    timeoutMs: Type.Optional(duration(1, 'Default timeout of a sync request, ms, 1 to 2147483647 (`MAX_TIMER_MS`). Default 5000.', 5000)),
    /** Default cap on responses per request; 0 means one per targeted peer. Default 0. */
    maxResponses: Type.Optional(count(0, 'Default cap on responses per request; 0 means one per targeted peer. Default 0.', 0)),
  },
  'Defaults of sync requests.',
  {},
);

export const ConnectionSchema = strict(
  {
    /**
     * Dial attempts per endpoint (at start, on `connect()`, and per reconnect) before giving up; 0 means
     * forever. Default 5.
     */
    maxAttempts: Type.Optional(
      count(0, 'Dial attempts per endpoint (at start, on `connect()`, and per reconnect) before giving up; 0 means forever. Default 5.', 5),
    ),
    /** Delay after the first failed attempt, ms, 0 to `MAX_TIMER_MS` (0 = retry at once). Default 200. */
    initialDelayMs: Type.Optional(
      duration(0, 'Delay after the first failed attempt, ms, 0 to `MAX_TIMER_MS` (0 = retry at once). Default 200.', 200),
    ),
    /**
     * Cap on the delay between attempts, ms, 0 to `MAX_TIMER_MS` (jitter never takes a delay past it). Default
     * 10000.
     */
    maxDelayMs: Type.Optional(
      duration(
        0,
        'Cap on the delay between attempts, ms, 0 to `MAX_TIMER_MS` (jitter never takes a delay past it). Default 10000.',
        10_000,
      ),
    ),
    /** Delay multiplier per failed attempt, 1 to 100 (1 = constant delay). Default 2. */
    backoffFactor: Type.Optional(num(1, 100, 'Delay multiplier per failed attempt, 1 to 100 (1 = constant delay). Default 2.', 2)),
    /** Random spread of each delay, 0 to 1 (0.2 = ±20%, 0 = exact delays). Default 0.2. */
    jitter: Type.Optional(num(0, 1, 'Random spread of each delay, 0 to 1 (0.2 = ±20%, 0 = exact delays). Default 0.2.', 0.2)),
    /**
     * When an endpoint's attempts run out: `continue` emits `connect:gave-up` and runs on without that peer;
     * `stop` makes `start()` reject with `SYSTEMGE_ERR_CONNECT_ATTEMPTS` (a running node stops). Default
     * `continue`.
     */
    onFailure: Type.Optional(
      oneOf(
        ['continue', 'stop'],
        "When an endpoint's attempts run out: `continue` emits `connect:gave-up` and runs on without that peer; `stop` " +
          'makes `start()` reject with `SYSTEMGE_ERR_CONNECT_ATTEMPTS` (a running node stops). Default `continue`.',
        'continue',
      ),
    ),
    /**
     * When an outgoing connection is lost: dial it again with the attempt sequence, or stop the node. Default
     * `reconnect`.
     */
    onLoss: Type.Optional(
      oneOf(
        ['reconnect', 'stop'],
        'When an outgoing connection is lost: dial it again with the attempt sequence, or stop the node. Default `reconnect`.',
        'reconnect',
      ),
    ),
    /**
     * Async messages addressed by name to a reconnecting peer: `queue` holds them (up to `reconnectQueueSize`)
     * and sends them once it is back; `reject` throws `SYSTEMGE_ERR_PEER_RECONNECTING`. Default `reject`.
     */
    whileReconnecting: Type.Optional(
      oneOf(
        ['queue', 'reject'],
        'Async messages addressed by name to a reconnecting peer: `queue` holds them (up to `reconnectQueueSize`) and sends ' +
          'them once it is back; `reject` throws `SYSTEMGE_ERR_PEER_RECONNECTING`. Default `reject`.',
        'reject',
      ),
    ),
    /** Messages held per reconnecting endpoint when `whileReconnecting` is `queue`. Default 1024. */
    reconnectQueueSize: Type.Optional(
      count(1, 'Messages held per reconnecting endpoint when `whileReconnecting` is `queue`. Default 1024.', 1024),
    ),
    /** Gives up one dial after this long, ms, 1 to `MAX_TIMER_MS`. Default 5000. */
    dialTimeoutMs: Type.Optional(duration(1, 'Gives up one dial after this long, ms, 1 to `MAX_TIMER_MS`. Default 5000.', 5000)),
    /** Closes a connection whose handshake is not done after this long, ms, 1 to `MAX_TIMER_MS`. Default 5000. */
    handshakeTimeoutMs: Type.Optional(
      duration(1, 'Closes a connection whose handshake is not done after this long, ms, 1 to `MAX_TIMER_MS`. Default 5000.', 5000),
    ),
    /** Outgoing bytes buffered per peer above which `asyncMessage` returns false, bytes. Default 1 MiB. */
    highWaterMark: Type.Optional(
      count(1, 'Outgoing bytes buffered per peer above which `asyncMessage` returns false, bytes. Default 1 MiB.', 1024 * 1024),
    ),
    /**
     * Outgoing bytes buffered per peer above which sends are refused with `SYSTEMGE_ERR_BACKPRESSURE`, bytes; at
     * least `highWaterMark`. Default 64 MiB.
     */
    maxBufferedBytes: Type.Optional(
      count(
        1,
        'Outgoing bytes buffered per peer above which sends are refused with `SYSTEMGE_ERR_BACKPRESSURE`, bytes; at least ' +
          '`highWaterMark`. Default 64 MiB.',
        64 * 1024 * 1024,
      ),
    ),
  },
  'How endpoints are dialed, redialed and what happens when they cannot be reached.',
  {},
);

export const HeartbeatSchema = strict(
  {
    /**
     * A connection that received nothing for this long is probed, ms; liveness is checked every `intervalMs /
     * 2`. 0 to `MAX_TIMER_MS`; 0 turns heartbeats off. Default 5000.
     */
    intervalMs: Type.Optional(
      duration(
        0,
        'A connection that received nothing for this long is probed, ms; liveness is checked every `intervalMs / 2`. ' +
          '0 to `MAX_TIMER_MS`; 0 turns heartbeats off. Default 5000.',
        5000,
      ),
    ),
    /**
     * A peer silent this long is declared dead and its socket destroyed, ms. Must be greater than `intervalMs`,
     * at most `MAX_TIMER_MS`. Default 15000.
     */
    timeoutMs: Type.Optional(
      duration(
        1,
        'A peer silent this long is declared dead and its socket destroyed, ms. Must be greater than `intervalMs`, at most ' +
          '`MAX_TIMER_MS`. Default 15000.',
        15_000,
      ),
    ),
  },
  'Liveness of connections.',
  {},
);

export const AuthSchema = strict(
  {
    /** Token every dialing peer must present, and the default this node presents when dialing. Never logged. */
    token: Type.Optional(text('Token every dialing peer must present, and the default this node presents when dialing. Never logged.')),
    /** Per-peer tokens by peer name; a peer listed here must present its own token instead of `token`. */
    peerTokens: Type.Optional(
      Type.Record(Type.String(), text('Token of this peer.'), {
        description: 'Per-peer tokens by peer name; a peer listed here must present its own token instead of `token`.',
      }),
    ),
    /**
     * With TLS client/server certificates: require the peer's verified certificate to name the node it announces
     * (subject CN or a DNS subject-alt-name). Default false.
     */
    requireCertificateName: Type.Optional(
      Type.Boolean({
        description:
          "With TLS client/server certificates: require the peer's verified certificate to name the node it announces " +
          '(subject CN or a DNS subject-alt-name). Default false.',
      }),
    ),
  },
  'Handshake authentication. Tokens are compared in constant time and never logged. Default: none (any peer may connect).',
);

const addresses = (description: string) =>
  Type.Array(Type.String({ minLength: 1, 'x-systemge-address': true }), { description, default: [] });

export const AccessSchema = strict(
  {
    /** Addresses or CIDR ranges (IPv4 and IPv6) allowed to connect; empty or absent allows all. */
    allow: Type.Optional(addresses('Addresses or CIDR ranges (IPv4 and IPv6) allowed to connect; empty or absent allows all.')),
    /** Addresses or CIDR ranges refused; wins over `allow`. Default none. */
    deny: Type.Optional(addresses('Addresses or CIDR ranges refused; wins over `allow`. Default none.')),
    /** Connection attempts one IP may make per `attemptWindowMs`; 0 = unlimited. Default 0. */
    maxAttemptsPerIp: Type.Optional(count(0, 'Connection attempts one IP may make per `attemptWindowMs`; 0 = unlimited. Default 0.', 0)),
    /** Sliding window of `maxAttemptsPerIp`, ms, 1 to `MAX_TIMER_MS`. Default 10000. */
    attemptWindowMs: Type.Optional(duration(1, 'Sliding window of `maxAttemptsPerIp`, ms, 1 to `MAX_TIMER_MS`. Default 10000.', 10_000)),
    /** Accepted connections still handshaking; when full, the oldest is dropped to make room. Default 128. */
    maxPendingHandshakes: Type.Optional(
      count(1, 'Accepted connections still handshaking; when full, the oldest is dropped to make room. Default 128.', 128),
    ),
    /**
     * Bytes all pending handshakes together may hold, at least `limits.maxHandshakeFrameBytes`; above
     * `floor(maxPendingHandshakeBytes / maxHandshakeFrameBytes)` pending handshakes the oldest is dropped. Default 8 MiB.
     */
    maxPendingHandshakeBytes: Type.Optional(
      count(
        1,
        'Bytes all pending handshakes together may hold, at least `limits.maxHandshakeFrameBytes`; above ' +
          '`floor(maxPendingHandshakeBytes / maxHandshakeFrameBytes)` pending handshakes the oldest is dropped. Default 8 MiB.',
        8 * 1024 * 1024,
      ),
    ),
    /** Open connections (all states) above which new sockets are refused. Default 4096. */
    maxConnections: Type.Optional(count(1, 'Open connections (all states) above which new sockets are refused. Default 4096.', 4096)),
  },
  'IP allow/deny lists, per-IP attempt rate, caps on pending handshakes and connections.',
  {},
);

export const RateLimitsSchema = strict(
  {
    /** Messages per second a peer may send; 0 = unlimited. Default 0. */
    messagesPerSecond: Type.Optional(num(0, Number.MAX_SAFE_INTEGER, 'Messages per second a peer may send; 0 = unlimited. Default 0.', 0)),
    /** Payload bytes per second a peer may send; 0 = unlimited. Default 0. */
    bytesPerSecond: Type.Optional(
      num(0, Number.MAX_SAFE_INTEGER, 'Payload bytes per second a peer may send; 0 = unlimited. Default 0.', 0),
    ),
    /** Burst size as seconds of rate, 0.001 to 3600. Default 1. */
    burstSeconds: Type.Optional(num(0.001, 3600, 'Burst size as seconds of rate, 0.001 to 3600. Default 1.', 1)),
    /**
     * Past the rate: `backpressure` pauses reading until tokens refill (nothing is lost); `drop` discards the
     * message, counts it, and answers a sync request with a failure. Default `backpressure`.
     */
    onExceed: Type.Optional(
      oneOf(
        ['backpressure', 'drop'],
        'Past the rate: `backpressure` pauses reading until tokens refill (nothing is lost); `drop` discards the message, ' +
          'counts it, and answers a sync request with a failure. Default `backpressure`.',
        'backpressure',
      ),
    ),
  },
  'Per-connection incoming message and byte rates. Default: unlimited.',
  {},
);

export const DiscoveryConfigSchema = strict(
  {
    /**
     * Which discovered members this node dials: `"all"` (a full mesh) or `{ "uses": [topics] }` (members that announce
     * one of these topics, plus members whose topics are unknown). Default `"all"`.
     */
    connectTo: Type.Optional(
      Type.Union(
        [
          Type.Literal('all'),
          strict(
            { uses: Type.Array(text('A topic this node sends to.'), { description: 'Topics this node sends to.' }) },
            'Dial only members that serve one of these topics.',
          ),
        ],
        {
          description:
            'Which discovered members this node dials: `"all"` (a full mesh) or `{ "uses": [topics] }` (members that announce one of these topics, plus members whose topics are unknown). Default `"all"`.',
          default: 'all',
        },
      ),
    ),
    /** Host other nodes dial, announced through the discovery. Default: the listen host (required when it is `0.0.0.0` or `::`). */
    advertiseHost: Type.Optional(
      text('Host other nodes dial, announced through the discovery. Default: the listen host (required when it is `0.0.0.0` or `::`).'),
    ),
    /** Port other nodes dial, announced through the discovery, 1 to 65535. Default: the listen port. */
    advertisePort: Type.Optional(
      int(1, 65535, 'Port other nodes dial, announced through the discovery, 1 to 65535. Default: the listen port.'),
    ),
  },
  'How the node acts on the members its discovery reports (the discovery itself is given in code: `createNode(config, app, { discovery })`).',
  {},
);

/** The node config fields that are plain data: everything but `transport`. */
export const nodeConfigProperties = {
  /** Unique node name, at most `limits.maxNodeNameBytes` UTF-8 bytes. */
  name: text('Unique node name, at most `limits.maxNodeNameBytes` UTF-8 bytes.'),
  /** Where to accept peers; `false` for a node that only dials. Default `{ "host": "127.0.0.1", "port": 0 }`. */
  listen: Type.Optional(
    Type.Union([Type.Literal(false), ListenSchema], {
      description: 'Where to accept peers; `false` for a node that only dials. Default `{ "host": "127.0.0.1", "port": 0 }`.',
      default: {},
    }),
  ),
  /** Peers to dial at start. Default none. */
  endpoints: Type.Optional(Type.Array(EndpointSchema, { description: 'Peers to dial at start. Default none.', default: [] })),
  /** Codec limits, enforced on both the sending and the receiving side (see `@systemge/protocol`). */
  limits: Type.Optional(LimitsSchema),
  /** How incoming messages are handed to handlers. */
  handling: Type.Optional(HandlingSchema),
  /** Defaults of sync requests. */
  sync: Type.Optional(SyncSchema),
  /** How endpoints are dialed, redialed and what happens when they cannot be reached. */
  connection: Type.Optional(ConnectionSchema),
  /** Liveness of connections. */
  heartbeat: Type.Optional(HeartbeatSchema),
  /** How long `stop()` waits for running handlers, ms, 0 to `MAX_TIMER_MS` (0 = do not wait). Default 5000. */
  shutdownTimeoutMs: Type.Optional(
    duration(0, 'How long `stop()` waits for running handlers, ms, 0 to `MAX_TIMER_MS` (0 = do not wait). Default 5000.', 5000),
  ),
  /**
   * Handshake authentication. Tokens are compared in constant time and never logged. Default: none (any peer may
   * connect).
   */
  auth: Type.Optional(AuthSchema),
  /** IP allow/deny lists, per-IP attempt rate, caps on pending handshakes and connections. */
  access: Type.Optional(AccessSchema),
  /** Per-connection incoming message and byte rates. Default: unlimited. */
  rateLimits: Type.Optional(RateLimitsSchema),
  /** How the node acts on the members its discovery reports (the discovery itself is given in code: `createNode(config, app, { discovery })`). */
  discovery: Type.Optional(DiscoveryConfigSchema),
};

/**
 * The JSON Schema of a node configuration without its `transport` (which is code, not data): what
 * `loadNodeConfig` reads, and the base of the `systemge` file schema's node entries.
 */
export const NodeConfigSchema = Type.Object(nodeConfigProperties, {
  $id: 'https://systemge.dev/schema/node-config.json',
  title: 'Systemge node configuration',
  description: 'Everything about one node, as plain data (the transport is added in code).',
  additionalProperties: false,
});

export type NodeConfigData = Static<typeof NodeConfigSchema>;

/**
 * `schema` as a standalone JSON Schema document (draft-07), as published: TypeBox's own markers and
 * this package's internal keywords removed.
 */
export function jsonSchemaDocument(schema: TSchema): Record<string, unknown> {
  const document = { $schema: 'http://json-schema.org/draft-07/schema#', ...schema };
  return JSON.parse(JSON.stringify(document, (key, value: unknown) => (key.startsWith('x-systemge-') ? undefined : value))) as Record<
    string,
    unknown
  >;
}
