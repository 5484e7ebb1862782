import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback, type RouteGenericInterface } from 'fastify';
import type {
  AnyTopics,
  Application,
  CommandHandlers,
  Logger,
  NodePlugin,
  PluginContext,
  PluginMetric,
  SystemgeNode,
  TopicMap,
} from '@systemge/node';
import { type AddressList, formatHost } from '@systemge/access';
import { SystemgeError } from '@systemge/protocol';
import { accessList, addressCheck } from './address-check.js';
import { HTTPConfigError, HTTPListenError, HTTPStateError, RouteExistsError } from './http-errors.js';
import { resolveOptions, type HTTPComponentOptions, type HTTPSOptions, type ResolvedOptions } from './options.js';
import { RequestCounters, UNMATCHED_ROUTE } from './request-counters.js';
import { RouteMounts, routeLabel, UNCOUNTED } from './route-mount.js';
import { parseRouteKey, routeKey, RouteTable, type RouteKey } from './route-table.js';
import {
  addRouteDefinitions,
  applicationRouteDefinitions,
  type HTTPMessageHandlers,
  type HTTPRoute,
  type HTTPRouteHandler,
  type HTTPRouteSpec,
  type RouteDefinition,
  type RouteGenericOf,
} from './routes.js';
import { systemgeErrorHandler } from './error-status.js';

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

/** A Fastify plugin for `use()`. */
export type HTTPFastifyPlugin<O extends Record<string, unknown> = Record<string, unknown>> =
  | FastifyPluginCallback<O>
  | FastifyPluginAsync<O>;

/** The HTTP component: a `NodePlugin` plus runtime routing and access control. */
export interface HTTPComponent<T extends TopicMap = AnyTopics> extends NodePlugin<T> {
  /** The Fastify instance while started (or the one given in the options). */
  readonly fastify: FastifyInstance | undefined;
  /** The bound address while listening. */
  readonly address: { host: string; port: number } | undefined;
  /** `http://127.0.0.1:41234` (or https) while listening. */
  readonly url: string | undefined;
  /** Addresses allowed to connect (empty = all); edits apply to the next request. */
  readonly allowList: AddressList;
  /** Addresses refused with 403; edits apply to the next request. */
  readonly denyList: AddressList;
  /**
   * Adds a route: a handler, or Fastify route options with a handler (`{ schema, onRequest, preHandler,
   * handler, … }`). Before the node starts it becomes a Fastify route at start; while serving, a plain
   * handler is served at once and a route with options throws `SYSTEMGE_ERR_HTTP_STATE` (see the README).
   * Throws `SYSTEMGE_ERR_HTTP_ROUTE_EXISTS` for a duplicate.
   */
  addRoute<U extends string, RG extends RouteGenericInterface = RouteGenericOf<U>>(
    method: string | readonly string[],
    url: U,
    route: HTTPRouteHandler<T, RG> | HTTPRouteSpec<T, RG>,
  ): void;
  /** `addRoute('GET /path', handler)` or `addRoute('POST /items', { schema, handler })`; `request.params` is typed from the key. */
  addRoute<K extends string, RG extends RouteGenericInterface = RouteGenericOf<K>>(
    key: K,
    route: HTTPRouteHandler<T, RG> | HTTPRouteSpec<T, RG>,
  ): void;
  /** `addRoute({ method, url, schema, handler, … })`, like Fastify's `route()`. */
  addRoute<RG extends RouteGenericInterface = RouteGenericInterface>(route: HTTPRoute<T, RG>): void;
  /** Removes a route; later requests get 404. Returns whether it existed. */
  removeRoute(method: string, url: string): boolean;
  removeRoute(key: string): boolean;
  /** The routes served now. */
  routes(): RouteKey[];
  /**
   * Adds routes, hooks or plugins to the component's Fastify scope (e.g. a WebSocket endpoint on the
   * same port), each in its own child scope. Applied at every start, before listening, so call it before
   * the node starts. Returns a function that removes the mount from later starts.
   */
  register(mount: HTTPMount): () => void;
  /**
   * Registers a Fastify plugin in the scope the routes live in, before them, at every start (like
   * `fastify.register(plugin, options)`: a plugin wrapped with `fastify-plugin` applies to the routes).
   * Call it before the node starts. Returns a function that removes it from later starts.
   */
  use<O extends Record<string, unknown>>(plugin: HTTPFastifyPlugin<O>, options?: O): () => void;
  /** `http:routes`, `http:access`, `http:allow <cidr>`, `http:deny <cidr>`, `http:forget <cidr>` (prefix = `name`). */
  getCommandHandlers(): CommandHandlers;
  /** Request totals; see the README for the keys. */
  getStats(): Record<string, number>;
  /** Requests by route and status class, address rejections and the route count, as labelled samples. */
  getMetrics(): PluginMetric[];
  /** URL, routes and access lists. */
  describe(): Record<string, unknown>;
}

class HTTPComponentImpl<T extends TopicMap> implements HTTPComponent<T> {
  readonly name: string;
  readonly allowList: AddressList;
  readonly denyList: AddressList;
  private readonly options: ResolvedOptions;
  private readonly https: HTTPSOptions | undefined;
  private readonly external: FastifyInstance | undefined;
  readonly table = new RouteTable<HTTPRouteHandler<T>>();
  readonly counters = new RequestCounters();
  private readonly mounts = new Set<HTTPMount>();
  private readonly plugins = new Set<{ plugin: HTTPFastifyPlugin<any>; options: Record<string, unknown> | undefined }>();
  private readonly routeMounts = new RouteMounts<T>(this);
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

  get bodyLimit(): number {
    return this.options.bodyLimit;
  }

  servingNode(): SystemgeNode<T> | undefined {
    return this.serving ? this.node : undefined;
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

  addRoute(...args: unknown[]): void {
    const definitions = addRouteDefinitions<HTTPRouteHandler<T>>(args);
    for (const definition of definitions) {
      this.table.check(definition);
      this.routeMounts.checkLate(definition);
    }
    for (const definition of definitions) this.table.add(definition);
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
    this.refuseWhileBuilt('register mounts');
    this.mounts.add(mount);
    return () => {
      this.mounts.delete(mount);
    };
  }

  use<O extends Record<string, unknown>>(plugin: HTTPFastifyPlugin<O>, options?: O): () => void {
    if (typeof plugin !== 'function') throw new HTTPConfigError('use', 'plugin must be a Fastify plugin function');
    this.refuseWhileBuilt('add plugins');
    const item = { plugin: plugin as HTTPFastifyPlugin<any>, options };
    this.plugins.add(item);
    return () => {
      this.plugins.delete(item);
    };
  }

  private refuseWhileBuilt(what: string): void {
    if (this.serving || this.installedOnExternal) {
      throw new HTTPStateError(`HTTP component "${this.name}" is already serving; ${what} before the node starts`);
    }
  }

  async start(context: PluginContext<T>): Promise<void> {
    if (this.serving) throw new HTTPStateError(`HTTP component "${this.name}" is already started`);
    this.node = context.node;
    this.logger = context.logger;
    // The component's own server is built anew at every start; a given instance keeps its scope.
    if (this.external === undefined) this.routeMounts.reset();
    this.loadApplicationRoutes(context.application);

    if (this.external !== undefined) {
      if (!this.installedOnExternal) {
        try {
          await this.external.register((scope) => this.install(scope));
        } catch (error) {
          this.routeMounts.reset();
          throw installError(error, 'cannot add routes to the given Fastify instance', true);
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
      this.routeMounts.reset();
      if ((error as { code?: string }).code?.startsWith('E') === true) throw new HTTPListenError(o.host, o.port, { cause: error });
      throw installError(error, 'cannot build the routes', false);
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
    this.routeMounts.reset();
    const timer = setTimeout(() => fastify.server.closeAllConnections(), this.options.closeTimeoutMs);
    try {
      await fastify.close();
    } finally {
      clearTimeout(timer);
    }
  }

  getCommandHandlers(): CommandHandlers {
    const p = this.name;
    const access = (): { allow: string[]; deny: string[] } => ({ allow: this.allowList.entries(), deny: this.denyList.entries() });
    const entry = (args: string[], usage: string): string => {
      if (args[0] === undefined) throw new Error(`usage: ${usage}`);
      return args[0];
    };
    return {
      [`${p}:routes`]: () =>
        this.routes()
          .map((r) => `${r.method} ${r.url}`)
          .join('\n'),
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

  getMetrics(): PluginMetric[] {
    return [
      ...this.counters.metrics(),
      { name: 'http_routes', help: 'Routes registered on the HTTP component.', type: 'gauge', value: this.table.size },
    ];
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

  /**
   * Replaces the application's routes with what `getHttpMessageHandlers()` gives now. On a scope that is
   * already built (a given `fastify`, second start), a route whose key is mounted takes over that Fastify
   * route; a new one must be a plain handler (served by the fallback).
   */
  private loadApplicationRoutes(application: Application<T>): void {
    const source = (application as HTTPComponentApplication<T>).getHttpMessageHandlers?.();
    const definitions = applicationRouteDefinitions<HTTPRouteHandler<T>>(source);
    const previous = this.appRouteKeys;
    for (const key of previous) this.table.remove(key.method, key.url);
    this.appRouteKeys = [];
    try {
      for (const definition of definitions) this.addApplicationRoute(definition);
    } catch (error) {
      for (const key of this.appRouteKeys) this.table.remove(key.method, key.url);
      this.appRouteKeys = [];
      throw error;
    }
  }

  private addApplicationRoute(definition: RouteDefinition<HTTPRouteHandler<T>>): void {
    this.table.check(definition);
    const key = routeKey(definition.method, definition.url);
    if (!this.routeMounts.live || !this.routeMounts.hasKey(key)) this.routeMounts.checkLate(definition);
    const entry = this.table.add(definition);
    if (this.routeMounts.live) this.routeMounts.adopt(entry);
    this.appRouteKeys.push({ method: entry.method, url: entry.url });
  }

  private externalAddress(): { host: string; port: number } | undefined {
    const address = this.external?.server.address();
    return typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined;
  }

  /** Everything the component adds to a Fastify instance, in one encapsulated scope. */
  private async install(scope: FastifyInstance): Promise<void> {
    scope.addHook(
      'onRequest',
      addressCheck(this.allowList, this.denyList, (address, reason) => {
        this.counters.rejectedByAddress++;
        this.logger?.debug({ plugin: this.name, address, reason }, 'HTTP request refused by address');
      }),
    );
    scope.addHook('onResponse', (request, reply, done) => {
      const label = routeLabel(request);
      if (label === UNCOUNTED) {
        done();
        return;
      }
      const mounted = request.routeOptions.url;
      const route = label ?? (mounted === undefined || mounted === '/*' ? UNMATCHED_ROUTE : `${request.method} ${mounted}`);
      this.counters.record(route, reply.statusCode);
      done();
    });
    // Systemge errors thrown by handlers (no route, peer lost, timeout...) answer with a fitting status.
    scope.setErrorHandler(systemgeErrorHandler);
    for (const { plugin, options } of this.plugins) await scope.register(plugin, options ?? {});
    for (const mount of this.mounts) await scope.register(async (child) => mount(child));
    // Every route becomes a Fastify route; a gate on each and a fallback keep runtime changes working.
    this.routeMounts.mountAll(scope);
  }
}

/**
 * Names a failure while the component declares its routes and mounts on Fastify: a route Fastify already
 * has (e.g. one of the instance owner's, or a mount's) is `RouteExistsError`; an instance that is already
 * ready or listening is `HTTPStateError`; anything else (a plugin or mount that threw) is, on a given
 * instance, `HTTPConfigError` naming `fastify`, and otherwise itself.
 */
function installError(error: unknown, what: string, givenInstance: boolean): unknown {
  const e = error as { code?: string; message?: string };
  if (e.code === 'FST_ERR_DUPLICATED_ROUTE') {
    const m = /Method '([^']+)' already declared for route '([^']*)'/.exec(e.message ?? '');
    return new RouteExistsError(m?.[1] ?? 'a method', m?.[2] ?? 'a URL', { cause: error });
  }
  if (e.code === 'AVV_ERR_ROOT_PLG_BOOTED' || e.code === 'FST_ERR_INSTANCE_ALREADY_LISTENING') {
    return new HTTPStateError(`${what}: the instance is already ready or listening (give it before calling ready() or listen())`, {
      cause: error,
    });
  }
  if (error instanceof SystemgeError || !givenInstance) return error;
  return new HTTPConfigError('fastify', `${what}: ${e.message ?? String(error)}`, { cause: error });
}

/**
 * Creates the HTTP component. Its routes come from `application.getHttpMessageHandlers()` at start and
 * from `addRoute()` at any time. Pass it to `createNode(config, app, { plugins: [http] })`.
 */
export function httpComponent<T extends TopicMap = AnyTopics>(options: HTTPComponentOptions = {}): HTTPComponent<T> {
  return new HTTPComponentImpl<T>(options);
}
