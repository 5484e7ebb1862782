import FindMyWay from 'find-my-way';
import { HTTPConfigError, RouteExistsError } from './http-errors.js';

/** A method and URL pattern as Fastify writes them: `GET /users/:id`. */
export interface RouteKey {
  method: string;
  url: string;
}

interface Entry<H> {
  key: string;
  handler: H;
}

/** What a lookup found: the route key (for counters), its handler and the URL parameters. */
export interface RouteMatch<H> {
  key: string;
  handler: H;
  params: Record<string, string | undefined>;
}

const KEY = /^\s*([A-Za-z-]+)\s+(\/\S*)\s*$/;

/** Splits `'GET /path'`. Throws `SYSTEMGE_ERR_HTTP_CONFIG` naming `option` when it is not `METHOD /url`. */
export function parseRouteKey(text: string, option: string): RouteKey {
  const match = KEY.exec(text);
  if (match === null) throw new HTTPConfigError(option, `${JSON.stringify(text)} is not "METHOD /url"`);
  return { method: (match[1] as string).toUpperCase(), url: match[2] as string };
}

/**
 * The routing indirection: Fastify cannot unregister routes, so the component serves one catch-all
 * route and looks the request up here, where routes come and go at runtime.
 */
export class RouteTable<H> {
  private readonly router = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false });
  private readonly entries = new Map<string, RouteKey>();

  add(method: string, url: string, handler: H, option = 'route'): string {
    const upper = method.toUpperCase();
    if (!url.startsWith('/')) throw new HTTPConfigError(option, `URL ${JSON.stringify(url)} must start with "/"`);
    const key = `${upper} ${url}`;
    if (this.router.hasRoute(upper as FindMyWay.HTTPMethod, url)) throw new RouteExistsError(upper, url);
    const store: Entry<H> = { key, handler };
    try {
      this.router.on(upper as FindMyWay.HTTPMethod, url, noop, store);
    } catch (error) {
      // find-my-way also refuses patterns that differ only in parameter names (`/a/:x` vs `/a/:y`).
      if (error instanceof Error && /already (declared|defined)|conflicts/i.test(error.message)) {
        throw new RouteExistsError(upper, url, { cause: error });
      }
      throw new HTTPConfigError(option, error instanceof Error ? error.message : String(error), { cause: error });
    }
    this.entries.set(key, { method: upper, url });
    return key;
  }

  remove(method: string, url: string): boolean {
    const upper = method.toUpperCase();
    const key = `${upper} ${url}`;
    if (!this.entries.delete(key)) return false;
    this.router.off(upper as FindMyWay.HTTPMethod, url);
    return true;
  }

  has(method: string, url: string): boolean {
    return this.entries.has(`${method.toUpperCase()} ${url}`);
  }

  /** A request URL (query string allowed) to its route; HEAD falls back to GET as in Fastify. */
  find(method: string, url: string): RouteMatch<H> | undefined {
    let found = this.router.find(method as FindMyWay.HTTPMethod, url);
    if (found === null && method === 'HEAD') found = this.router.find('GET', url);
    if (found === null) return undefined;
    const entry = found.store as Entry<H>;
    return { key: entry.key, handler: entry.handler, params: found.params };
  }

  list(): RouteKey[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }
}

function noop(): void {}
