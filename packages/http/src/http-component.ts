import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  AddressList,
  unmapIPv4,
  type AnyTopics,
  type Application,
  type CommandHandlers,
  type Logger,
  type NodePlugin,
  type PluginContext,
  type SystemgeNode,
  type TopicMap,
} from '@systemge/node';
import { HTTPConfigError, HTTPListenError, HTTPStateError, RouteExistsError } from './http-errors.js';
import { RequestCounters, UNMATCHED_ROUTE } from './request-counters.js';
import { parseRouteKey, RouteTable, type RouteKey } from './route-table.js';

/**
 * Handles one HTTP request. Like a Fastify handler it may return the body (or a promise of it)
 * or use `reply`; it also gets the node, to reach the P2P network. URL parameters are in `request.params`.
 */
export type HTTPRouteHandler<T extends TopicMap = AnyTopics> = (
  request: FastifyRequest,
  reply: FastifyReply,
  node: SystemgeNode<T>,
) => unknown;

/** One route: `method` may list several methods. */
export interface HTTPRoute<T extends TopicMap = AnyTopics> {
  method: string | readonly string[];
  url: string;
  handler: HTTPRouteHandler<T>;
}

/** `{ 'GET /path': handler, 'POST /items/:id': handler }`, or a list of routes. */
export type HTTPMessageHandlers<T extends TopicMap = AnyTopics> =
  | Record<string, HTTPRouteHandler<T>>
  | readonly HTTPRoute<T>[];

/** The application component the HTTP component reads its routes from. */
export interface HTTPComponentApplication<T extends TopicMap = AnyTopics> {
  getHttpMessageHandlers?(): HTTPMessageHandlers<T>;
}

declare module '@systemge/node' {
  // An application with HTTP routes type-checks as a node application once this package is imported.
  interface ApplicationComponents<T extends TopicMap = AnyTopics> {
    getHttpMessageHandlers?(): HTTPMessageHandlers<T>;
  }
}

/** Registers routes, hooks or plugins on the component's Fastify scope before it serves. */
export type HTTPMount = (scope: FastifyInstance) => void | Promise<void>;

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

/**
 * A runtime-editable list of IP addresses and CIDR blocks (IPv4 and IPv6): `add`, `remove`, `set`,
 * `clear`, `entries`, `matches`. An invalid entry throws `SYSTEMGE_ERR_HTTP_CONFIG`.
 */
export type IPAccessList = AddressList;

function accessList(option: 'allow' | 'deny', entries: readonly string[]): IPAccessList {
  return new AddressList(entries, option, (_path, message) => new HTTPConfigError(option, message));
}

/** The HTTP component: a `NodePlugin` plus runtime routing and access control. */
export interface HTTPComponent<T extends TopicMap = AnyTopics> extends NodePlugin<T> {
  /** The Fastify instance while started (or the one given in the options). */
  readonly fastify: FastifyInstance | undefined;
  /** The bound address while listening. */
  readonly address: { host: string; port: number } | undefined;
  /** `http://127.0.0.1:41234` (or https) while listening. */
  readonly url: string | undefined;
  /** Addresses allowed to connect (empty = all); edits apply to the next request. */
  readonly allowList: IPAccessList;
  /** Addresses refused with 403; edits apply to the next request. */
  readonly denyList: IPAccessList;
  /** Adds a route now (served at once if started). Throws `SYSTEMGE_ERR_HTTP_ROUTE_EXISTS` for a duplicate. */
  addRoute(method: string | readonly string[], url: string, handler: HTTPRouteHandler<T>): void;
  /** `addRoute('GET /path', handler)`. */
  addRoute(key: string, handler: HTTPRouteHandler<T>): void;
  /** Removes a route; later requests get 404. Returns whether it existed. */
  removeRoute(method: string, url: string): boolean;
  removeRoute(key: string): boolean;
  /** The routes served now. */
  routes(): RouteKey[];
  /**
   * Adds routes, hooks or plugins to the component's Fastify scope (e.g. a WebSocket endpoint on the
   * same port). Applied at every start, before listening, so call it before the node starts.
   * Returns a function that removes the mount from later starts.
   */
  register(mount: HTTPMount): () => void;
  /** `http:routes`, `http:access`, `http:allow <cidr>`, `http:deny <cidr>`, `http:forget <cidr>` (prefix = `name`). */
  getCommandHandlers(): CommandHandlers;
  /** Request counters; see the README for the keys. */
  getStats(): Record<string, number>;
  /** URL, routes and access lists. */
  describe(): Record<string, unknown>;
}

const ROUTE = Symbol('systemge.http.route');
const UNCOUNTED = '';
type TaggedRequest = FastifyRequest & { [ROUTE]?: string };

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

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

interface ResolvedOptions {
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

function resolveOptions(options: HTTPComponentOptions): ResolvedOptions {
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

function applicationRoutes<T extends TopicMap>(application: Application<T>): { method: string; url: string; handler: HTTPRouteHandler<T>; option: string }[] {
  const source = (application as HTTPComponentApplication<T>).getHttpMessageHandlers?.();
  if (source === undefined) return [];
  const out: { method: string; url: string; handler: HTTPRouteHandler<T>; option: string }[] = [];
  if (Array.isArray(source)) {
    (source as readonly HTTPRoute<T>[]).forEach((route, i) => {
      const option = `getHttpMessageHandlers()[${i}]`;
      if (typeof route?.handler !== 'function') throw new HTTPConfigError(option, 'handler must be a function');
      if (typeof route.url !== 'string') throw new HTTPConfigError(option, 'url must be a string');
      const methods = typeof route.method === 'string' ? [route.method] : route.method;
      for (const method of methods) out.push({ method, url: route.url, handler: route.handler, option });
    });
    return out;
  }
  for (const [text, handler] of Object.entries(source as Record<string, HTTPRouteHandler<T>>)) {
    const option = `getHttpMessageHandlers()[${JSON.stringify(text)}]`;
    if (typeof handler !== 'function') throw new HTTPConfigError(option, 'handler must be a function');
    const { method, url } = parseRouteKey(text, option);
    out.push({ method, url, handler, option });
  }
  return out;
}

class HTTPComponentImpl<T extends TopicMap> implements HTTPComponent<T> {
  readonly name: string;
  readonly allowList: IPAccessList;
  readonly denyList: IPAccessList;
  private readonly options: ResolvedOptions;
  private readonly https: HTTPSOptions | undefined;
  private readonly external: FastifyInstance | undefined;
  private readonly table = new RouteTable<HTTPRouteHandler<T>>();
  private readonly counters = new RequestCounters();
  private readonly mounts = new Set<HTTPMount>();
  /** Routes that came from the application, replaced at every start. */
  private appRouteKeys: RouteKey[] = [];
  private instance: FastifyInstance | undefined;
  private installedOnExternal = false;
  private node: SystemgeNode<T> | undefined;
  private logger: Logger | undefined;
  private serving = false;
  private boundAddress: { host: string; port: number } | undefined;

  constructor(options: HTTPComponentOptions) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
    this.https = options.https;
    this.external = options.fastify as FastifyInstance | undefined;
    this.allowList = accessList('allow', options.allow ?? []);
    this.denyList = accessList('deny', options.deny ?? []);
  }

  get fastify(): FastifyInstance | undefined {
    return this.external ?? this.instance;
  }

  get address(): { host: string; port: number } | undefined {
    return this.boundAddress;
  }

  get url(): string | undefined {
    const a = this.boundAddress;
    return a === undefined ? undefined : `${this.https === undefined ? 'http' : 'https'}://${formatHost(a.host)}:${a.port}`;
  }

  addRoute(...args: [string | readonly string[], string, HTTPRouteHandler<T>] | [string, HTTPRouteHandler<T>]): void {
    let methods: readonly string[];
    let url: string;
    let handler: HTTPRouteHandler<T>;
    if (args.length === 2) {
      const key = parseRouteKey(args[0], 'addRoute');
      methods = [key.method];
      url = key.url;
      handler = args[1];
    } else {
      methods = typeof args[0] === 'string' ? [args[0]] : args[0];
      url = args[1];
      handler = args[2];
    }
    if (typeof handler !== 'function') throw new HTTPConfigError('addRoute', 'handler must be a function');
    for (const method of methods) {
      if (this.table.has(method, url)) throw new RouteExistsError(method.toUpperCase(), url);
    }
    for (const method of methods) this.table.add(method, url, handler, 'addRoute');
  }

  removeRoute(methodOrKey: string, url?: string): boolean {
    const key = url === undefined ? parseRouteKey(methodOrKey, 'removeRoute') : { method: methodOrKey, url };
    this.appRouteKeys = this.appRouteKeys.filter((k) => !(k.method === key.method.toUpperCase() && k.url === key.url));
    return this.table.remove(key.method, key.url);
  }

  routes(): RouteKey[] {
    return this.table.list();
  }

  register(mount: HTTPMount): () => void {
    if (this.serving || this.installedOnExternal) {
      throw new HTTPStateError(`HTTP component "${this.name}" is already serving; register mounts before the node starts`);
    }
    this.mounts.add(mount);
    return () => {
      this.mounts.delete(mount);
    };
  }

  async start(context: PluginContext<T>): Promise<void> {
    if (this.serving) throw new HTTPStateError(`HTTP component "${this.name}" is already started`);
    this.node = context.node;
    this.logger = context.logger;
    this.loadApplicationRoutes(context.application);

    if (this.external !== undefined) {
      if (!this.installedOnExternal) {
        try {
          await this.external.register((scope) => this.install(scope));
        } catch (error) {
          throw new HTTPConfigError('fastify', `cannot add routes to the given instance: ${(error as Error).message}`, { cause: error });
        }
        this.installedOnExternal = true;
      }
      this.serving = true;
      this.boundAddress = this.externalAddress();
      return;
    }

    const o = this.options;
    // Node checks header and request deadlines on a timer (30 s by default); tie it to the deadlines.
    const deadlines = [o.headersTimeoutMs, o.requestTimeoutMs].filter((ms) => ms > 0);
    const serverOptions = {
      headersTimeout: o.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(...deadlines, 2000) / 2))),
    };
    const fastify = Fastify({
      logger: false,
      bodyLimit: o.bodyLimit,
      connectionTimeout: o.connectionTimeoutMs,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      forceCloseConnections: 'idle',
      ...(this.https === undefined ? { http: serverOptions } : { https: { ...this.https, ...serverOptions } }),
    }) as unknown as FastifyInstance;
    try {
      await fastify.register((scope) => this.install(scope));
      await fastify.listen({ host: o.host, port: o.port });
    } catch (error) {
      await fastify.close().catch(() => {});
      if ((error as { code?: string }).code?.startsWith('E') === true) throw new HTTPListenError(o.host, o.port, { cause: error });
      throw error;
    }
    const address = fastify.server.address();
    this.boundAddress = typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined;
    this.instance = fastify;
    this.serving = true;
    this.logger.info({ plugin: this.name, url: this.url }, 'HTTP listening');
  }

  async stop(): Promise<void> {
    this.serving = false;
    const fastify = this.instance;
    this.instance = undefined;
    if (this.external === undefined) this.boundAddress = undefined;
    if (fastify === undefined) return;
    const timer = setTimeout(() => fastify.server.closeAllConnections(), this.options.closeTimeoutMs);
    try {
      await fastify.close();
    } finally {
      clearTimeout(timer);
    }
  }

  getCommandHandlers(): CommandHandlers {
    const p = this.name;
    const access = (): string => JSON.stringify({ allow: this.allowList.entries(), deny: this.denyList.entries() }, null, 2);
    const entry = (args: string[], usage: string): string => {
      if (args[0] === undefined) throw new Error(`usage: ${usage}`);
      return args[0];
    };
    return {
      [`${p}:routes`]: () => this.routes().map((r) => `${r.method} ${r.url}`).join('\n'),
      [`${p}:access`]: access,
      [`${p}:allow`]: (args) => {
        this.allowList.add(entry(args, `${p}:allow <address|cidr>`));
        return access();
      },
      [`${p}:deny`]: (args) => {
        this.denyList.add(entry(args, `${p}:deny <address|cidr>`));
        return access();
      },
      [`${p}:forget`]: (args) => {
        const e = entry(args, `${p}:forget <address|cidr>`);
        this.allowList.remove(e);
        this.denyList.remove(e);
        return access();
      },
    };
  }

  getStats(): Record<string, number> {
    return { ...this.counters.snapshot(), routes: this.table.size };
  }

  describe(): Record<string, unknown> {
    return {
      url: this.url,
      serving: this.serving,
      routes: this.table.size,
      allow: this.allowList.entries(),
      deny: this.denyList.entries(),
    };
  }

  private loadApplicationRoutes(application: Application<T>): void {
    const routes = applicationRoutes(application);
    for (const key of this.appRouteKeys) this.table.remove(key.method, key.url);
    this.appRouteKeys = [];
    for (const route of routes) {
      this.table.add(route.method, route.url, route.handler, route.option);
      this.appRouteKeys.push({ method: route.method.toUpperCase(), url: route.url });
    }
  }

  private externalAddress(): { host: string; port: number } | undefined {
    const address = this.external?.server.address();
    return typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined;
  }

  /** Everything the component adds to a Fastify instance, in one encapsulated scope. */
  private async install(scope: FastifyInstance): Promise<void> {
    scope.addHook('onRequest', (request, reply, done) => {
      if (request.headers.upgrade !== undefined) closeAfterResponse(request, reply);
      const address = unmapIPv4(request.ip);
      const refusal = this.denyList.matches(address)
        ? 'denied'
        : this.allowList.size > 0 && !this.allowList.matches(address)
          ? 'not allowed'
          : undefined;
      if (refusal === undefined) {
        done();
        return;
      }
      this.counters.rejectedByAddress++;
      this.logger?.debug({ plugin: this.name, address, reason: refusal }, 'HTTP request refused by address');
      void reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `address ${address} is ${refusal}` });
    });
    scope.addHook('onResponse', (request, reply, done) => {
      const tagged = request as TaggedRequest;
      if (tagged[ROUTE] === UNCOUNTED) {
        done();
        return;
      }
      const mounted = request.routeOptions.url;
      const route = tagged[ROUTE] ?? (mounted === undefined || mounted === '/*' ? UNMATCHED_ROUTE : `${request.method} ${mounted}`);
      this.counters.record(route, reply.statusCode);
      done();
    });
    for (const mount of this.mounts) await scope.register(async (child) => mount(child));
    // One catch-all route; the route table decides. A non-async handler keeps Fastify's own semantics
    // for what the application handler returns (value, promise, or undefined after reply.send()).
    scope.route({
      method: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
      url: '/*',
      bodyLimit: this.options.bodyLimit,
      handler: (request, reply) => {
        const node = this.node;
        if (!this.serving || node === undefined) {
          return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: `HTTP component "${this.name}" is not started` });
        }
        const match = this.table.find(request.method, request.url);
        if (match === undefined) {
          // The not-found handler runs in the root context, outside this scope's onResponse hook.
          reply.raw.once('close', () => this.counters.record(UNMATCHED_ROUTE, reply.raw.statusCode));
          (request as TaggedRequest)[ROUTE] = UNCOUNTED;
          reply.callNotFound();
          return reply;
        }
        (request as TaggedRequest)[ROUTE] = match.key;
        request.params = match.params;
        return match.handler(request, reply, node);
      },
    });
  }
}

/**
 * An upgrade request answered with a plain response (refused, not found, no WebSocket route) arrives on a
 * socket the HTTP parser has let go of, so nothing else would ever close it: close it once the response is
 * flushed. A successful upgrade hijacks the reply, and 'finish' never fires.
 */
function closeAfterResponse(request: FastifyRequest, reply: FastifyReply): void {
  const socket = request.raw.socket;
  reply.raw.once('finish', () => {
    socket.end();
    socket.once('finish', () => socket.destroy());
  });
}

/**
 * Creates the HTTP component. Its routes come from `application.getHttpMessageHandlers()` at start and
 * from `addRoute()` at any time. Pass it to `createNode(config, app, { plugins: [http] })`.
 */
export function httpComponent<T extends TopicMap = AnyTopics>(options: HTTPComponentOptions = {}): HTTPComponent<T> {
  return new HTTPComponentImpl<T>(options);
}
