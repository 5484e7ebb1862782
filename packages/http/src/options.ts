import type { FastifyInstance } from 'fastify';
import { HTTPConfigError } from './http-errors.js';

/** Server certificate for https. */
export interface HTTPSOptions {
  /** PEM certificate chain. */
  cert: string | Buffer;
  /** PEM private key. */
  key: string | Buffer;
  /** Passphrase of `key`, if it is encrypted. */
  passphrase?: string;
  /** PEM CA certificates to request and verify client certificates against (with `requestCert`). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Ask clients for a certificate. Default false. */
  requestCert?: boolean;
}

export interface HTTPComponentOptions {
  /** Plugin name, unique within a node; also prefixes the commands (`http:routes`). Default `'http'`. */
  name?: string;
  /** Listen address. Default `'127.0.0.1'`. Ignored with `fastify`. */
  host?: string;
  /** Listen port; 0 picks a free one (read it back from `address`). Default 0. Ignored with `fastify`. */
  port?: number;
  /** Largest request body accepted, bytes; larger bodies get 413. Default 1048576 (1 MiB). */
  bodyLimit?: number;
  /** Closes a socket idle for this long, ms; 0 = never. Default 0. Ignored with `fastify`. Times: at most 2147483647 ms. */
  connectionTimeoutMs?: number;
  /** Time allowed to receive a whole request, ms; 0 = unlimited. Default 30000. Ignored with `fastify`. */
  requestTimeoutMs?: number;
  /** Time allowed to receive the request headers, ms (slow-header defence); 0 = unlimited. Default 10000. Ignored with `fastify`. */
  headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, ms; 0 = no keep-alive timeout. Default 72000. Ignored with `fastify`. */
  keepAliveTimeoutMs?: number;
  /** Waiting for in-flight requests at stop, ms, before open connections are cut; 0 = cut at once. Default 5000. */
  closeTimeoutMs?: number;
  /** Addresses and CIDR blocks allowed to connect; empty = everyone not denied. Editable via `allowList`. Default `[]`. */
  allow?: readonly string[];
  /** Addresses and CIDR blocks refused with 403 (checked before `allow`). Editable via `denyList`. Default `[]`. */
  deny?: readonly string[];
  /** Serve https with this certificate and key. Default: plain http. Not with `fastify`. */
  https?: HTTPSOptions;
  /**
   * Serve on an existing Fastify instance (not yet listening) instead of opening a port. The component
   * adds its routes in its own scope and never listens on or closes the instance: its owner does.
   */
  fastify?: FastifyInstance<any, any, any, any, any>;
}

function nonNegativeInt(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new HTTPConfigError(option, `expected a non-negative integer, got ${value}`);
  return value;
}

/** Longest delay Node timers honour; a longer one fires after 1 ms with a `TimeoutOverflowWarning`. */
const MAX_TIMER_MS = 2_147_483_647;

/** A time option in ms: a whole number from 0 (`zero` says what 0 means) to `MAX_TIMER_MS`. */
function duration(value: number | undefined, fallback: number, option: string, zero: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new HTTPConfigError(option, `expected an integer from 0 (${zero}) to ${MAX_TIMER_MS} ms, got ${String(value)}`);
  }
  return value;
}

export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export interface ResolvedOptions {
  name: string;
  host: string;
  port: number;
  bodyLimit: number;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  closeTimeoutMs: number;
}

export function resolveOptions(options: HTTPComponentOptions): ResolvedOptions {
  const port = nonNegativeInt(options.port, 0, 'port');
  if (port > 65535) throw new HTTPConfigError('port', `expected 0-65535, got ${port}`);
  const bodyLimit = nonNegativeInt(options.bodyLimit, 1048576, 'bodyLimit');
  if (bodyLimit === 0) throw new HTTPConfigError('bodyLimit', 'must be at least 1 byte');
  const requestTimeoutMs = duration(options.requestTimeoutMs, 30000, 'requestTimeoutMs', 'unlimited');
  const headersTimeoutMs = duration(
    options.headersTimeoutMs,
    requestTimeoutMs === 0 ? 10000 : Math.min(10000, requestTimeoutMs),
    'headersTimeoutMs',
    'unlimited',
  );
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    throw new HTTPConfigError('headersTimeoutMs', `${headersTimeoutMs} must not exceed requestTimeoutMs (${requestTimeoutMs})`);
  }
  if (options.https !== undefined && options.fastify !== undefined) {
    throw new HTTPConfigError('https', 'cannot be combined with fastify (configure TLS on that instance)');
  }
  if (options.https !== undefined && (options.https.cert === undefined || options.https.key === undefined)) {
    throw new HTTPConfigError('https', 'needs both cert and key');
  }
  const name = options.name ?? 'http';
  if (name === '') throw new HTTPConfigError('name', 'must not be empty');
  return {
    name,
    host: options.host ?? '127.0.0.1',
    port,
    bodyLimit,
    connectionTimeoutMs: duration(options.connectionTimeoutMs, 0, 'connectionTimeoutMs', 'never'),
    requestTimeoutMs,
    headersTimeoutMs,
    keepAliveTimeoutMs: duration(options.keepAliveTimeoutMs, 72000, 'keepAliveTimeoutMs', 'no keep-alive timeout'),
    closeTimeoutMs: duration(options.closeTimeoutMs, 5000, 'closeTimeoutMs', 'cut at once'),
  };
}
