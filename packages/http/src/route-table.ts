import FindMyWay from 'find-my-way';
import { HTTPConfigError, RouteExistsError } from './http-errors.js';
import type { HTTPRouteOptions, RouteDefinition, RouteKey } from './routes.js';

export { parseRouteKey, type RouteKey } from './routes.js';

/** A route as the table holds it. The object's identity tells a route from a later one with the same key. */
export interface RouteEntry<H> {
  /** `GET /users/:id`: the counter label and table key. */
  key: string;
  method: string;
  url: string;
  handler: H;
  options: HTTPRouteOptions;
}

/** What a lookup found: the route and the URL parameters. */
export interface RouteMatch<H> {
  entry: RouteEntry<H>;
  params: Record<string, string | undefined>;
}

/** `GET /x`, the key of a method and URL. */
export function routeKey(method: string, url: string): string {
  return `${method.toUpperCase()} ${url}`;
}

/**
 * The routes the component serves now. Every route also becomes a Fastify route when the component's
 * scope is built; this table is what decides, per request, whether that route still exists, and it
 * serves routes added after the scope was built (see `route-mount.ts`).
 */
export class RouteTable<H> {
  private readonly router = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false });
  private readonly entries = new Map<string, RouteEntry<H>>();

  /** Checks a definition against the table without adding it: the same errors `add` would throw. */
  check(definition: RouteDefinition<H>): void {
    const upper = definition.method.toUpperCase();
    const { url, option } = definition;
    if (!url.startsWith('/')) throw new HTTPConfigError(option, `URL ${JSON.stringify(url)} must start with "/"`);
    if (this.router.hasRoute(upper as FindMyWay.HTTPMethod, url)) throw new RouteExistsError(upper, url);
    // find-my-way also refuses patterns that differ only in parameter names (`/a/:x` vs `/a/:y`): try on a scratch router.
    const scratch = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false });
    try {
      for (const entry of this.entries.values()) {
        if (entry.method === upper) scratch.on(upper as FindMyWay.HTTPMethod, entry.url, noop);
      }
      scratch.on(upper as FindMyWay.HTTPMethod, url, noop);
    } catch (error) {
      if (error instanceof Error && /already (declared|defined)|conflicts/i.test(error.message)) {
        throw new RouteExistsError(upper, url, { cause: error });
      }
      throw new HTTPConfigError(option, error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  add(definition: RouteDefinition<H>): RouteEntry<H> {
    this.check(definition);
    const method = definition.method.toUpperCase();
    const entry: RouteEntry<H> = {
      key: routeKey(method, definition.url),
      method,
      url: definition.url,
      handler: definition.handler,
      options: definition.options,
    };
    this.router.on(method as FindMyWay.HTTPMethod, definition.url, noop, entry);
    this.entries.set(entry.key, entry);
    return entry;
  }

  remove(method: string, url: string): boolean {
    const upper = method.toUpperCase();
    if (!this.entries.delete(routeKey(upper, url))) return false;
    this.router.off(upper as FindMyWay.HTTPMethod, url);
    return true;
  }

  has(method: string, url: string): boolean {
    return this.entries.has(routeKey(method, url));
  }

  get(key: string): RouteEntry<H> | undefined {
    return this.entries.get(key);
  }

  /** A request URL (query string allowed) to its route; HEAD falls back to GET as in Fastify. */
  find(method: string, url: string): RouteMatch<H> | undefined {
    let found = this.router.find(method as FindMyWay.HTTPMethod, url);
    if (found === null && method === 'HEAD') found = this.router.find('GET', url);
    if (found === null) return undefined;
    return { entry: found.store as RouteEntry<H>, params: found.params };
  }

  values(): IterableIterator<RouteEntry<H>> {
    return this.entries.values();
  }

  list(): RouteKey[] {
    return [...this.entries.values()].map(({ method, url }) => ({ method, url }));
  }

  get size(): number {
    return this.entries.size;
  }
}

function noop(): void {}
