import type { FastifyReply, FastifyRequest, RouteGenericInterface, RouteShorthandOptions } from 'fastify';
import type { AnyTopics, SystemgeNode, TopicMap } from '@systemge/node';
import { HTTPConfigError } from './http-errors.js';

/**
 * Handles one HTTP request. Like a Fastify handler it may return the body (or a promise of it)
 * or use `reply`; it also gets the node, to reach the P2P network. `RG` types the request like Fastify's
 * route generic (`{ Params; Querystring; Body; Headers; Reply }`): `addRoute('GET /users/:id', …)` infers
 * `request.params` as `{ id: string }`, and a handler may annotate its request, e.g.
 * `(request: FastifyRequest<{ Body: Item }>) => …`, in `addRoute` and in `getHttpMessageHandlers()` alike.
 */
export type HTTPRouteHandler<T extends TopicMap = AnyTopics, RG extends RouteGenericInterface = RouteGenericInterface> = {
  // Method syntax: a handler typed for a narrower request (its own route generic) is accepted where any route is.
  handle(request: FastifyRequest<RG>, reply: FastifyReply<RG>, node: SystemgeNode<T>): unknown;
}['handle'];

/** The `:name` parameters of a URL pattern: `'/users/:id/files/:file'` → `{ id: string; file: string }`; `*` → `{ '*': string }`. */
export type RouteParams<Url extends string> = string extends Url ? Record<string, string> : { [K in ParamNames<Url>]: string };

type ParamNames<Url extends string> = Url extends `${infer Segment}/${infer Rest}`
  ? SegmentParam<Segment> | ParamNames<Rest>
  : SegmentParam<Url>;
type SegmentParam<Segment extends string> = Segment extends `${string}:${infer Name}` ? ParamName<Name> : Segment extends '*' ? '*' : never;
// `:id(^\d+)` has a pattern and `:id?` is optional: the name stops there.
type ParamName<Name extends string> = Name extends `${infer N}(${string}` ? N : Name extends `${infer N}?` ? N : Name;

/** The route generic `addRoute` infers from a URL or a `'METHOD /url'` key: its params. */
export type RouteGenericOf<Key extends string> = {
  Params: RouteParams<Key extends `${string} ${infer Url}` ? Url : Key>;
};

/**
 * Fastify's per-route options: `schema`, hooks (`onRequest`, `preParsing`, `preValidation`, `preHandler`,
 * `preSerialization`, `onSend`, `onResponse`, `onTimeout`, `onError`), `config`, `bodyLimit`,
 * `constraints`, `errorHandler`, `attachValidation`, `logLevel`… — everything of Fastify's `RouteOptions`
 * except `method`, `url` and `handler`.
 */
export type HTTPRouteOptions = RouteShorthandOptions;

/** Route options with the handler: an entry of the `{ 'METHOD /url': … }` map (method and URL come from the key). */
export interface HTTPRouteSpec<T extends TopicMap = AnyTopics, RG extends RouteGenericInterface = RouteGenericInterface>
  extends HTTPRouteOptions {
  handler: HTTPRouteHandler<T, RG>;
}

/** One route, close to Fastify's `RouteOptions`: `method` may list several methods; `path` is an alias of `url`. */
export interface HTTPRoute<T extends TopicMap = AnyTopics, RG extends RouteGenericInterface = RouteGenericInterface>
  extends HTTPRouteSpec<T, RG> {
  method: string | readonly string[];
  url?: string;
  path?: string;
}

/** `{ 'GET /path': handler, 'POST /items': { schema, preHandler, handler } }`, or a list of routes. */
export type HTTPMessageHandlers<T extends TopicMap = AnyTopics> =
  | Record<string, HTTPRouteHandler<T> | HTTPRouteSpec<T>>
  | readonly HTTPRoute<T>[];

/** A method and URL pattern as Fastify writes them: `GET /users/:id`. */
export interface RouteKey {
  method: string;
  url: string;
}

/** One method and URL with its handler and Fastify options, ready for the route table. */
export interface RouteDefinition<H> {
  method: string;
  url: string;
  handler: H;
  /** Fastify route options; empty for a plain handler. */
  options: HTTPRouteOptions;
  /** Where the route came from, for error messages (`addRoute`, `getHttpMessageHandlers()[…]`). */
  option: string;
}

const KEY = /^\s*([A-Za-z-]+)\s+(\/\S*)\s*$/;

/** Splits `'GET /path'`. Throws `SYSTEMGE_ERR_HTTP_CONFIG` naming `option` when it is not `METHOD /url`. */
export function parseRouteKey(text: string, option: string): RouteKey {
  const match = KEY.exec(text);
  if (match === null) throw new HTTPConfigError(option, `${JSON.stringify(text)} is not "METHOD /url"`);
  return { method: (match[1] as string).toUpperCase(), url: match[2] as string };
}

/** Whether a route carries Fastify options beyond its handler. */
export function hasRouteOptions(options: HTTPRouteOptions): boolean {
  return Object.keys(options).length > 0;
}

/** The names of the options a route carries, for messages. */
export function routeOptionNames(options: HTTPRouteOptions): string {
  return Object.keys(options).join(', ');
}

/** Splits a spec (a handler, or options with a handler) into handler and options. */
function splitSpec<H>(spec: unknown, option: string): { handler: H; options: HTTPRouteOptions } {
  if (typeof spec === 'function') return { handler: spec as H, options: {} };
  if (typeof spec !== 'object' || spec === null || typeof (spec as { handler?: unknown }).handler !== 'function') {
    throw new HTTPConfigError(option, 'handler must be a function');
  }
  const { handler, method: _method, url: _url, path: _path, ...options } = spec as HTTPRoute;
  return { handler: handler as H, options: options as HTTPRouteOptions };
}

function urlOf(route: HTTPRoute, option: string): string {
  const { url, path } = route;
  if (url !== undefined && path !== undefined && url !== path) throw new HTTPConfigError(option, 'give url or path, not both');
  const chosen = url ?? path;
  if (typeof chosen !== 'string') throw new HTTPConfigError(option, 'url must be a string');
  return chosen;
}

function methodsOf(method: unknown, option: string): string[] {
  const list = typeof method === 'string' ? [method] : method;
  if (!Array.isArray(list) || list.length === 0 || list.some((m) => typeof m !== 'string')) {
    throw new HTTPConfigError(option, 'method must be a string or a non-empty list of strings');
  }
  return list as string[];
}

/** One definition per method of a route object. */
export function routeDefinitions<H>(route: HTTPRoute, option: string): RouteDefinition<H>[] {
  if (typeof route !== 'object' || route === null) throw new HTTPConfigError(option, 'must be a route object');
  const { handler, options } = splitSpec<H>(route, option);
  const url = urlOf(route, option);
  return methodsOf(route.method, option).map((method) => ({ method, url, handler, options, option }));
}

/** The definitions of a `{ 'METHOD /url': spec }` map entry. */
export function keyedDefinition<H>(text: string, spec: unknown, option: string): RouteDefinition<H> {
  const { handler, options } = splitSpec<H>(spec, option);
  const { method, url } = parseRouteKey(text, option);
  return { method, url, handler, options, option };
}

/** The routes of `getHttpMessageHandlers()`; only own keys of a map are read. */
export function applicationRouteDefinitions<H>(source: HTTPMessageHandlers<any> | undefined): RouteDefinition<H>[] {
  if (source === undefined) return [];
  if (Array.isArray(source)) {
    return (source as readonly HTTPRoute[]).flatMap((route, i) => routeDefinitions<H>(route, `getHttpMessageHandlers()[${i}]`));
  }
  return Object.entries(source as Record<string, unknown>).map(([text, spec]) =>
    keyedDefinition<H>(text, spec, `getHttpMessageHandlers()[${JSON.stringify(text)}]`),
  );
}

/** `addRoute(key, spec)`, `addRoute(method(s), url, spec)` or `addRoute(route)`. */
export function addRouteDefinitions<H>(args: unknown[]): RouteDefinition<H>[] {
  if (args.length === 1) return routeDefinitions<H>(args[0] as HTTPRoute, 'addRoute');
  if (args.length === 2) return [keyedDefinition<H>(args[0] as string, args[1], 'addRoute')];
  const { handler, options } = splitSpec<H>(args[2], 'addRoute');
  if (typeof args[1] !== 'string') throw new HTTPConfigError('addRoute', 'url must be a string');
  const url = args[1];
  return methodsOf(args[0], 'addRoute').map((method) => ({ method, url, handler, options, option: 'addRoute' }));
}
