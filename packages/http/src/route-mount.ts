import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import type { SystemgeNode, TopicMap } from '@systemge/node';
import { HTTPStateError } from './http-errors.js';
import { UNMATCHED_ROUTE, type RequestCounters } from './request-counters.js';
import { routeKey, type RouteEntry, type RouteMatch, type RouteTable } from './route-table.js';
import { hasRouteOptions, routeOptionNames, type HTTPRouteHandler, type RouteDefinition } from './routes.js';

/** What the mounted routes need from the component. */
export interface MountHost<T extends TopicMap> {
  readonly name: string;
  readonly table: RouteTable<HTTPRouteHandler<T>>;
  readonly counters: RequestCounters;
  readonly bodyLimit: number;
  /** The node while the component serves; undefined answers 503. */
  servingNode(): SystemgeNode<T> | undefined;
}

const FALLBACK_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];
const ROUTE = Symbol('systemge.http.route');
const LATE = Symbol('systemge.http.late');
/** Counted already (by the not-found path), so the scope's onResponse hook skips it. */
export const UNCOUNTED = '';

type TaggedRequest = FastifyRequest & { [ROUTE]?: string; [LATE]?: RouteMatch<HTTPRouteHandler<any>> };

/** The counter label the route-dispatch code put on a request, if any. */
export function routeLabel(request: FastifyRequest): string | undefined {
  return (request as TaggedRequest)[ROUTE];
}

/** The Fastify route built for one key in the current scope, and the entry it was built from. */
interface Slot<T extends TopicMap> {
  key: string;
  entry: RouteEntry<HTTPRouteHandler<T>>;
}

/**
 * Turns the route table into Fastify routes. Fastify fixes its routes when a scope becomes ready and
 * cannot remove them, so:
 * - every route in the table when the scope is built becomes a real Fastify route, with its schema, hooks
 *   and options; a first `onRequest` hook (the gate) answers 404 once the route has been removed, before
 *   any of its own hooks, parsing or validation run;
 * - a route added later (a plain handler only) is served by a fallback wildcard route that looks it up in
 *   the table; the gate of a removed plain route also hands its requests to such later routes;
 * - the next scope (the next start of the component's own server) mounts them all as real routes.
 */
export class RouteMounts<T extends TopicMap> {
  private readonly slots = new Map<string, Slot<T>>();
  /** Routes are fixed: the scope was built. */
  private built = false;
  /** A route was added after the scope was built, so plain mounted routes look for it. */
  private lateAdded = false;

  constructor(private readonly host: MountHost<T>) {}

  /** Whether the current scope was built, so that new routes can only go through the fallback. */
  get live(): boolean {
    return this.built;
  }

  /** Whether `key` has a Fastify route in the current scope. */
  hasKey(key: string): boolean {
    return this.slots.has(key);
  }

  /** Forgets the scope (the component's own Fastify instance was closed). */
  reset(): void {
    this.slots.clear();
    this.built = false;
    this.lateAdded = false;
  }

  /**
   * Throws `SYSTEMGE_ERR_HTTP_STATE` when a route cannot be served as asked because the scope is built:
   * it carries Fastify options, or its key is still mounted with options from before its removal.
   */
  checkLate(definition: RouteDefinition<HTTPRouteHandler<T>>): void {
    if (!this.built) return;
    this.lateAdded = true;
    const key = routeKey(definition.method, definition.url);
    if (hasRouteOptions(definition.options)) {
      throw new HTTPStateError(
        `route ${key} carries Fastify route options (${routeOptionNames(definition.options)}), which are fixed when HTTP component "${this.host.name}" builds its routes at start: add it before the node starts, or restart the node`,
      );
    }
    const slot = this.slots.get(key);
    if (slot !== undefined && hasRouteOptions(slot.entry.options)) {
      throw new HTTPStateError(
        `route ${key} was removed while serving and its Fastify route keeps its old options until HTTP component "${this.host.name}" restarts`,
      );
    }
  }

  /**
   * On a scope that stays built across starts (a given `fastify`), a route the application gives again at
   * a later start takes over its mounted key: the new handler runs with the options mounted first.
   */
  adopt(entry: RouteEntry<HTTPRouteHandler<T>>): boolean {
    const slot = this.slots.get(entry.key);
    if (slot === undefined) return false;
    slot.entry = entry;
    return true;
  }

  /** Declares every route of the table on `scope`, then the fallback. Call once per scope. */
  mountAll(scope: FastifyInstance): void {
    // A HEAD route must come before the GET route on the same URL, or Fastify's automatic HEAD route clashes.
    const entries = [...this.host.table.values()].sort((a, b) => Number(b.method === 'HEAD') - Number(a.method === 'HEAD'));
    for (const entry of entries) this.mount(scope, entry);
    // A method with a catch-all route of its own needs no fallback (Fastify adds HEAD /* for GET /*).
    const taken = new Set(entries.filter((e) => e.url === '/*').flatMap((e) => (e.method === 'GET' ? ['GET', 'HEAD'] : [e.method])));
    const methods = FALLBACK_METHODS.filter((m) => !taken.has(m));
    this.built = true;
    if (methods.length === 0) return;
    scope.route({
      method: methods,
      url: '/*',
      bodyLimit: this.host.bodyLimit,
      handler: (request, reply) => {
        const node = this.host.servingNode();
        if (node === undefined) return this.unavailable(reply);
        const match = this.host.table.find(request.method, request.url);
        // A mounted route is reached through its own Fastify route, never through here.
        if (match === undefined || this.isMounted(match.entry)) return this.notFound(request, reply);
        (request as TaggedRequest)[ROUTE] = match.entry.key;
        request.params = match.params;
        return match.entry.handler(request, reply, node);
      },
    });
  }

  /** Whether `entry` itself (not an earlier route with its key) has a Fastify route in the scope. */
  private isMounted(entry: RouteEntry<HTTPRouteHandler<T>>): boolean {
    return this.slots.get(entry.key)?.entry === entry;
  }

  /** The route added after the scope was built that the table matches for this request, if any. */
  private lateMatch(request: FastifyRequest): RouteMatch<HTTPRouteHandler<T>> | undefined {
    const match = this.host.table.find(request.method, request.url);
    return match === undefined || this.isMounted(match.entry) ? undefined : match;
  }

  private mount(scope: FastifyInstance, entry: RouteEntry<HTTPRouteHandler<T>>): void {
    const slot: Slot<T> = { key: entry.key, entry };
    this.slots.set(entry.key, slot);
    const plain = !hasRouteOptions(entry.options);
    const gate: onRequestHookHandler = (request, reply, done) => {
      if (this.host.servingNode() === undefined) {
        this.unavailable(reply);
        return;
      }
      const tagged = request as TaggedRequest;
      const current = this.host.table.get(slot.key) === slot.entry;
      // A route with options keeps every request its pattern matches (its hooks and schema run before any
      // handler): served while current, 404 once removed.
      if (!plain) {
        if (current) {
          tagged[ROUTE] = slot.key;
          done();
        } else this.notFound(request, reply);
        return;
      }
      // A plain route (no hooks or schema of its own) lets a route added later take the request: when it was
      // removed, or when the later route matches the URL more precisely.
      const late = current && !this.lateAdded ? undefined : this.lateMatch(request);
      if (late !== undefined) {
        tagged[ROUTE] = late.entry.key;
        tagged[LATE] = late;
        done();
        return;
      }
      if (!current) {
        this.notFound(request, reply);
        return;
      }
      tagged[ROUTE] = slot.key;
      done();
    };
    const own = entry.options.onRequest;
    const route = {
      bodyLimit: this.host.bodyLimit,
      ...entry.options,
      method: entry.method,
      url: entry.url,
      onRequest: own === undefined ? [gate] : [gate, ...(Array.isArray(own) ? own : [own])],
      handler: (request: FastifyRequest, reply: FastifyReply) => {
        const node = this.host.servingNode() as SystemgeNode<T>;
        const late = (request as TaggedRequest)[LATE];
        if (late !== undefined) {
          request.params = late.params;
          return late.entry.handler(request, reply, node);
        }
        return slot.entry.handler(request, reply, node);
      },
    } as RouteOptions;
    scope.route(route);
  }

  private unavailable(reply: FastifyReply): FastifyReply {
    return reply
      .code(503)
      .send({ statusCode: 503, error: 'Service Unavailable', message: `HTTP component "${this.host.name}" is not started` });
  }

  private notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    // The not-found handler runs in the root context, outside the scope's onResponse hook.
    reply.raw.once('close', () => this.host.counters.record(UNMATCHED_ROUTE, reply.raw.statusCode));
    (request as TaggedRequest)[ROUTE] = UNCOUNTED;
    reply.callNotFound();
    return reply;
  }
}
