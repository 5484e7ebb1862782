import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AnyTopics, Application, CommandHandlers, Logger, NodePlugin, PluginContext, SystemgeNode, TopicMap } from '@systemge/node';
import type { RawData, WebSocket } from 'ws';
import { ClientState, type DisconnectReason, type WebSocketClient } from './websocket-client.js';
import { WebSocketConfigError, WebSocketListenError } from './websocket-errors.js';
import { decodeBinary, decodeText, OutgoingMessage, type WebSocketMessage } from './wire-codec.js';

/**
 * Handles one message from a client. A value other than `undefined` (or a promise of one) is sent back
 * to that client on the same topic; a throw or rejection is sent back as `{ topic: 'error', payload: message }`.
 */
export type WebSocketMessageHandler<T extends TopicMap = AnyTopics> = (
  client: WebSocketClient,
  message: WebSocketMessage,
  node: SystemgeNode<T>,
) => unknown;

export type WebSocketMessageHandlers<T extends TopicMap = AnyTopics> = Record<string, WebSocketMessageHandler<T>>;

/** The application component the WebSocket component reads its handlers and callbacks from. */
export interface WebSocketComponentApplication<T extends TopicMap = AnyTopics> {
  /** Handlers by topic, read at every start. */
  getWebsocketMessageHandlers?(): WebSocketMessageHandlers<T>;
  /** Runs once per client, when it has connected. A throw closes the client with 1011. */
  onConnect?(client: WebSocketClient, node: SystemgeNode<T>): void | Promise<void>;
  /** Runs once per client that got `onConnect`, however it went away (close frame, vanished, cut off, stop). */
  onDisconnect?(client: WebSocketClient, reason: DisconnectReason, node: SystemgeNode<T>): void | Promise<void>;
}

declare module '@systemge/node' {
  // An application with WebSocket handlers type-checks as a node application once this package is imported.
  interface ApplicationComponents<T extends TopicMap = AnyTopics> {
    getWebsocketMessageHandlers?(): WebSocketMessageHandlers<T>;
    onConnect?(client: WebSocketClient, node: SystemgeNode<T>): void | Promise<void>;
    onDisconnect?(client: WebSocketClient, reason: DisconnectReason, node: SystemgeNode<T>): void | Promise<void>;
  }
}

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

/** The WebSocket component: a `NodePlugin` plus clients, groups and sending. */
export interface WebSocketComponent<T extends TopicMap = AnyTopics> extends NodePlugin<T> {
  /** `ws://127.0.0.1:41234/ws` (or wss) while serving. */
  readonly url: string | undefined;
  /** Sends to one client. False when the id is unknown or the client was cut off as too slow. */
  send(clientId: string, topic: string, payload: unknown): boolean;
  /** Sends to each listed client; returns how many it was queued for. */
  multicast(clientIds: Iterable<string>, topic: string, payload: unknown): number;
  /** Sends to every member of a group; returns how many it was queued for. */
  groupcast(group: string, topic: string, payload: unknown): number;
  /** Sends to every client; returns how many it was queued for. */
  broadcast(topic: string, payload: unknown): number;
  /** Adds a client to a group (created on first join). False when the id is unknown. */
  joinGroup(clientId: string, group: string): boolean;
  /** Removes a client from a group; the group vanishes when empty. False when it was not a member. */
  leaveGroup(clientId: string, group: string): boolean;
  /** Names of the non-empty groups. */
  groups(): string[];
  /** Ids of a group's members (empty for an unknown group). */
  groupMembers(group: string): string[];
  /** Ids of the connected clients. */
  clients(): string[];
  client(clientId: string): WebSocketClient | undefined;
  /** Closes a client's connection (default 1000). False when the id is unknown. */
  disconnect(clientId: string, code?: number, reason?: string): boolean;
  /** `websocket:clients`, `websocket:groups`, `websocket:kick <id>` (prefix = `name`). */
  getCommandHandlers(): CommandHandlers;
  /** Counters; see the README for the keys. */
  getStats(): Record<string, number>;
  describe(): Record<string, unknown>;
}

interface ResolvedOptions {
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

function resolveOptions(options: WebSocketComponentOptions): ResolvedOptions {
  const maxMessageBytes = int(options.maxMessageBytes, 65536, 'maxMessageBytes', 1);
  const messagesPerSecond = int(options.messagesPerSecond, 100, 'messagesPerSecond');
  const bytesPerSecond = int(options.bytesPerSecond, 1048576, 'bytesPerSecond');
  const byteBurst = int(options.byteBurst, Math.max(bytesPerSecond, maxMessageBytes), 'byteBurst', 1);
  if (bytesPerSecond > 0 && byteBurst < maxMessageBytes) {
    throw new WebSocketConfigError('byteBurst', `${byteBurst} is below maxMessageBytes (${maxMessageBytes}): a largest message could never pass`);
  }
  const port = int(options.port, 0, 'port');
  if (port > 65535) throw new WebSocketConfigError('port', `expected 0-65535, got ${port}`);
  const path = options.path ?? '/ws';
  if (!path.startsWith('/') || /[:*?#\s]/.test(path)) throw new WebSocketConfigError('path', `${JSON.stringify(path)} must be a plain path starting with "/"`);
  const onRateLimit = options.onRateLimit ?? 'error';
  if (onRateLimit !== 'error' && onRateLimit !== 'close') throw new WebSocketConfigError('onRateLimit', `expected 'error' or 'close', got ${String(onRateLimit)}`);
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

/** Counters exposed by `getStats()`. */
class Counters {
  connections = 0;
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  rateLimited = 0;
  slowClientDisconnects = 0;
  deadClientDisconnects = 0;
  oversizeMessages = 0;
  invalidMessages = 0;
  unknownTopics = 0;
  handlerErrors = 0;
  refusedOrigin = 0;
  refusedFull = 0;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

class WebSocketComponentImpl<T extends TopicMap> implements WebSocketComponent<T> {
  readonly name: string;
  private readonly options: ResolvedOptions;
  private readonly tls: WebSocketTLSOptions | undefined;
  private readonly host: WebSocketHTTPHost | undefined;
  private readonly counters = new Counters();
  private readonly clientsById = new Map<string, ClientState>();
  private readonly groupsByName = new Map<string, Set<ClientState>>();
  /** Only the own properties of the application's handler object: a topic never reaches `Object.prototype`. */
  private handlers = new Map<string, WebSocketMessageHandler<T>>();
  private application: WebSocketComponentApplication<T> = {};
  private node: SystemgeNode<T> | undefined;
  private logger: Logger | undefined;
  private serving = false;
  private server: FastifyInstance | undefined;
  private ownAddress: { host: string; port: number } | undefined;
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(options: WebSocketComponentOptions) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
    this.tls = options.https;
    this.host = options.http;
    // Mount now: the HTTP component applies mounts when it starts, which may be before this plugin starts.
    this.host?.register((scope) => this.mount(scope));
  }

  get url(): string | undefined {
    if (this.host !== undefined) {
      const base = this.host.url;
      return base === undefined ? undefined : `${base.replace(/^http/, 'ws')}${this.options.path}`;
    }
    const a = this.ownAddress;
    return a === undefined ? undefined : `${this.tls === undefined ? 'ws' : 'wss'}://${formatHost(a.host)}:${a.port}${this.options.path}`;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(context: PluginContext<T>): Promise<void> {
    if (this.serving) throw new WebSocketConfigError('start', `WebSocket component "${this.name}" is already started`);
    this.node = context.node;
    this.logger = context.logger;
    this.application = context.application as Application<T> & WebSocketComponentApplication<T>;
    const handlers = new Map<string, WebSocketMessageHandler<T>>();
    for (const [topic, handler] of Object.entries(this.application.getWebsocketMessageHandlers?.() ?? {})) {
      if (typeof handler !== 'function') throw new WebSocketConfigError(`getWebsocketMessageHandlers()[${JSON.stringify(topic)}]`, 'handler must be a function');
      handlers.set(topic, handler);
    }
    this.handlers = handlers;

    if (this.host === undefined) {
      const o = this.options;
      const fastify = Fastify({ logger: false, ...(this.tls === undefined ? {} : { https: this.tls }) }) as unknown as FastifyInstance;
      // An upgrade to any other path gets a plain 404 on a socket the HTTP parser has let go of; close it.
      fastify.addHook('onRequest', (request, reply, done) => {
        if (request.headers.upgrade !== undefined) {
          const socket = request.raw.socket;
          reply.raw.once('finish', () => {
            socket.end();
            socket.once('finish', () => socket.destroy());
          });
        }
        done();
      });
      try {
        await fastify.register((scope) => this.mount(scope));
        await fastify.listen({ host: o.host, port: o.port });
      } catch (error) {
        await fastify.close().catch(() => {});
        if ((error as { code?: string }).code?.startsWith('E') === true) throw new WebSocketListenError(o.host, o.port, { cause: error });
        throw error;
      }
      const address = fastify.server.address();
      this.ownAddress = typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined;
      this.server = fastify;
    }
    this.serving = true;
    if (this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.sweep(), this.options.pingIntervalMs);
      this.pingTimer.unref();
    }
    this.logger.info({ plugin: this.name, url: this.url }, 'WebSocket serving');
  }

  async stop(): Promise<void> {
    this.serving = false;
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    await this.closeAll(1001, 'server shutting down');
    const server = this.server;
    this.server = undefined;
    this.ownAddress = undefined;
    await server?.close();
  }

  /** Closes every client with a close frame, and cuts off those that do not answer within `closeTimeoutMs`. */
  private async closeAll(code: number, reason: string): Promise<void> {
    const clients = [...this.clientsById.values()];
    if (clients.length === 0) return;
    await new Promise<void>((resolve) => {
      let open = clients.length;
      const timer = setTimeout(() => {
        for (const c of clients) c.terminate(code, reason);
      }, this.options.closeTimeoutMs);
      for (const c of clients) {
        c.socket.once('close', () => {
          if (--open === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
        c.close(code, reason);
      }
    });
  }

  // ------------------------------------------------------------------ mounting and admission

  private async mount(scope: FastifyInstance): Promise<void> {
    // One @fastify/websocket per server: a second copy would route every upgrade twice.
    if (!scope.hasDecorator('websocketServer')) {
      await scope.register(fastifyWebsocket, {
        options: { maxPayload: this.options.maxMessageBytes },
        // ws itself closes the connection after a protocol error (1002, 1009...); terminating here would
        // drop that close frame.
        errorHandler: () => {},
        preClose: async () => {
          await this.closeAll(1001, 'server shutting down');
        },
      });
    }
    scope.get(this.options.path, { websocket: true, onRequest: (request, reply, done) => this.admit(request, reply, done) }, (socket, request) =>
      this.accept(socket, request),
    );
  }

  /** Runs before the upgrade: what is refused here never becomes a WebSocket. */
  private admit(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (!request.ws) {
      done();
      return;
    }
    const refuse = (status: number, error: string, message: string): void => {
      this.logger?.debug({ plugin: this.name, address: request.ip, reason: message }, 'WebSocket upgrade refused');
      void reply.code(status).send({ statusCode: status, error, message });
    };
    if (!this.serving) {
      refuse(503, 'Service Unavailable', `WebSocket component "${this.name}" is not started`);
      return;
    }
    const origins = this.options.origins;
    if (origins !== undefined) {
      const origin = request.headers.origin;
      const allowed = origin === undefined ? this.options.allowMissingOrigin : origins.has(safeOrigin(origin));
      if (!allowed) {
        this.counters.refusedOrigin++;
        refuse(403, 'Forbidden', origin === undefined ? 'an Origin header is required' : `origin ${origin} is not allowed`);
        return;
      }
    }
    if (this.clientsById.size >= this.options.maxClients) {
      this.counters.refusedFull++;
      refuse(503, 'Service Unavailable', `too many clients (maxClients ${this.options.maxClients})`);
      return;
    }
    done();
  }

  private accept(socket: WebSocket, request: FastifyRequest): void {
    const node = this.node;
    if (!this.serving || node === undefined) {
      socket.close(1001, 'server shutting down');
      return;
    }
    if (this.clientsById.size >= this.options.maxClients) {
      // Upgrades admitted together can overshoot the check in admit().
      this.counters.refusedFull++;
      socket.close(1013, 'too many clients');
      return;
    }
    const raw: IncomingMessage = request.raw;
    const o = this.options;
    const client = new ClientState(randomUUID(), socket, request.ip, request.headers.origin, raw.headers, raw.socket, this, o);
    this.clientsById.set(client.id, client);
    this.counters.connections++;
    socket.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.counters.oversizeMessages++;
        client.serverReason ??= { code: 1009, reason: `message over maxMessageBytes (${o.maxMessageBytes})`, initiator: 'server' };
      } else {
        client.serverReason ??= { code: 1002, reason: error.message, initiator: 'server' };
      }
      this.logger?.debug({ plugin: this.name, client: client.id, err: error }, 'WebSocket protocol error');
    });
    socket.once('close', (code: number, reason: Buffer) => this.onClose(client, code, reason.toString('utf8')));

    try {
      client.announced = true;
      const result = this.application.onConnect?.(client, node);
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) => this.failConnect(client, error));
      }
    } catch (error) {
      this.failConnect(client, error);
    }
  }

  private failConnect(client: ClientState, error: unknown): void {
    this.logger?.warn({ plugin: this.name, client: client.id, err: error }, 'onConnect failed');
    client.close(1011, 'connection setup failed');
  }

  private onClose(client: ClientState, code: number, reason: string): void {
    if (client.closed) return;
    client.closed = true;
    clearTimeout(client.slowTimer);
    client.slowTimer = undefined;
    this.clientsById.delete(client.id);
    for (const group of client.groups) this.removeFromGroup(client, group);
    client.groups.clear();
    if (!client.announced) return;
    const why = client.serverReason ?? { code, reason: reason === '' && code === 1006 ? 'connection lost without a close frame' : reason, initiator: 'client' as const };
    const node = this.node;
    if (node === undefined) return;
    try {
      const result = this.application.onDisconnect?.(client, why, node);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.logger?.warn({ plugin: this.name, err: error }, 'onDisconnect failed'));
    } catch (error) {
      this.logger?.warn({ plugin: this.name, client: client.id, err: error }, 'onDisconnect failed');
    }
  }

  /** Liveness: a client that did not answer the previous ping is terminated, the others pinged again. */
  private sweep(): void {
    for (const client of this.clientsById.values()) {
      if (!client.alive) {
        this.counters.deadClientDisconnects++;
        client.terminate(1006, `no pong within ${this.options.pingIntervalMs} ms`);
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }

  // ------------------------------------------------------------------ receiving

  private onMessage(client: ClientState, raw: RawData, isBinary: boolean): void {
    if (client.closed) return;
    const data = raw as Buffer;
    const o = this.options;
    const now = Date.now();
    client.alive = true;
    this.counters.messagesIn++;
    this.counters.bytesIn += data.length;
    if (data.length > o.maxMessageBytes) {
      // Only reachable when another component registered the shared ws server with a larger maxPayload.
      this.counters.oversizeMessages++;
      client.close(1009, `message over maxMessageBytes (${o.maxMessageBytes})`);
      return;
    }
    if (client.messages?.take(1, now) === false || client.bytes?.take(data.length, now) === false) {
      this.counters.rateLimited++;
      const what = `rate limit exceeded (${o.messagesPerSecond} messages/s, ${o.bytesPerSecond} bytes/s)`;
      if (o.onRateLimit === 'close') {
        this.logger?.debug({ plugin: this.name, client: client.id }, 'WebSocket client closed: rate limit');
        client.close(1008, what);
      } else this.sendError(client, what);
      return;
    }
    if (isBinary && !o.binary) {
      this.counters.invalidMessages++;
      this.sendError(client, 'invalid message: binary frames are not enabled');
      return;
    }
    client.format = isBinary ? 'msgpack' : 'json';
    const decoded = isBinary ? decodeBinary(data) : decodeText(data);
    if (!decoded.ok) {
      this.counters.invalidMessages++;
      this.sendError(client, decoded.error);
      return;
    }
    const { message } = decoded;
    const handler = this.handlers.get(message.topic);
    if (handler === undefined) {
      this.counters.unknownTopics++;
      this.sendError(client, `unknown topic ${JSON.stringify(message.topic)}`);
      return;
    }
    let result: unknown;
    try {
      result = handler(client, message, this.node as SystemgeNode<T>);
    } catch (error) {
      this.handlerFailed(client, message.topic, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.reply(client, message.topic, value),
        (error: unknown) => this.handlerFailed(client, message.topic, error),
      );
    } else this.reply(client, message.topic, result);
  }

  private reply(client: ClientState, topic: string, value: unknown): void {
    if (value === undefined || client.closed) return;
    try {
      this.deliver(client, new OutgoingMessage(topic, value));
    } catch (error) {
      this.handlerFailed(client, topic, error);
    }
  }

  private handlerFailed(client: ClientState, topic: string, error: unknown): void {
    this.counters.handlerErrors++;
    this.logger?.debug({ plugin: this.name, client: client.id, topic, err: error }, 'WebSocket handler failed');
    this.sendError(client, errorText(error));
  }

  private sendError(client: ClientState, text: string): void {
    this.deliver(client, new OutgoingMessage('error', text));
  }

  // ------------------------------------------------------------------ sending

  /**
   * The one place bytes go out. A send that would take the client's unsent data over
   * `hardMaxBufferedBytes` cuts it off at once; going over `maxBufferedBytes` starts the slow-client
   * clock, and a client still over it after `slowClientTimeoutMs` is cut off (see `checkSlow`).
   */
  deliver(client: ClientState, message: OutgoingMessage): boolean {
    if (client.closed || client.serverReason !== undefined) return false;
    const data = message.get(client.format);
    const socket = client.socket;
    if (socket.readyState !== 1) return false;
    const o = this.options;
    const after = socket.bufferedAmount + data.length;
    if (after > o.hardMaxBufferedBytes) {
      this.cutSlow(client, `send buffer over hardMaxBufferedBytes (${o.hardMaxBufferedBytes})`);
      return false;
    }
    socket.send(data, { binary: client.format === 'msgpack' });
    this.counters.messagesOut++;
    this.counters.bytesOut += data.length;
    if (after > o.maxBufferedBytes) this.overSoftLimit(client);
    else client.overSince = undefined;
    return true;
  }

  /** The send buffer went over `maxBufferedBytes`: start the clock unless it runs already. */
  private overSoftLimit(client: ClientState): void {
    if (client.overSince !== undefined) return;
    client.overSince = Date.now();
    client.slowTimer ??= setTimeout(() => this.checkSlow(client), this.options.slowClientTimeoutMs);
    if (!client.watchingDrain) {
      client.watchingDrain = true;
      client.transport.once('drain', () => {
        client.watchingDrain = false;
        if (client.socket.bufferedAmount <= this.options.maxBufferedBytes) client.overSince = undefined;
      });
    }
  }

  /** The slow-client clock ran out: cut the client off if its send buffer stayed over the limit all along. */
  private checkSlow(client: ClientState): void {
    client.slowTimer = undefined;
    if (client.closed) return;
    const o = this.options;
    if (client.socket.bufferedAmount <= o.maxBufferedBytes) {
      client.overSince = undefined;
      return;
    }
    // Over the limit now, but maybe only again since it last drained: give it the rest of its time.
    const since = (client.overSince ??= Date.now());
    const left = o.slowClientTimeoutMs - (Date.now() - since);
    if (left > 0) {
      client.slowTimer = setTimeout(() => this.checkSlow(client), left);
      return;
    }
    this.cutSlow(client, `send buffer over maxBufferedBytes (${o.maxBufferedBytes}) for ${o.slowClientTimeoutMs} ms`);
  }

  private cutSlow(client: ClientState, reason: string): void {
    this.counters.slowClientDisconnects++;
    this.logger?.info({ plugin: this.name, client: client.id, buffered: client.socket.bufferedAmount, reason }, 'WebSocket client too slow, disconnected');
    client.terminate(1008, reason);
  }

  send(clientId: string, topic: string, payload: unknown): boolean {
    const client = this.clientsById.get(clientId);
    return client === undefined ? false : this.deliver(client, new OutgoingMessage(topic, payload));
  }

  multicast(clientIds: Iterable<string>, topic: string, payload: unknown): number {
    const message = new OutgoingMessage(topic, payload);
    let sent = 0;
    for (const id of clientIds) {
      const client = this.clientsById.get(id);
      if (client !== undefined && this.deliver(client, message)) sent++;
    }
    return sent;
  }

  groupcast(group: string, topic: string, payload: unknown): number {
    const members = this.groupsByName.get(group);
    if (members === undefined) return 0;
    const message = new OutgoingMessage(topic, payload);
    let sent = 0;
    // A slow member cut off mid-loop leaves the group; iterate over a snapshot.
    for (const client of [...members]) if (this.deliver(client, message)) sent++;
    return sent;
  }

  broadcast(topic: string, payload: unknown): number {
    const message = new OutgoingMessage(topic, payload);
    let sent = 0;
    for (const client of [...this.clientsById.values()]) if (this.deliver(client, message)) sent++;
    return sent;
  }

  // ------------------------------------------------------------------ groups and clients

  joinGroup(clientId: string, group: string): boolean {
    const client = this.clientsById.get(clientId);
    if (client === undefined) return false;
    if (typeof group !== 'string' || group === '') throw new WebSocketConfigError('group', 'must be a non-empty string');
    let members = this.groupsByName.get(group);
    if (members === undefined) {
      members = new Set();
      this.groupsByName.set(group, members);
    }
    members.add(client);
    client.groups.add(group);
    return true;
  }

  leaveGroup(clientId: string, group: string): boolean {
    const client = this.clientsById.get(clientId);
    if (client === undefined || !client.groups.delete(group)) return false;
    this.removeFromGroup(client, group);
    return true;
  }

  private removeFromGroup(client: ClientState, group: string): void {
    const members = this.groupsByName.get(group);
    if (members === undefined) return;
    members.delete(client);
    if (members.size === 0) this.groupsByName.delete(group);
  }

  groups(): string[] {
    return [...this.groupsByName.keys()];
  }

  groupMembers(group: string): string[] {
    return [...(this.groupsByName.get(group) ?? [])].map((c) => c.id);
  }

  clients(): string[] {
    return [...this.clientsById.keys()];
  }

  client(clientId: string): WebSocketClient | undefined {
    return this.clientsById.get(clientId);
  }

  disconnect(clientId: string, code = 1000, reason = ''): boolean {
    const client = this.clientsById.get(clientId);
    if (client === undefined) return false;
    client.close(code, reason);
    return true;
  }

  // ------------------------------------------------------------------ introspection

  getCommandHandlers(): CommandHandlers {
    const p = this.name;
    return {
      [`${p}:clients`]: () =>
        JSON.stringify(
          [...this.clientsById.values()].map((c) => ({
            id: c.id,
            remote: c.remoteAddress,
            groups: [...c.groups],
            connectedAt: new Date(c.connectedAt).toISOString(),
            bufferedBytes: c.bufferedBytes,
          })),
          null,
          2,
        ),
      [`${p}:groups`]: () =>
        JSON.stringify(Object.fromEntries([...this.groupsByName].map(([name, members]) => [name, members.size])), null, 2),
      [`${p}:kick`]: (args) => {
        const id = args[0];
        if (id === undefined) throw new Error(`usage: ${p}:kick <client id>`);
        return this.disconnect(id, 1008, 'disconnected by operator') ? `client ${id} disconnected` : `no client ${id}`;
      },
    };
  }

  getStats(): Record<string, number> {
    const c = this.counters;
    return {
      clients: this.clientsById.size,
      groups: this.groupsByName.size,
      connections_total: c.connections,
      messages_in_total: c.messagesIn,
      bytes_in_total: c.bytesIn,
      messages_out_total: c.messagesOut,
      bytes_out_total: c.bytesOut,
      rate_limited_total: c.rateLimited,
      slow_client_disconnects_total: c.slowClientDisconnects,
      dead_client_disconnects_total: c.deadClientDisconnects,
      oversize_messages_total: c.oversizeMessages,
      invalid_messages_total: c.invalidMessages,
      unknown_topics_total: c.unknownTopics,
      handler_errors_total: c.handlerErrors,
      refused_origin_total: c.refusedOrigin,
      refused_full_total: c.refusedFull,
    };
  }

  describe(): Record<string, unknown> {
    return { url: this.url, serving: this.serving, clients: this.clientsById.size, groups: this.groupsByName.size, sharedWith: this.host?.name };
  }
}

function safeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}

/**
 * Creates the WebSocket component. Its handlers come from `application.getWebsocketMessageHandlers()`;
 * pass it to `createNode(config, app, { plugins: [ws] })`. With `{ http }` it shares that component's port.
 */
export function websocketComponent<T extends TopicMap = AnyTopics>(options: WebSocketComponentOptions = {}): WebSocketComponent<T> {
  return new WebSocketComponentImpl<T>(options);
}
