import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { isLoopbackHost, type NodeConfig, resolveNodeConfig } from '@systemge/node';
import type { HTTPComponentOptions } from '@systemge/http';
import type { Transport } from '@systemge/protocol';
import type { WebSocketComponentOptions } from '@systemge/websocket';
import { parse as parseYAML } from 'yaml';
import { ConfigFileError } from './errors.js';
import { preflight } from './system-parts.js';

/** `{ "kind": "tcp" }` or `{ "kind": "tls", ... }` with certificate files relative to the config file. */
export type TransportFileConfig =
  | { kind: 'tcp'; noDelay?: boolean; keepAliveMs?: number }
  | {
      kind: 'tls';
      certFile?: string;
      keyFile?: string;
      caFile?: string;
      requestClientCert?: boolean;
      rejectUnauthorized?: boolean;
      minVersion?: 'TLSv1.2' | 'TLSv1.3';
      handshakeTimeoutMs?: number;
    };

/** TLS files for HTTP or WebSocket servers. */
export interface HTTPSFileConfig {
  certFile: string;
  keyFile: string;
}

/** Options of the node's HTTP component, as `httpComponent()` of `@systemge/http` takes them, TLS from files. */
export type HTTPFileConfig = Pick<
  HTTPComponentOptions,
  | 'host'
  | 'port'
  | 'bodyLimit'
  | 'connectionTimeoutMs'
  | 'requestTimeoutMs'
  | 'headersTimeoutMs'
  | 'keepAliveTimeoutMs'
  | 'allow'
  | 'deny'
> & { https?: HTTPSFileConfig };

/** Options of the node's WebSocket component, as `websocketComponent()` of `@systemge/websocket` takes them, TLS from files. */
export type WebSocketFileConfig = Pick<
  WebSocketComponentOptions,
  | 'path'
  | 'host'
  | 'port'
  | 'binary'
  | 'maxMessageBytes'
  | 'messagesPerSecond'
  | 'messageBurst'
  | 'bytesPerSecond'
  | 'byteBurst'
  | 'onRateLimit'
  | 'pingIntervalMs'
  | 'maxBufferedBytes'
  | 'slowClientTimeoutMs'
  | 'hardMaxBufferedBytes'
  | 'origins'
  | 'allowMissingOrigin'
  | 'maxClients'
> & {
  /** Serve WebSocket on the node's HTTP port (needs `http`). Default false: its own port. */
  sharePort?: boolean;
  https?: HTTPSFileConfig;
};

/** A remote dashboard this node registers with. */
export interface DashboardLinkFileConfig {
  host: string;
  port: number;
  token?: string;
  /** Transport of the link. Default: the node's own `transport` (TLS when the node uses TLS). */
  transport?: TransportFileConfig;
  /** TLS server name of the dashboard, when it differs from `host`. */
  serverName?: string;
  /** Send `token` over plain TCP to a non-loopback host. Default false: refused. */
  allowInsecure?: boolean;
}

/** HTTPS of the dashboard: certificate files relative to the config file, optional client certificates. */
export interface DashboardHTTPSFileConfig {
  certFile: string;
  keyFile: string;
  /** CA that verifies client certificates; required with `requestClientCert`. */
  caFile?: string;
  /** Mutual TLS: refuse browsers and API clients without a certificate `caFile` verifies. Default false. */
  requestClientCert?: boolean;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** One node of a configuration file: the node's own config plus its application and faces. */
export interface NodeFileConfig extends Omit<NodeConfig, 'transport'> {
  /** Module (relative to the config file) whose default export is the application object or a factory of it. */
  application?: string;
  /** Free-form options given to the application factory. */
  options?: Record<string, unknown>;
  transport?: TransportFileConfig;
  http?: HTTPFileConfig;
  websocket?: WebSocketFileConfig;
  /** Register with a dashboard running in another process. */
  dashboard?: DashboardLinkFileConfig;
  /** Who may run this node's commands besides its own process. */
  commands?: CommandsFileConfig;
}

/**
 * Commands from peers over the node's Systemge port (`systemge command --node`, `systemge repl --node`).
 * Off unless `remote: true`; see `remoteCommands()` of `@systemge/node`.
 */
export interface CommandsFileConfig {
  /** Run commands for peers that passed the handshake. Default false. */
  remote?: boolean;
  /** Only these peer names (give each its own token in `auth.peerTokens`). Default: every authenticated peer. */
  peers?: string[];
  /** Only these commands. Default: all. */
  allow?: string[];
  /** Accept commands on a non-loopback host without `auth.token` / `auth.peerTokens` (TLS client certificates). Default false. */
  allowUnauthenticated?: boolean;
}

/** A dashboard served by this process, showing its nodes (and remote ones that register). */
export interface DashboardFileConfig {
  host?: string;
  port?: number;
  token?: string;
  allowedOrigins?: string[];
  metricsIntervalMs?: number;
  /** Serve the page, API and `/ws` over HTTPS. Default: plain HTTP. */
  https?: DashboardHTTPSFileConfig;
  /** Where nodes of other processes register. Default: 127.0.0.1, any free port, plain TCP. */
  systemge?: { host?: string; port?: number; transport?: TransportFileConfig };
}

/** A whole configuration file. */
export interface SystemgeFile {
  nodes: NodeFileConfig[];
  dashboard?: DashboardFileConfig;
}

/** A validated file, with the absolute paths it refers to. */
export interface LoadedConfig {
  file: string;
  dir: string;
  config: SystemgeFile;
}

type Check = (value: unknown, path: string) => void;

class Checker {
  constructor(readonly file: string, readonly dir: string) {}

  fail(path: string, message: string): never {
    throw new ConfigFileError(this.file, path, message);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const NODE_FIELDS = [
  'name',
  'listen',
  'endpoints',
  'limits',
  'handling',
  'sync',
  'connection',
  'heartbeat',
  'shutdownTimeoutMs',
  'auth',
  'access',
  'rateLimits',
] as const;
const FILE_NODE_FIELDS = ['application', 'options', 'transport', 'http', 'websocket', 'dashboard', 'commands'] as const;

/** A transport stand-in so the node validator can check listen/endpoint rules without building one. */
const placeholderTransport: Transport = {
  name: 'placeholder',
  listen: () => Promise.reject(new Error('placeholder')),
  dial: () => Promise.reject(new Error('placeholder')),
};

/** Replaces string values of the form `${NAME}` with environment variables. */
function substituteEnv(value: unknown, path: string, c: Checker, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') {
    const match = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (match === null) return value;
    const name = match[1] as string;
    const replacement = Object.hasOwn(env, name) ? env[name] : undefined;
    if (replacement === undefined) c.fail(path, `environment variable ${name} is not set`);
    return replacement;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, `${path}[${i}]`, c, env));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties: a `__proto__` key stays a field (and is refused as unknown).
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, path === '' ? k : `${path}.${k}`, c, env)]));
  }
  return value;
}

/** Longest delay a Node timer holds, ms; the HTTP and WebSocket components refuse longer times. */
const MAX_TIMER_MS = 2_147_483_647;

function checkObject(c: Checker, value: unknown, path: string, fields: Record<string, Check>, required: string[] = []): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) c.fail(path, `expected an object, got ${describe(value)}`);
  for (const name of required) {
    if (!(name in value)) c.fail(path === '' ? name : `${path}.${name}`, 'required field is missing');
  }
  for (const [key, v] of Object.entries(value)) {
    const sub = path === '' ? key : `${path}.${key}`;
    const check = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (check === undefined) c.fail(sub, `unknown field; known fields: ${Object.keys(fields).join(', ')}`);
    check(v, sub);
  }
}

function makeChecks(c: Checker) {
  const str: Check = (v, p) => {
    if (typeof v !== 'string' || v.length === 0) c.fail(p, `expected a non-empty string, got ${describe(v)}`);
  };
  const bool: Check = (v, p) => {
    if (typeof v !== 'boolean') c.fail(p, `expected true or false, got ${describe(v)}`);
  };
  const int =
    (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
    (v, p) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        c.fail(p, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
      }
    };
  const oneOf =
    (...values: string[]): Check =>
    (v, p) => {
      if (typeof v !== 'string' || !values.includes(v)) {
        c.fail(p, `expected one of ${values.map((x) => `"${x}"`).join(', ')}, got ${describe(v)}`);
      }
    };
  const strings: Check = (v, p) => {
    if (!Array.isArray(v)) c.fail(p, `expected an array of strings, got ${describe(v)}`);
    v.forEach((s, i) => str(s, `${p}[${i}]`));
  };
  const file: Check = (v, p) => {
    str(v, p);
    const full = resolve(c.dir, v as string);
    if (!existsSync(full) || !statSync(full).isFile()) c.fail(p, `file not found: ${full}`);
  };
  const https: Check = (v, p) => checkObject(c, v, p, { certFile: file, keyFile: file }, ['certFile', 'keyFile']);
  const port = int(0, 65535);
  return { str, bool, int, oneOf, strings, file, https, port };
}

function checkNode(c: Checker, node: unknown, path: string): void {
  const k = makeChecks(c);
  if (typeof node !== 'object' || node === null || Array.isArray(node)) c.fail(path, `expected a node object, got ${describe(node)}`);
  const record = node as Record<string, unknown>;
  if (!('name' in record)) c.fail(`${path}.name`, 'required field is missing');
  const known = new Set<string>([...NODE_FIELDS, ...FILE_NODE_FIELDS]);
  for (const key of Object.keys(record)) {
    if (!known.has(key)) c.fail(`${path}.${key}`, `unknown field; known fields: ${[...known].join(', ')}`);
  }
  const nodeConfig: Record<string, unknown> = {};
  for (const key of NODE_FIELDS) if (record[key] !== undefined) nodeConfig[key] = record[key];
  try {
    resolveNodeConfig({ ...(nodeConfig as unknown as NodeConfig), transport: placeholderTransport });
  } catch (error) {
    const e = error as { code?: string; path?: string; message: string };
    if (e.code !== 'SYSTEMGE_ERR_INVALID_CONFIG' && e.code !== 'SYSTEMGE_ERR_INVALID_LIMITS') throw error;
    const detail = e.message.replace(/^invalid config at [^:]*: /, '');
    c.fail(e.path === undefined || e.path === '' ? path : `${path}.${e.path}`, detail);
  }
  if (record.application !== undefined) k.file(record.application, `${path}.application`);
  if (record.options !== undefined && (typeof record.options !== 'object' || record.options === null || Array.isArray(record.options))) {
    c.fail(`${path}.options`, `expected an object, got ${describe(record.options)}`);
  }
  if (record.transport !== undefined) checkTransport(c, record.transport, `${path}.transport`, record.listen !== false);
  if (record.http !== undefined) {
    checkObject(c, record.http, `${path}.http`, {
      host: k.str, port: k.port, bodyLimit: k.int(1), connectionTimeoutMs: k.int(0, MAX_TIMER_MS), requestTimeoutMs: k.int(0, MAX_TIMER_MS),
      headersTimeoutMs: k.int(0, MAX_TIMER_MS), keepAliveTimeoutMs: k.int(0, MAX_TIMER_MS), allow: k.strings, deny: k.strings, https: k.https,
    });
  }
  if (record.websocket !== undefined) {
    const ws = record.websocket as Record<string, unknown>;
    checkObject(c, ws, `${path}.websocket`, {
      sharePort: k.bool, path: k.str, host: k.str, port: k.port, binary: k.bool, maxMessageBytes: k.int(1),
      messagesPerSecond: k.int(0), messageBurst: k.int(1), bytesPerSecond: k.int(0), byteBurst: k.int(1),
      onRateLimit: k.oneOf('error', 'close'), pingIntervalMs: k.int(0, MAX_TIMER_MS), maxBufferedBytes: k.int(1),
      slowClientTimeoutMs: k.int(1, MAX_TIMER_MS), hardMaxBufferedBytes: k.int(1),
      origins: k.strings, allowMissingOrigin: k.bool, maxClients: k.int(1), https: k.https,
    });
    if (ws.sharePort === true && record.http === undefined) c.fail(`${path}.websocket.sharePort`, 'needs an "http" section on the same node');
    if (ws.sharePort === true && (ws.port !== undefined || ws.host !== undefined)) {
      c.fail(`${path}.websocket.port`, 'not allowed with sharePort: the HTTP port is used');
    }
  }
  if (record.commands !== undefined) {
    checkObject(c, record.commands, `${path}.commands`, { remote: k.bool, peers: k.strings, allow: k.strings, allowUnauthenticated: k.bool });
    const commands = record.commands as CommandsFileConfig;
    const listen = record.listen as { host?: unknown } | false | undefined;
    const host = listen === false ? undefined : typeof listen?.host === 'string' ? listen.host : '127.0.0.1';
    const auth = record.auth as { token?: unknown; peerTokens?: Record<string, unknown>; requireCertificateName?: unknown } | undefined;
    const tokens = auth?.token !== undefined || Object.keys(auth?.peerTokens ?? {}).length > 0 || auth?.requireCertificateName === true;
    if (commands.remote === true && host !== undefined && !isLoopbackHost(host) && !tokens && commands.allowUnauthenticated !== true) {
      c.fail(
        `${path}.commands.remote`,
        `any peer that reaches ${host} could run this node's commands: set auth.token (or auth.peerTokens, or auth.requireCertificateName with TLS client certificates), listen on a loopback host, ` +
          'or set commands.allowUnauthenticated: true when the TLS transport verifies client certificates',
      );
    }
  }
  if (record.dashboard !== undefined) {
    checkObject(
      c,
      record.dashboard,
      `${path}.dashboard`,
      {
        host: k.str, port: k.int(1, 65535), token: k.str, serverName: k.str, allowInsecure: k.bool,
        transport: (v, p) => checkTransport(c, v, p, false),
      },
      ['host', 'port'],
    );
  }
}

/** `{ kind: 'tcp' | 'tls', ... }`; a listening TLS transport needs its certificate and key. */
function checkTransport(c: Checker, value: unknown, path: string, listening: boolean): void {
  const k = makeChecks(c);
  checkObject(c, value, path, { kind: k.oneOf('tcp', 'tls'), noDelay: k.bool, keepAliveMs: k.int(0), certFile: k.file, keyFile: k.file, caFile: k.file, requestClientCert: k.bool, rejectUnauthorized: k.bool, minVersion: k.oneOf('TLSv1.2', 'TLSv1.3'), handshakeTimeoutMs: k.int(1) }, ['kind']);
  const t = value as Record<string, unknown>;
  const tlsOnly = ['certFile', 'keyFile', 'caFile', 'requestClientCert', 'rejectUnauthorized', 'minVersion', 'handshakeTimeoutMs'];
  for (const key of t.kind === 'tcp' ? tlsOnly : ['noDelay', 'keepAliveMs']) {
    if (key in t) c.fail(`${path}.${key}`, `not an option of "kind": "${String(t.kind)}"`);
  }
  if (t.kind === 'tls' && listening && (t.certFile === undefined || t.keyFile === undefined)) {
    c.fail(path, 'a listening TLS node needs certFile and keyFile');
  }
}

/** Validates parsed file content. Errors name the file, the field path and what was expected. */
export function validateConfig(data: unknown, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const dir = dirname(resolve(file));
  const c = new Checker(file, dir);
  const k = makeChecks(c);
  const content = substituteEnv(data, '', c, env);
  checkObject(
    c,
    content,
    '',
    {
      $schema: () => {},
      nodes: (v, p) => {
        if (!Array.isArray(v) || v.length === 0) c.fail(p, `expected a non-empty array of nodes, got ${describe(v)}`);
        (v as unknown[]).forEach((n, i) => checkNode(c, n, `${p}[${i}]`));
      },
      dashboard: (v, p) =>
        checkObject(c, v, p, {
          host: k.str, port: k.port, token: k.str, allowedOrigins: k.strings, metricsIntervalMs: k.int(10),
          https: (h, hp) =>
            checkObject(c, h, hp, { certFile: k.file, keyFile: k.file, caFile: k.file, requestClientCert: k.bool, minVersion: k.oneOf('TLSv1.2', 'TLSv1.3') }, ['certFile', 'keyFile']),
          systemge: (s, sp) =>
            checkObject(c, s, sp, { host: k.str, port: k.port, transport: (t, tp) => checkTransport(c, t, tp, true) }),
        }),
    },
    ['nodes'],
  );
  const config = content as SystemgeFile & { $schema?: string };
  const seen = new Map<string, number>();
  config.nodes.forEach((node, i) => {
    const first = seen.get(node.name);
    if (first !== undefined) c.fail(`nodes[${i}].name`, `duplicate node name "${node.name}" (also nodes[${first}].name)`);
    seen.set(node.name, i);
  });
  const ports = new Map<number, string>();
  const claim = (port: number | undefined, path: string): void => {
    if (port === undefined || port === 0) return;
    const other = ports.get(port);
    if (other !== undefined) c.fail(path, `port ${port} is also used by ${other}`);
    ports.set(port, path);
  };
  config.nodes.forEach((node, i) => {
    if (node.listen !== false) claim(node.listen?.port, `nodes[${i}].listen.port`);
    claim(node.http?.port, `nodes[${i}].http.port`);
    if (node.websocket?.sharePort !== true) claim(node.websocket?.port, `nodes[${i}].websocket.port`);
  });
  claim(config.dashboard?.port, 'dashboard.port');
  claim(config.dashboard?.systemge?.port, 'dashboard.systemge.port');
  delete config.$schema;
  const loaded = { file, dir, config };
  preflight(loaded);
  return loaded;
}

/** Reads and validates a JSON or YAML configuration file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const full = isAbsolute(file) ? file : resolve(file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (cause) {
    throw new ConfigFileError(file, '', `cannot read the file: ${(cause as Error).message}`);
  }
  let data: unknown;
  const yaml = ['.yaml', '.yml'].includes(extname(full).toLowerCase());
  try {
    data = yaml ? parseYAML(text) : JSON.parse(text);
  } catch (cause) {
    throw new ConfigFileError(file, '', `not valid ${yaml ? 'YAML' : 'JSON'}: ${(cause as Error).message.split('\n')[0]}`);
  }
  const loaded = validateConfig(data, full, env);
  return { ...loaded, file };
}
