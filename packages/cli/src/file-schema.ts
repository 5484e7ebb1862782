import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DiscoveryConfigSchema, MAX_TIMER_MS, NodeConfigSchema } from '@systemge/node';

/*
 * The schema of a configuration file: each node entry is @systemge/node's `NodeConfigSchema`
 * (without `transport`, which is code there) plus the parts only a file has: the application
 * module, the transport as data, HTTP, WebSocket, a dashboard link; and the file's own dashboard.
 * The published `schema/systemge.schema.json` is generated from it at build.
 */

/** A string naming a file relative to the configuration file; it must exist. */
const FILE = 'x-systemge-file';

const file = (description: string) => Type.String({ minLength: 1, description: `${description}, relative to this file`, [FILE]: true });
const text = (description: string) => Type.String({ minLength: 1, description });
const flag = (description: string, defaultValue?: boolean) =>
  Type.Boolean({ description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
const int = (minimum: number, maximum: number, description: string, defaultValue?: number) =>
  Type.Integer({ minimum, maximum, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
const count = (minimum: number, description: string, defaultValue?: number) =>
  int(minimum, Number.MAX_SAFE_INTEGER, description, defaultValue);
const ms = (minimum: 0 | 1, description: string, defaultValue: number) =>
  Type.Integer({ minimum, maximum: MAX_TIMER_MS, description, default: defaultValue, 'x-systemge-duration': true });
const port = (description: string) => int(0, 65535, `${description}; 0 picks a free one. Default 0.`, 0);
const strings = (description: string) => Type.Array(Type.String({ minLength: 1 }), { description });
const strict = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });

/** True when `schema` names a file relative to the configuration file. */
export function isFileSchema(schema: TSchema): boolean {
  return (schema as Record<string, unknown>)[FILE] === true;
}

const TLS_VERSION = Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
  description: 'Lowest TLS version accepted. Default `TLSv1.2`.',
  default: 'TLSv1.2',
});

export const TCPTransportFileSchema = strict(
  {
    /** Plain TCP. */
    kind: Type.Literal('tcp', { description: 'Plain TCP.' }),
    /** Disable Nagle's algorithm. Default true. */
    noDelay: Type.Optional(flag("Disable Nagle's algorithm. Default true.", true)),
    /** TCP keep-alive initial delay, ms; 0 turns keep-alive off. Default 0. */
    keepAliveMs: Type.Optional(count(0, 'TCP keep-alive initial delay, ms; 0 turns keep-alive off. Default 0.', 0)),
  },
  'Plain TCP transport.',
);

export const TLSTransportFileSchema = strict(
  {
    /** TLS over TCP. */
    kind: Type.Literal('tls', { description: 'TLS over TCP.' }),
    /** PEM certificate chain; required to listen, relative to this file */
    certFile: Type.Optional(file('PEM certificate chain; required to listen')),
    /** PEM private key of `certFile`; required to listen, relative to this file */
    keyFile: Type.Optional(file('PEM private key of `certFile`; required to listen')),
    /** PEM CA certificates that verify peers. Default: Node's bundled root CAs, relative to this file */
    caFile: Type.Optional(file("PEM CA certificates that verify peers. Default: Node's bundled root CAs")),
    /** Mutual TLS: a listener requires client certificates `caFile` verifies. Default false. */
    requestClientCert: Type.Optional(flag('Mutual TLS: a listener requires client certificates `caFile` verifies. Default false.', false)),
    /** Verify the peer certificate (and, when dialing, its name). Default true. */
    rejectUnauthorized: Type.Optional(flag('Verify the peer certificate (and, when dialing, its name). Default true.', true)),
    /** Lowest TLS version accepted. Default `TLSv1.2`. */
    minVersion: Type.Optional(TLS_VERSION),
    /** A listener closes a socket whose TLS handshake is not done within this time, ms. Default 10000. */
    handshakeTimeoutMs: Type.Optional(
      count(1, 'A listener closes a socket whose TLS handshake is not done within this time, ms. Default 10000.', 10_000),
    ),
  },
  'TLS transport; certificate files relative to the configuration file.',
);

export const TransportFileSchema = Type.Union([TCPTransportFileSchema, TLSTransportFileSchema], {
  description: 'How connections are made: `{ "kind": "tcp" }` (default) or `{ "kind": "tls", ... }`.',
});

export const HTTPSFileSchema = strict(
  {
    /** PEM certificate file, relative to this file */
    certFile: file('PEM certificate file'),
    /** PEM key file, relative to this file */
    keyFile: file('PEM key file'),
  },
  'Serve over TLS with this certificate and key. Default: plain.',
);

export const HTTPFileSchema = strict(
  {
    /** Listen address. Default `127.0.0.1`. */
    host: Type.Optional(Type.String({ minLength: 1, description: 'Listen address. Default `127.0.0.1`.', default: '127.0.0.1' })),
    /** Listen port; 0 picks a free one. Default 0. */
    port: Type.Optional(port('Listen port')),
    /** Largest request body accepted, bytes; larger bodies get 413. Default 1048576 (1 MiB). */
    bodyLimit: Type.Optional(count(1, 'Largest request body accepted, bytes; larger bodies get 413. Default 1048576 (1 MiB).', 1_048_576)),
    /** Closes a socket idle for this long, ms; 0 = never. Default 0. */
    connectionTimeoutMs: Type.Optional(ms(0, 'Closes a socket idle for this long, ms; 0 = never. Default 0.', 0)),
    /** Time allowed to receive a whole request, ms; 0 = unlimited. Default 30000. */
    requestTimeoutMs: Type.Optional(ms(0, 'Time allowed to receive a whole request, ms; 0 = unlimited. Default 30000.', 30_000)),
    /** Time allowed to receive the request headers, ms; 0 = unlimited. Default 10000. */
    headersTimeoutMs: Type.Optional(ms(0, 'Time allowed to receive the request headers, ms; 0 = unlimited. Default 10000.', 10_000)),
    /** How long an idle keep-alive connection stays open, ms; 0 = no timeout. Default 72000. */
    keepAliveTimeoutMs: Type.Optional(
      ms(0, 'How long an idle keep-alive connection stays open, ms; 0 = no timeout. Default 72000.', 72_000),
    ),
    /** Addresses and CIDR blocks allowed to connect; empty = everyone not denied. Default `[]`. */
    allow: Type.Optional(strings('Addresses and CIDR blocks allowed to connect; empty = everyone not denied. Default `[]`.')),
    /** Addresses and CIDR blocks refused with 403 (checked before `allow`). Default `[]`. */
    deny: Type.Optional(strings('Addresses and CIDR blocks refused with 403 (checked before `allow`). Default `[]`.')),
    /** Serve over TLS with this certificate and key. Default: plain. */
    https: Type.Optional(HTTPSFileSchema),
  },
  "The node's HTTP component (`httpComponent()` of `@systemge/http`).",
);

export const WebSocketFileSchema = strict(
  {
    /** Serve on the node's HTTP port (needs `http`). Default false: its own port. */
    sharePort: Type.Optional(flag("Serve on the node's HTTP port (needs `http`). Default false: its own port.", false)),
    /** URL path of the endpoint. Default `/ws`. */
    path: Type.Optional(Type.String({ minLength: 1, description: 'URL path of the endpoint. Default `/ws`.', default: '/ws' })),
    /** Listen address of the own server. Default `127.0.0.1`. */
    host: Type.Optional(
      Type.String({ minLength: 1, description: 'Listen address of the own server. Default `127.0.0.1`.', default: '127.0.0.1' }),
    ),
    /** Listen port of the own server; 0 picks a free one. Default 0. */
    port: Type.Optional(port('Listen port of the own server')),
    /** Also accept msgpack binary frames. Default false. */
    binary: Type.Optional(flag('Also accept msgpack binary frames. Default false.', false)),
    /** Largest message a client may send, bytes. Default 65536. */
    maxMessageBytes: Type.Optional(count(1, 'Largest message a client may send, bytes. Default 65536.', 65_536)),
    /** Messages a client may send per second; 0 = unlimited. Default 100. */
    messagesPerSecond: Type.Optional(count(0, 'Messages a client may send per second; 0 = unlimited. Default 100.', 100)),
    /** Messages a client may send in a burst. Default `messagesPerSecond`. */
    messageBurst: Type.Optional(count(1, 'Messages a client may send in a burst. Default `messagesPerSecond`.')),
    /** Bytes a client may send per second; 0 = unlimited. Default 1048576 (1 MiB). */
    bytesPerSecond: Type.Optional(count(0, 'Bytes a client may send per second; 0 = unlimited. Default 1048576 (1 MiB).', 1_048_576)),
    /**
     * Bytes a client may send in a burst, at least `maxMessageBytes`. Default `max(bytesPerSecond,
     * maxMessageBytes)`.
     */
    byteBurst: Type.Optional(
      count(1, 'Bytes a client may send in a burst, at least `maxMessageBytes`. Default `max(bytesPerSecond, maxMessageBytes)`.'),
    ),
    /** Over a rate limit: `error` drops the message and answers an error; `close` closes with 1008. Default `error`. */
    onRateLimit: Type.Optional(
      Type.Union([Type.Literal('error'), Type.Literal('close')], {
        description: 'Over a rate limit: `error` drops the message and answers an error; `close` closes with 1008. Default `error`.',
        default: 'error',
      }),
    ),
    /** Pings every client this often, ms; 0 = off. Default 30000. */
    pingIntervalMs: Type.Optional(ms(0, 'Pings every client this often, ms; 0 = off. Default 30000.', 30_000)),
    /** Soft limit on a client's unsent bytes, bytes. Default 4194304 (4 MiB). */
    maxBufferedBytes: Type.Optional(count(1, "Soft limit on a client's unsent bytes, bytes. Default 4194304 (4 MiB).", 4_194_304)),
    /** How long unsent data may stay over `maxBufferedBytes` before the client is disconnected, ms. Default 5000. */
    slowClientTimeoutMs: Type.Optional(
      ms(1, 'How long unsent data may stay over `maxBufferedBytes` before the client is disconnected, ms. Default 5000.', 5000),
    ),
    /** Hard limit on a client's unsent bytes, at least `maxBufferedBytes`. Default `16 × maxBufferedBytes`. */
    hardMaxBufferedBytes: Type.Optional(
      count(1, "Hard limit on a client's unsent bytes, at least `maxBufferedBytes`. Default `16 × maxBufferedBytes`."),
    ),
    /** Allowed `Origin` values; others are refused with 403. Default: any. */
    origins: Type.Optional(strings('Allowed `Origin` values; others are refused with 403. Default: any.')),
    /** With `origins`, let in requests without an `Origin` header. Default true. */
    allowMissingOrigin: Type.Optional(flag('With `origins`, let in requests without an `Origin` header. Default true.', true)),
    /** Most clients at once; more are refused with 503. Default 10000. */
    maxClients: Type.Optional(count(1, 'Most clients at once; more are refused with 503. Default 10000.', 10_000)),
    /** Serve over TLS with this certificate and key. Default: plain. */
    https: Type.Optional(HTTPSFileSchema),
  },
  "The node's WebSocket component (`websocketComponent()` of `@systemge/websocket`).",
);

export const DashboardLinkFileSchema = strict(
  {
    /** Host of the Systemge listener of the dashboard. */
    host: text('Host of the Systemge listener of the dashboard.'),
    /** Port of the Systemge listener of the dashboard. */
    port: int(1, 65535, 'Port of the Systemge listener of the dashboard.'),
    /** Token the dashboard requires; sent in the handshake. */
    token: Type.Optional(text('Token the dashboard requires; sent in the handshake.')),
    /** How connections are made: `{ "kind": "tcp" }` (default) or `{ "kind": "tls", ... }`. */
    transport: Type.Optional(TransportFileSchema),
    /** TLS server name of the dashboard, when it differs from `host`. */
    serverName: Type.Optional(text('TLS server name of the dashboard, when it differs from `host`.')),
    /** Send `token` over plain TCP to a non-loopback host. Default false: refused. */
    allowInsecure: Type.Optional(flag('Send `token` over plain TCP to a non-loopback host. Default false: refused.', false)),
  },
  'Register with a dashboard running in another process. `transport` defaults to the transport of the node.',
);

export const DashboardHTTPSFileSchema = strict(
  {
    /** PEM certificate file, relative to this file */
    certFile: file('PEM certificate file'),
    /** PEM key file, relative to this file */
    keyFile: file('PEM key file'),
    /** CA that verifies client certificates; required with `requestClientCert`, relative to this file */
    caFile: Type.Optional(file('CA that verifies client certificates; required with `requestClientCert`')),
    /** Mutual TLS: refuse clients without a certificate `caFile` verifies. Default false. */
    requestClientCert: Type.Optional(flag('Mutual TLS: refuse clients without a certificate `caFile` verifies. Default false.', false)),
    /** Lowest TLS version accepted. Default `TLSv1.2`. */
    minVersion: Type.Optional(TLS_VERSION),
  },
  'Serve the page, API and `/ws` over HTTPS.',
);

export const DashboardFileSchema = strict(
  {
    /** Interface to bind; anything but loopback requires `token`. Default `127.0.0.1`. */
    host: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Interface to bind; anything but loopback requires `token`. Default `127.0.0.1`.',
        default: '127.0.0.1',
      }),
    ),
    /** HTTP port; 0 picks a free one. Default 0. */
    port: Type.Optional(port('HTTP port')),
    /** Token API and page clients must present; required when `host` or `systemge.host` is not loopback. */
    token: Type.Optional(text('Token API and page clients must present; required when `host` or `systemge.host` is not loopback.')),
    /** Origins allowed to use the API and `/ws` besides the page itself. */
    allowedOrigins: Type.Optional(strings('Origins allowed to use the API and `/ws` besides the page itself.')),
    /** How often nodes are described and metrics pushed, ms. Default 1000. */
    metricsIntervalMs: Type.Optional(
      int(10, Number.MAX_SAFE_INTEGER, 'How often nodes are described and metrics pushed, ms. Default 1000.', 1000),
    ),
    /** Serve the page, API and `/ws` over HTTPS. */
    https: Type.Optional(DashboardHTTPSFileSchema),
    /** Where nodes of other processes register. Default: 127.0.0.1, any free port, plain TCP. */
    systemge: Type.Optional(
      strict(
        {
          host: Type.Optional(Type.String({ minLength: 1, description: 'Interface to bind. Default `127.0.0.1`.', default: '127.0.0.1' })),
          port: Type.Optional(port('Port')),
          transport: Type.Optional(TransportFileSchema),
        },
        'Where nodes of other processes register. Default: 127.0.0.1, any free port, plain TCP.',
      ),
    ),
  },
  'A dashboard served by this process, showing its nodes (and remote ones that register).',
);

export const CommandsFileSchema = strict(
  {
    /** Run commands for peers that passed the handshake. Default false. */
    remote: Type.Optional(flag('Run commands for peers that passed the handshake. Default false.', false)),
    /** Only these peer names (give each its own token in `auth.peerTokens`). Default: every authenticated peer. */
    peers: Type.Optional(
      strings('Only these peer names (give each its own token in `auth.peerTokens`). Default: every authenticated peer.'),
    ),
    /** Only these commands. Default: all. */
    allow: Type.Optional(strings('Only these commands. Default: all.')),
    /** Accept commands on a non-loopback host without `auth.token` / `auth.peerTokens` (TLS client certificates). Default false. */
    allowUnauthenticated: Type.Optional(
      flag(
        'Accept commands on a non-loopback host without `auth.token` / `auth.peerTokens` (TLS client certificates). Default false.',
        false,
      ),
    ),
  },
  "Commands from peers over the node's Systemge port (`systemge command --node`, `systemge repl --node`). Off unless `remote: true`; see `remoteCommands()` of `@systemge/node`.",
);

const durationMs = (minimum: number, description: string) =>
  Type.Integer({ minimum, maximum: MAX_TIMER_MS, description, 'x-systemge-duration': true });

/** How the node acts on what its discovery reports: @systemge/node's `discovery` fields, and the metadata it announces. */
const discoveryPolicyProperties = {
  ...DiscoveryConfigSchema.properties,
  /** Free-form string metadata announced with this node (zone, version, …). Default: none. */
  metadata: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'Free-form string metadata announced with this node (zone, version, …). Default: none.',
    }),
  ),
};

export const EtcdTLSFileSchema = strict(
  {
    /** CA certificate(s) that signed etcd's server certificate. Default: the system's CAs, relative to this file */
    caFile: Type.Optional(file("CA certificate(s) that signed etcd's server certificate. Default: the system's CAs")),
    /** Client certificate, for etcd started with `--client-cert-auth`, relative to this file */
    certFile: Type.Optional(file('Client certificate, for etcd started with `--client-cert-auth`')),
    /** Key of `certFile`, relative to this file */
    keyFile: Type.Optional(file('Key of `certFile`')),
    /** Name checked against etcd's certificate. Default: the endpoint's host. */
    servername: Type.Optional(text("Name checked against etcd's certificate. Default: the endpoint's host.")),
  },
  'TLS for `https://` endpoints; files relative to the configuration file.',
);

export const EtcdDiscoveryFileSchema = strict(
  {
    /** Members are registered in and watched from etcd (`etcdDiscovery()` of `@systemge/discovery-etcd`). */
    kind: Type.Literal('etcd', {
      description: 'Members are registered in and watched from etcd (`etcdDiscovery()` of `@systemge/discovery-etcd`).',
    }),
    /** etcd client URLs (`http://` or `https://`), tried in turn. */
    endpoints: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'etcd client URLs (`http://` or `https://`), tried in turn.',
      'x-systemge-items': 'etcd client URLs',
    }),
    /** Cluster name, without "/": members of one cluster see only each other. Default `default`. */
    cluster: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: '^[^/]+$',
        description: 'Cluster name, without "/": members of one cluster see only each other. Default `default`.',
        default: 'default',
      }),
    ),
    /** Key prefix; members live under `<prefix>/<cluster>/members/<name>`. Default `/systemge`. */
    prefix: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Key prefix; members live under `<prefix>/<cluster>/members/<name>`. Default `/systemge`.',
        default: '/systemge',
      }),
    ),
    /** Lease TTL, s: a member whose process died disappears this long after its last keep-alive. Default 10. */
    leaseTtlSeconds: Type.Optional(
      int(2, 2_147_483_647, 'Lease TTL, s: a member whose process died disappears this long after its last keep-alive. Default 10.', 10),
    ),
    /** Keep-alive period, ms. Default a third of the lease TTL. */
    keepAliveIntervalMs: Type.Optional(durationMs(100, 'Keep-alive period, ms. Default a third of the lease TTL.')),
    /** Timeout of one etcd request, ms. Default 5000. */
    requestTimeoutMs: Type.Optional(durationMs(10, 'Timeout of one etcd request, ms. Default 5000.')),
    /** Longest wait between reconnect attempts while etcd is unreachable, ms. Default 5000. */
    maxRetryDelayMs: Type.Optional(durationMs(10, 'Longest wait between reconnect attempts while etcd is unreachable, ms. Default 5000.')),
    /** TLS for `https://` endpoints; files relative to the configuration file. */
    tls: Type.Optional(EtcdTLSFileSchema),
    /** etcd user and password (etcd's auth enabled); write the password as `${NAME}` to read it from the environment. */
    auth: Type.Optional(
      strict(
        { username: text('etcd user name.'), password: Type.String({ description: 'Password of `username`.' }) },
        `etcd user and password (etcd's auth enabled); write the password as \`\${NAME}\` to read it from the environment.`,
      ),
    ),
    ...discoveryPolicyProperties,
  },
  'Discovery through etcd: the node registers under a lease and watches the members of its cluster.',
);

export const DNSDiscoveryFileSchema = strict(
  {
    /** Members are the records of a DNS name, re-resolved on an interval (`dnsDiscovery()` of `@systemge/discovery-dns`). */
    kind: Type.Literal('dns', {
      description: 'Members are the records of a DNS name, re-resolved on an interval (`dnsDiscovery()` of `@systemge/discovery-dns`).',
    }),
    /** The name to resolve: a headless service for A/AAAA, its SRV name (`_systemge._tcp.<service>`) for SRV. */
    name: text('The name to resolve: a headless service for A/AAAA, its SRV name (`_systemge._tcp.<service>`) for SRV.'),
    /** Record type. Default `A`. */
    type: Type.Optional(
      Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('A+AAAA'), Type.Literal('SRV')], {
        description: 'Record type. Default `A`.',
        default: 'A',
      }),
    ),
    /** The Systemge port of every member; required for A/AAAA (SRV records carry their own). */
    port: Type.Optional(int(1, 65535, 'The Systemge port of every member; required for A/AAAA (SRV records carry their own).')),
    /** DNS servers, `host` or `host:port` (`[::1]:5353` for IPv6). Default: the system's. */
    servers: Type.Optional(strings("DNS servers, `host` or `host:port` (`[::1]:5353` for IPv6). Default: the system's.")),
    /** Re-resolve period, ms. Default 5000. */
    intervalMs: Type.Optional(durationMs(10, 'Re-resolve period, ms. Default 5000.')),
    /** Timeout of one DNS query, ms (per try). Default 2000. */
    timeoutMs: Type.Optional(durationMs(1, 'Timeout of one DNS query, ms (per try). Default 2000.')),
    /** Tries per query. Default 2. */
    tries: Type.Optional(int(1, 100, 'Tries per query. Default 2.', 2)),
    ...discoveryPolicyProperties,
  },
  'Discovery from DNS records (a Kubernetes headless service); names come from the handshake.',
);

export const StaticMemberFileSchema = strict(
  {
    /** Host of the member. */
    host: text('Host of the member.'),
    /** Systemge port of the member. */
    port: int(1, 65535, 'Systemge port of the member.'),
    /** Node name, when known; else the handshake tells it. */
    name: Type.Optional(text('Node name, when known; else the handshake tells it.')),
    /** Topics the member serves (for `connectTo: { uses }`). Default: unknown. */
    topics: Type.Optional(strings('Topics the member serves (for `connectTo: { uses }`). Default: unknown.')),
    /** Free-form string metadata. */
    metadata: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Free-form string metadata.' })),
  },
  'One fixed member.',
);

export const StaticDiscoveryFileSchema = strict(
  {
    /** A fixed member list (`staticDiscovery()` of `@systemge/node`). */
    kind: Type.Literal('static', { description: 'A fixed member list (`staticDiscovery()` of `@systemge/node`).' }),
    /** The members; this node's own entry, if listed, is left out. */
    members: Type.Array(StaticMemberFileSchema, {
      minItems: 1,
      description: "The members; this node's own entry, if listed, is left out.",
      'x-systemge-items': 'members',
    }),
    ...discoveryPolicyProperties,
  },
  'Discovery from a fixed member list.',
);

export const DiscoveryFileSchema = Type.Union([EtcdDiscoveryFileSchema, DNSDiscoveryFileSchema, StaticDiscoveryFileSchema], {
  description:
    'Where the node finds its peers and announces itself: `{ "kind": "etcd", ... }`, `{ "kind": "dns", ... }` or `{ "kind": "static", ... }`, with `connectTo` choosing which members it dials.',
});

/** The fields a node entry adds to @systemge/node's configuration. */
const nodeFileProperties = {
  /**
   * Module whose default export is the application object or a factory `(context) => application`, relative to
   * this file
   */
  application: Type.Optional(file('Module whose default export is the application object or a factory `(context) => application`')),
  /** Free-form options given to the application factory. */
  options: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form options given to the application factory.' }),
  ),
  /** How connections are made: `{ "kind": "tcp" }` (default) or `{ "kind": "tls", ... }`. */
  transport: Type.Optional(TransportFileSchema),
  /** The node's HTTP component (`httpComponent()` of `@systemge/http`). */
  http: Type.Optional(HTTPFileSchema),
  /** The node's WebSocket component (`websocketComponent()` of `@systemge/websocket`). */
  websocket: Type.Optional(WebSocketFileSchema),
  /** Register with a dashboard running in another process. `transport` defaults to the transport of the node. */
  dashboard: Type.Optional(DashboardLinkFileSchema),
  /** Who may run this node's commands besides its own process. */
  commands: Type.Optional(CommandsFileSchema),
  /**
   * Where the node finds its peers and announces itself: `{ "kind": "etcd", ... }`, `{ "kind": "dns", ... }` or `{
   * "kind": "static", ... }`, with `connectTo` choosing which members it dials.
   */
  discovery: Type.Optional(DiscoveryFileSchema),
};

export const NodeFileSchema = Type.Object(
  { ...NodeConfigSchema.properties, ...nodeFileProperties },
  {
    additionalProperties: false,
    description: "One node: @systemge/node's configuration plus its application, transport and faces.",
  },
);

export const SystemgeFileSchema = Type.Object(
  {
    /** The JSON Schema of this file, for editors. */
    $schema: Type.Optional(Type.String({ description: 'The JSON Schema of this file, for editors.' })),
    /** The nodes to start, in this process. */
    nodes: Type.Array(NodeFileSchema, { minItems: 1, description: 'The nodes to start, in this process.', 'x-systemge-items': 'nodes' }),
    /** A dashboard served by this process, showing its nodes (and remote ones that register). */
    dashboard: Type.Optional(DashboardFileSchema),
  },
  {
    $id: 'https://systemge.dev/schema/systemge.schema.json',
    title: 'Systemge configuration file',
    description: `Nodes (and optionally a dashboard) started by \`systemge start\`. String values written as \${NAME} are read from the environment.`,
    additionalProperties: false,
  },
);

/** The names of the node entry fields that are @systemge/node's own (`discovery` only in part: see `DISCOVERY_POLICY_FIELDS`). */
export const NODE_FIELDS: readonly string[] = Object.keys(NodeConfigSchema.properties);

/** The fields of a node entry's `discovery` that are @systemge/node's own `discovery` config. */
export const DISCOVERY_POLICY_FIELDS: readonly string[] = Object.keys(DiscoveryConfigSchema.properties);

export type TransportFileConfig = Static<typeof TransportFileSchema>;
export type HTTPSFileConfig = Static<typeof HTTPSFileSchema>;
export type HTTPFileConfig = Static<typeof HTTPFileSchema>;
export type WebSocketFileConfig = Static<typeof WebSocketFileSchema>;
export type DashboardLinkFileConfig = Static<typeof DashboardLinkFileSchema>;
export type DashboardHTTPSFileConfig = Static<typeof DashboardHTTPSFileSchema>;
export type DashboardFileConfig = Static<typeof DashboardFileSchema>;
export type CommandsFileConfig = Static<typeof CommandsFileSchema>;
export type DiscoveryFileConfig = Static<typeof DiscoveryFileSchema>;
export type NodeFileConfig = Static<typeof NodeFileSchema>;
export type SystemgeFile = Omit<Static<typeof SystemgeFileSchema>, '$schema'>;
