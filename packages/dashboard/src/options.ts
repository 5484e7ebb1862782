import type { Registry } from 'prom-client';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { HeartbeatConfig, Logger } from '@systemge/node';
import type { ProtocolLimits, Transport } from '@systemge/protocol';
import { formatHost, isLoopbackHost } from '@systemge/access';
import { TOKEN_PATTERN } from './access.js';
import { DashboardOptionError, DashboardTokenRequiredError } from './errors.js';
import { DEFAULT_LIVE_FEED_LIMITS, type LiveFeedLimits } from './live-feed.js';

/** Where remote nodes reach the dashboard: its own Systemge node, which their `connectDashboard` links dial. */
export interface DashboardSystemgeOptions {
  /** Transport the links use, e.g. `tcpTransport()` or `tlsTransport(...)`. */
  transport: Transport;
  /** Interface to bind. Default: the dashboard's `host`. */
  host?: string;
  /** Port; 0 picks a free one (read it from `systemgeAddress`). Default 0. */
  port?: number;
  /** Name of the dashboard's Systemge node; no remote node may use it. Default `dashboard`. */
  name?: string;
  /** Liveness of the links: probe interval and dead-peer timeout, ms. Defaults 5000 / 15000 (the node's). */
  heartbeat?: HeartbeatConfig;
  /** Codec limits of the dashboard's Systemge node. Default: the protocol's. */
  limits?: Partial<ProtocolLimits>;
  /** How long a remote node may take to describe itself, ms. Default 5000. */
  describeTimeoutMs?: number;
  /** How long a remote node may take to answer a command, ms. Default 15000. */
  commandTimeoutMs?: number;
}

/** TLS of the dashboard's HTTP server: the page, the API, `/metrics` and `/ws` are served over HTTPS. */
export interface DashboardHTTPSOptions {
  /** PEM certificate chain of the server. */
  cert: string | Buffer;
  /** PEM private key of `cert`. */
  key: string | Buffer;
  /** Passphrase of an encrypted `key`. Default: none. */
  passphrase?: string;
  /** PEM CA certificate(s) that verify client certificates; required with `requestClientCert`. */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Mutual TLS: every client (browser, API client, WebSocket) must present a certificate that
   * `ca` verifies; others are refused in the TLS handshake, before any HTTP is read. Default false.
   */
  requestClientCert?: boolean;
  /** Lowest TLS version accepted. Default `'TLSv1.2'`. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** Options of `createDashboard`. */
export interface DashboardOptions {
  /** Interface the HTTP server binds. Anything but loopback requires `token`. Default `127.0.0.1`. */
  host?: string;
  /** HTTP port; 0 picks a free one (read it from `url`). Default 0. */
  port?: number;
  /** Serve HTTPS (optionally requiring client certificates) instead of HTTP. Default: plain HTTP. */
  https?: DashboardHTTPSOptions;
  /**
   * Token every API request, WebSocket client and remote node must present
   * (`Authorization: Bearer <token>`, the `systemge.bearer.<token>` WebSocket subprotocol, the
   * Systemge handshake). Required when `host` or `systemge.host` is not loopback. Characters:
   * letters, digits and ``!#$%&'*+.^_`|~-``. Never logged. Default: none.
   */
  token?: string;
  /**
   * Browser origins allowed to open `/ws` and to send requests, e.g. `['https://ops.example.com']`.
   * Default: only the dashboard's own origin.
   */
  allowedOrigins?: readonly string[];
  /** How often nodes are described and metrics pushed to WebSocket clients, ms. Default 1000. */
  metricsIntervalMs?: number;
  /**
   * The prom-client registry `/metrics` serves: the nodes' metrics are registered in it (prefix
   * `systemge_`, a `node` label), beside whatever the application registers. Default: a new one.
   */
  metricsRegistry?: Registry;
  /**
   * How far a `/ws` client may fall behind: it may go over `maxBufferedBytes` (4 MiB) of unsent data for a
   * burst; one that stays over it for `slowClientTimeoutMs` (5000), or whose unsent data a send would take
   * over `hardMaxBufferedBytes` (64 MiB, at least `maxBufferedBytes`), is disconnected.
   */
  liveFeed?: Partial<LiveFeedLimits>;
  /** Accept remote nodes over the Systemge protocol. Default: none (only nodes added with `addNode`). */
  systemge?: DashboardSystemgeOptions;
  /** Structured logger (pino-compatible); start/stop/command operations are logged at `info`. Default: silent. */
  logger?: Logger;
}

export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return formatHost(host);
}

const MIN_TLS_VERSIONS: readonly string[] = ['TLSv1.2', 'TLSv1.3'];

function isPEM(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0);
}

/** Checks `https` and turns it into the options of Node's `https.createServer`. */
function httpsServerOptions(https: DashboardHTTPSOptions): Record<string, unknown> {
  if (typeof https !== 'object' || https === null)
    throw new DashboardOptionError('https', 'an object { cert, key, ca?, requestClientCert? }');
  if (!isPEM(https.cert)) throw new DashboardOptionError('https.cert', 'a PEM certificate chain (string or Buffer)');
  if (!isPEM(https.key)) throw new DashboardOptionError('https.key', 'a PEM private key (string or Buffer)');
  const cas = https.ca === undefined ? [] : Array.isArray(https.ca) ? https.ca : [https.ca];
  if (cas.some((ca) => !isPEM(ca)))
    throw new DashboardOptionError('https.ca', 'PEM CA certificate(s) (string, Buffer or an array of them)');
  if (https.requestClientCert !== undefined && typeof https.requestClientCert !== 'boolean') {
    throw new DashboardOptionError('https.requestClientCert', 'true or false');
  }
  if (https.requestClientCert === true && cas.length === 0) {
    throw new DashboardOptionError('https.ca', 'set when https.requestClientCert is true (the CA that verifies client certificates)');
  }
  const minVersion = https.minVersion ?? 'TLSv1.2';
  if (!MIN_TLS_VERSIONS.includes(minVersion))
    throw new DashboardOptionError('https.minVersion', `"TLSv1.2" or "TLSv1.3", got ${String(minVersion)}`);
  const options: Record<string, unknown> = { cert: https.cert, key: https.key, minVersion };
  if (https.passphrase !== undefined) options.passphrase = https.passphrase;
  if (cas.length > 0) options.ca = cas;
  if (https.requestClientCert === true) {
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  // Certificates and keys are parsed now, so a bad one fails createDashboard rather than start().
  try {
    createSecureContext(options as SecureContextOptions);
  } catch (cause) {
    throw new DashboardOptionError('https', `a usable certificate, key and CA: ${(cause as Error).message}`, { cause });
  }
  return options;
}

function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DashboardOptionError(option, `an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/**
 * Runs every check `createDashboard` runs on `options`, without creating or binding anything, and
 * throws the same errors (`SYSTEMGE_ERR_DASHBOARD_TOKEN_REQUIRED`, `SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION`).
 * Returns the options of Node's `https.createServer` when `https` is set.
 */
export function checkDashboardOptions(options: DashboardOptions): Record<string, unknown> | undefined {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new DashboardOptionError('host', 'a non-empty string');
  checkInteger('port', options.port ?? 0, 0, 65535);
  checkInteger('metricsIntervalMs', options.metricsIntervalMs ?? 1000, 10, 3_600_000);
  const { token, systemge } = options;
  if (token !== undefined && (typeof token !== 'string' || !TOKEN_PATTERN.test(token))) {
    throw new DashboardOptionError('token', "a non-empty string of letters, digits and !#$%&'*+.^_`|~-");
  }
  if (token === undefined && !isLoopbackHost(host)) throw new DashboardTokenRequiredError(host, 'dashboard');
  if (systemge !== undefined) {
    const sysHost = systemge.host ?? host;
    if (typeof sysHost !== 'string' || sysHost === '') throw new DashboardOptionError('systemge.host', 'a non-empty string');
    if (token === undefined && !isLoopbackHost(sysHost)) throw new DashboardTokenRequiredError(sysHost, 'systemge');
    checkInteger('systemge.port', systemge.port ?? 0, 0, 65535);
    checkInteger('systemge.describeTimeoutMs', systemge.describeTimeoutMs ?? 5000, 1, 3_600_000);
    checkInteger('systemge.commandTimeoutMs', systemge.commandTimeoutMs ?? 15_000, 1, 3_600_000);
    if (typeof systemge.transport !== 'object' || systemge.transport === null) {
      throw new DashboardOptionError('systemge.transport', 'a Transport, e.g. tcpTransport()');
    }
  }
  liveFeedLimits(options.liveFeed);
  const allowedOrigins = options.allowedOrigins;
  if (allowedOrigins !== undefined && (!Array.isArray(allowedOrigins) || allowedOrigins.some((o) => typeof o !== 'string'))) {
    throw new DashboardOptionError('allowedOrigins', 'an array of origins such as "https://ops.example.com"');
  }
  return options.https === undefined ? undefined : httpsServerOptions(options.https);
}

/** `liveFeed` with its defaults, checked: `SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION` names a bad field. */
export function liveFeedLimits(given: Partial<LiveFeedLimits> | undefined): LiveFeedLimits {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new DashboardOptionError('liveFeed', 'an object { maxBufferedBytes?, slowClientTimeoutMs?, hardMaxBufferedBytes? }');
  }
  const maxBufferedBytes = given?.maxBufferedBytes ?? DEFAULT_LIVE_FEED_LIMITS.maxBufferedBytes;
  checkInteger('liveFeed.maxBufferedBytes', maxBufferedBytes, 1, Number.MAX_SAFE_INTEGER);
  const slowClientTimeoutMs = given?.slowClientTimeoutMs ?? DEFAULT_LIVE_FEED_LIMITS.slowClientTimeoutMs;
  checkInteger('liveFeed.slowClientTimeoutMs', slowClientTimeoutMs, 1, 2_147_483_647);
  const hardMaxBufferedBytes = given?.hardMaxBufferedBytes ?? Math.max(DEFAULT_LIVE_FEED_LIMITS.hardMaxBufferedBytes, maxBufferedBytes);
  checkInteger('liveFeed.hardMaxBufferedBytes', hardMaxBufferedBytes, maxBufferedBytes, Number.MAX_SAFE_INTEGER);
  return { maxBufferedBytes, slowClientTimeoutMs, hardMaxBufferedBytes };
}
