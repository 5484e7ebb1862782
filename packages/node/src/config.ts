import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type ProtocolLimits, resolveLimits, type Transport } from '@systemge/protocol';
import { type AccessControlConfig, AddressList } from './connect/access-control.js';
import {
  type AccessSchema,
  type AuthSchema,
  type ConnectionSchema,
  type EndpointSchema,
  type HandlingModeSchema,
  type HandlingSchema,
  type DiscoveryConfigSchema,
  type HeartbeatSchema,
  type LimitsSchema,
  type ListenSchema,
  type RateLimitsSchema,
  type SyncSchema,
  NodeConfigSchema,
  nodeConfigProperties,
} from './config-schema.js';
import { describeValue, joinPath, schemaIssues } from './config-validation.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { RateLimitConfig } from './messaging/rate-limits.js';

/*
 * Types, defaults and validation all come from the schemas in ./config-schema.ts; each option's
 * unit, range and default are in its `description` there (and in the published JSON Schema).
 */

/** A peer to dial. */
export type EndpointConfig = Static<typeof EndpointSchema>;
/** Handshake authentication. Tokens are compared in constant time and never logged. */
export type AuthConfig = Static<typeof AuthSchema>;
/** Where this node accepts peers. */
export type ListenConfig = Static<typeof ListenSchema>;
/**
 * How incoming messages are handed to handlers.
 * - `concurrent`: each message starts its handler at once; at most `concurrency` unfinished handlers per connection.
 * - `sequential-connection`: one handler at a time per connection, in arrival order.
 * - `sequential-node`: one handler at a time for the whole node, in arrival order.
 * In every mode a full queue pauses reading from the sending connection (backpressure); nothing is dropped.
 */
export type HandlingMode = Static<typeof HandlingModeSchema>;
export type HandlingConfig = Static<typeof HandlingSchema>;
export type SyncConfig = Static<typeof SyncSchema>;
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
export type ConnectionConfig = Static<typeof ConnectionSchema>;
export type HeartbeatConfig = Static<typeof HeartbeatSchema>;
/** How the node acts on discovered members: `connectTo`, `advertiseHost`, `advertisePort`. */
export type DiscoveryConfig = Static<typeof DiscoveryConfigSchema>;

/** Everything about one node. Plain data, loadable from JSON (see `NodeConfigSchema`), except `transport`. */
export type NodeConfig = Static<typeof NodeConfigSchema> & {
  /** Makes connections, e.g. `tcpTransport()`. Required when the node listens or has endpoints. */
  transport?: Transport;
};

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
  discovery: DiscoveryConfig;
}

/* The schemas and the interfaces other parts declare (and the codec's limits) stay the same shape. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: [
  Same<Static<typeof AccessSchema>, AccessControlConfig>,
  Same<Static<typeof RateLimitsSchema>, RateLimitConfig>,
  Same<Static<typeof LimitsSchema>, Partial<ProtocolLimits>>,
] = [true, true, true];
void sameShape;

/** What createNode validates: the data schema plus `transport`, which code checks. */
const RuntimeConfigSchema = Type.Object(
  { ...nodeConfigProperties, transport: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (v: unknown, key: string): unknown => (isRecord(v) && Object.hasOwn(v, key) ? v[key] : undefined);

/**
 * The rules that span fields or need code, checked after the schema on whatever the schema did not
 * already refuse: transport shape and presence, name length against `limits.maxNodeNameBytes`,
 * buffer and heartbeat orderings, address syntax.
 */
function crossFieldIssues(config: Record<string, unknown>, found: ConfigIssue[], requireTransport: boolean): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const bad = (path: string): boolean =>
    found.some((i) => i.path === path || i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`));
  const fail = (path: string, message: string): void => {
    out.push({ path, message });
  };
  const transport = config.transport as Partial<Transport> | undefined;
  if (transport !== undefined && (!isRecord(transport) || typeof transport.listen !== 'function' || typeof transport.dial !== 'function')) {
    fail('transport', 'expected a Transport (an object with listen() and dial()), e.g. tcpTransport()');
  }
  if (!bad('name') && !bad('limits')) {
    const limits = resolveLimits(own(config, 'limits') as Partial<ProtocolLimits> | undefined);
    const nameBytes = Buffer.byteLength(config.name as string, 'utf8');
    if (nameBytes > limits.maxNodeNameBytes) {
      fail('name', `${nameBytes} bytes exceeds limits.maxNodeNameBytes ${limits.maxNodeNameBytes}`);
    }
  }
  const listens = own(config, 'listen') !== false;
  const endpoints = own(config, 'endpoints');
  if (requireTransport && transport === undefined && (listens || (Array.isArray(endpoints) && endpoints.length > 0))) {
    fail('transport', 'required when the node listens or has endpoints (e.g. tcpTransport() from @systemge/transport-tcp)');
  }
  const connection = own(config, 'connection');
  if (!bad('connection.highWaterMark') && !bad('connection.maxBufferedBytes')) {
    const highWaterMark = (own(connection, 'highWaterMark') as number | undefined) ?? 1024 * 1024;
    const maxBufferedBytes = (own(connection, 'maxBufferedBytes') as number | undefined) ?? 64 * 1024 * 1024;
    if (maxBufferedBytes < highWaterMark)
      fail('connection.maxBufferedBytes', `must be at least connection.highWaterMark (${highWaterMark})`);
  }
  if (!bad('limits') && !bad('access.maxPendingHandshakeBytes')) {
    const limits = resolveLimits(own(config, 'limits') as Partial<ProtocolLimits> | undefined);
    const handshakeFrameBytes = Math.min(limits.maxHandshakeFrameBytes, limits.maxFrameBytes);
    const pendingBytes = (own(own(config, 'access'), 'maxPendingHandshakeBytes') as number | undefined) ?? 8 * 1024 * 1024;
    if (pendingBytes < handshakeFrameBytes) {
      fail(
        'access.maxPendingHandshakeBytes',
        `must be at least limits.maxHandshakeFrameBytes (${handshakeFrameBytes}): each pending handshake may hold that much`,
      );
    }
  }
  const heartbeat = own(config, 'heartbeat');
  if (!bad('heartbeat.intervalMs') && !bad('heartbeat.timeoutMs')) {
    const intervalMs = (own(heartbeat, 'intervalMs') as number | undefined) ?? 5000;
    const timeoutMs = (own(heartbeat, 'timeoutMs') as number | undefined) ?? 15_000;
    if (intervalMs > 0 && timeoutMs <= intervalMs) fail('heartbeat.timeoutMs', `must be greater than heartbeat.intervalMs (${intervalMs})`);
  }
  for (const list of ['allow', 'deny'] as const) {
    const entries = own(own(config, 'access'), list);
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry, i) => {
      const path = joinPath(`access.${list}`, i);
      if (typeof entry !== 'string' || bad(path)) return;
      try {
        new AddressList([entry], path);
      } catch (error) {
        if (error instanceof ConfigError) fail(path, error.issues[0]?.message ?? error.message);
        else throw error;
      }
    });
  }
  return out;
}

/** Every problem of `config`: schema issues first, then the cross-field rules. */
function nodeConfigIssues(config: unknown, requireTransport: boolean): ConfigIssue[] {
  if (!isRecord(config)) return [{ path: '', message: `expected an object, got ${describeValue(config)}` }];
  const issues = schemaIssues(RuntimeConfigSchema, config);
  return [...issues, ...crossFieldIssues(config, issues, requireTransport)];
}

/** A deep copy of plain data whose keys all stay own fields (`__proto__` included). */
function copyData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyData);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyData(v)]));
  return value;
}

/**
 * Validates a node config and fills in the defaults.
 * Throws `SYSTEMGE_ERR_INVALID_CONFIG` listing every problem (`issues`), each with its exact field
 * path; `path` is the first one's.
 */
export function resolveNodeConfig(config: NodeConfig): ResolvedNodeConfig {
  const issues = nodeConfigIssues(config, true);
  if (issues.length > 0) throw ConfigError.of(issues);
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) if (key !== 'transport') data[key] = copyData(value);
  const filled = Value.Default(NodeConfigSchema, data) as Required<Static<typeof NodeConfigSchema>>;
  return {
    name: filled.name,
    transport: config.transport,
    listen: filled.listen as Required<ListenConfig> | false,
    endpoints: filled.endpoints,
    limits: resolveLimits(filled.limits),
    handling: filled.handling as Required<HandlingConfig>,
    sync: filled.sync as Required<SyncConfig>,
    connection: filled.connection as Required<ConnectionConfig>,
    heartbeat: filled.heartbeat as Required<HeartbeatConfig>,
    shutdownTimeoutMs: filled.shutdownTimeoutMs,
    auth: filled.auth ?? {},
    access: filled.access as Required<AccessControlConfig>,
    rateLimits: filled.rateLimits as Required<RateLimitConfig>,
    discovery: filled.discovery,
  };
}

/**
 * Every problem of a node config read from a file (no `transport`: the caller adds it), each with
 * its field path. Empty when the config is valid.
 */
export function nodeConfigDataIssues(data: unknown): ConfigIssue[] {
  return nodeConfigIssues(data, false);
}

/**
 * Reads a node config from a JSON file and validates it (without `transport`, which the caller adds).
 * Errors name the file and list every field path at fault.
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
  const issues = nodeConfigIssues(data, false);
  if (issues.length > 0) throw ConfigError.of(issues, `${file}: `);
  return data as NodeConfig;
}
