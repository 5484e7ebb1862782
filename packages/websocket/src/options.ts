import type { FastifyInstance } from 'fastify';
import { WebSocketConfigError } from './websocket-errors.js';

/** What the component needs from an HTTP component to share its port (`@systemge/http` fits). */
export interface WebSocketHTTPHost {
  readonly name: string;
  readonly url: string | undefined;
  register(mount: (scope: FastifyInstance) => void | Promise<void>): () => void;
}

/** Server certificate for wss. */
export interface WebSocketTLSOptions {
  /** PEM certificate chain. */
  cert: string | Buffer;
  /** PEM private key. */
  key: string | Buffer;
  /** Passphrase of `key`, if it is encrypted. */
  passphrase?: string;
}

export interface WebSocketComponentOptions {
  /** Plugin name, unique within a node; also prefixes the commands (`websocket:clients`). Default `'websocket'`. */
  name?: string;
  /** Serve on this HTTP component's port (it must not have started yet) instead of opening one. Default: own port. */
  http?: WebSocketHTTPHost;
  /** URL path of the endpoint. Default `'/ws'`. */
  path?: string;
  /** Listen address of the own server. Default `'127.0.0.1'`. Ignored with `http`. */
  host?: string;
  /** Listen port of the own server; 0 picks a free one. Default 0. Ignored with `http`. */
  port?: number;
  /** Serve wss with this certificate. Default: plain ws. Ignored with `http` (configure TLS there). */
  https?: WebSocketTLSOptions;
  /** Also accept msgpack binary frames (`{ topic, payload }` as a msgpack map). Default false. */
  binary?: boolean;
  /** Largest message a client may send, bytes; a larger one closes the client with 1009. Default 65536. */
  maxMessageBytes?: number;
  /** Messages a client may send per second, 0 = unlimited. Default 100. */
  messagesPerSecond?: number;
  /** Messages a client may send in a burst. Default `messagesPerSecond`. */
  messageBurst?: number;
  /** Bytes a client may send per second, 0 = unlimited. Default 1048576 (1 MiB). */
  bytesPerSecond?: number;
  /** Bytes a client may send in a burst (at least `maxMessageBytes`). Default `max(bytesPerSecond, maxMessageBytes)`. */
  byteBurst?: number;
  /** Over a rate limit: `'error'` drops the message and answers an error message; `'close'` closes with 1008. Default `'error'`. */
  onRateLimit?: 'error' | 'close';
  /** Pings every client this often, ms; one that has not answered by the next ping is terminated. 0 = off. Default 30000, at most 2147483647. */
  pingIntervalMs?: number;
  /**
   * Soft limit on a client's unsent bytes. A client may go over it for a burst; one whose unsent data
   * stays over it for `slowClientTimeoutMs` is disconnected (1008). Default 4194304 (4 MiB).
   */
  maxBufferedBytes?: number;
  /** How long a client's unsent data may stay over `maxBufferedBytes` before it is disconnected, ms. Default 5000, at most 2147483647. */
  slowClientTimeoutMs?: number;
  /**
   * Hard limit on a client's unsent bytes: a send that would go over it disconnects the client (1008) at
   * once, whatever the timeout. At least `maxBufferedBytes`. Default `16 × maxBufferedBytes` (64 MiB).
   */
  hardMaxBufferedBytes?: number;
  /** Allowed `Origin` values (`'https://app.example.com'`); others are refused with 403 before the upgrade. Default: any. */
  origins?: readonly string[];
  /** With `origins`, whether a request without an `Origin` header (not from a browser) is let in. Default true. */
  allowMissingOrigin?: boolean;
  /** Most clients at once; more are refused with 503 before the upgrade. Default 10000. */
  maxClients?: number;
  /** At stop, how long clients get to answer the close frame, ms, before they are cut off; 0 = cut off at once. Default 1000, at most 2147483647. */
  closeTimeoutMs?: number;
}

export interface ResolvedOptions {
  name: string;
  path: string;
  host: string;
  port: number;
  binary: boolean;
  maxMessageBytes: number;
  messagesPerSecond: number;
  messageBurst: number;
  bytesPerSecond: number;
  byteBurst: number;
  onRateLimit: 'error' | 'close';
  pingIntervalMs: number;
  maxBufferedBytes: number;
  slowClientTimeoutMs: number;
  hardMaxBufferedBytes: number;
  origins: Set<string> | undefined;
  allowMissingOrigin: boolean;
  maxClients: number;
  closeTimeoutMs: number;
}

function int(value: number | undefined, fallback: number, option: string, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new WebSocketConfigError(option, `expected an integer >= ${min}, got ${value}`);
  return value;
}

/** Longest delay Node timers honour; a longer one fires after 1 ms with a `TimeoutOverflowWarning`. */
const MAX_TIMER_MS = 2_147_483_647;

/** A duration option in ms: an integer from `min` to `MAX_TIMER_MS` (`zero` says what 0 means, if allowed). */
function duration(value: number | undefined, fallback: number, option: string, min: 0 | 1, zero = 'off'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    const range = min === 0 ? `0 (${zero}) to ${MAX_TIMER_MS} ms` : `1 to ${MAX_TIMER_MS} ms`;
    throw new WebSocketConfigError(option, `expected an integer from ${range}, got ${String(value)}`);
  }
  return value;
}

function normalizeOrigin(origin: string, option: string): string {
  try {
    return new URL(origin).origin;
  } catch (error) {
    throw new WebSocketConfigError(option, `${JSON.stringify(origin)} is not an origin like https://example.com`, { cause: error });
  }
}

export function resolveOptions(options: WebSocketComponentOptions): ResolvedOptions {
  const maxMessageBytes = int(options.maxMessageBytes, 65536, 'maxMessageBytes', 1);
  const messagesPerSecond = int(options.messagesPerSecond, 100, 'messagesPerSecond');
  const bytesPerSecond = int(options.bytesPerSecond, 1048576, 'bytesPerSecond');
  const byteBurst = int(options.byteBurst, Math.max(bytesPerSecond, maxMessageBytes), 'byteBurst', 1);
  if (bytesPerSecond > 0 && byteBurst < maxMessageBytes) {
    throw new WebSocketConfigError(
      'byteBurst',
      `${byteBurst} is below maxMessageBytes (${maxMessageBytes}): a largest message could never pass`,
    );
  }
  const port = int(options.port, 0, 'port');
  if (port > 65535) throw new WebSocketConfigError('port', `expected 0-65535, got ${port}`);
  const path = options.path ?? '/ws';
  if (!path.startsWith('/') || /[:*?#\s]/.test(path))
    throw new WebSocketConfigError('path', `${JSON.stringify(path)} must be a plain path starting with "/"`);
  const onRateLimit = options.onRateLimit ?? 'error';
  if (onRateLimit !== 'error' && onRateLimit !== 'close')
    throw new WebSocketConfigError('onRateLimit', `expected 'error' or 'close', got ${String(onRateLimit)}`);
  if (options.https !== undefined && (options.https.cert === undefined || options.https.key === undefined)) {
    throw new WebSocketConfigError('https', 'needs both cert and key');
  }
  const name = options.name ?? 'websocket';
  if (name === '') throw new WebSocketConfigError('name', 'must not be empty');
  const maxBufferedBytes = int(options.maxBufferedBytes, 4194304, 'maxBufferedBytes', 1);
  const hardMaxBufferedBytes = int(
    options.hardMaxBufferedBytes,
    Math.min(maxBufferedBytes * 16, Number.MAX_SAFE_INTEGER),
    'hardMaxBufferedBytes',
    1,
  );
  if (hardMaxBufferedBytes < maxBufferedBytes) {
    throw new WebSocketConfigError('hardMaxBufferedBytes', `${hardMaxBufferedBytes} is below maxBufferedBytes (${maxBufferedBytes})`);
  }
  return {
    name,
    path,
    host: options.host ?? '127.0.0.1',
    port,
    binary: options.binary ?? false,
    maxMessageBytes,
    messagesPerSecond,
    messageBurst: int(options.messageBurst, Math.max(messagesPerSecond, 1), 'messageBurst', 1),
    bytesPerSecond,
    byteBurst,
    onRateLimit,
    pingIntervalMs: duration(options.pingIntervalMs, 30000, 'pingIntervalMs', 0),
    maxBufferedBytes,
    slowClientTimeoutMs: duration(options.slowClientTimeoutMs, 5000, 'slowClientTimeoutMs', 1),
    hardMaxBufferedBytes,
    origins: options.origins === undefined ? undefined : new Set(options.origins.map((o, i) => normalizeOrigin(o, `origins[${i}]`))),
    allowMissingOrigin: options.allowMissingOrigin ?? true,
    maxClients: int(options.maxClients, 10000, 'maxClients', 1),
    closeTimeoutMs: duration(options.closeTimeoutMs, 1000, 'closeTimeoutMs', 0, 'cut off at once'),
  };
}
