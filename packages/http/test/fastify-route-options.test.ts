import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponent, type HTTPComponentApplication } from '../src/index.js';
import { routeCounts, startNode } from './helpers.js';

const app = (application: HTTPComponentApplication): HTTPComponentApplication => application;

function fastifyOf(http: HTTPComponent): FastifyInstance {
  const fastify = http.fastify;
  if (fastify === undefined) throw new Error('HTTP component not started');
  return fastify;
}

const itemSchema = {
  body: {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string', minLength: 1 } },
    additionalProperties: false,
  },
} as const;

describe('routes are Fastify routes with their own options', () => {
  it('validates a body against the route JSON schema: 400 on a bad body, the handler never runs', async () => {
    const http = httpComponent();
    let handled = 0;
    await startNode(
      { name: 'web' },
      app({
        getHttpMessageHandlers: () => ({
          'POST /items': {
            schema: itemSchema,
            handler: (request) => {
              handled++;
              return { created: (request.body as { name: string }).name };
            },
          },
        }),
      }),
      [http],
    );
    const fastify = fastifyOf(http);
    const good = await fastify.inject({ method: 'POST', url: '/items', payload: { name: 'lamp' } });
    expect([good.statusCode, good.json()]).toEqual([200, { created: 'lamp' }]);
    const missing = await fastify.inject({ method: 'POST', url: '/items', payload: { title: 'lamp' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'FST_ERR_VALIDATION', message: expect.stringContaining('name') });
    const empty = await fastify.inject({ method: 'POST', url: '/items', payload: { name: '' } });
    expect(empty.statusCode).toBe(400);
    expect(handled).toBe(1);
    expect(routeCounts(http)).toMatchObject({
      'POST /items 2xx': 1,
      'POST /items 4xx': 2,
    });
  });

  it('runs the route onRequest and preHandler hooks, after the address check', async () => {
    const http = httpComponent();
    const seen: string[] = [];
    await startNode(
      { name: 'web' },
      app({
        getHttpMessageHandlers: () => [
          {
            method: 'GET',
            url: '/guarded',
            onRequest: (request, reply, done) => {
              seen.push('onRequest');
              if (request.headers.authorization !== 'Bearer open-sesame') {
                void reply.code(401).send({ error: 'no token' });
                return;
              }
              done();
            },
            preHandler: async () => {
              seen.push('preHandler');
            },
            handler: () => {
              seen.push('handler');
              return 'in';
            },
          },
        ],
      }),
      [http],
    );
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ url: '/guarded' })).statusCode).toBe(401);
    expect(seen).toEqual(['onRequest']);
    const ok = await fastify.inject({ url: '/guarded', headers: { authorization: 'Bearer open-sesame' } });
    expect([ok.statusCode, ok.body]).toEqual([200, 'in']);
    expect(seen).toEqual(['onRequest', 'onRequest', 'preHandler', 'handler']);

    http.denyList.add('127.0.0.1');
    const denied = await fastify.inject({ url: '/guarded', remoteAddress: '127.0.0.1', headers: { authorization: 'Bearer open-sesame' } });
    expect(denied.statusCode).toBe(403);
    expect(seen).toHaveLength(4);
  });

  it('applies a Fastify plugin given to use() to the routes, and takes plugins only before start', async () => {
    const http = httpComponent();
    // Marked like fastify-plugin does, so its hook and decorator reach the routes' scope.
    const stamp: FastifyPluginCallback<{ header: string }> = (scope, options, done) => {
      scope.decorateRequest('stamp', '');
      scope.addHook('onRequest', (request, reply, next) => {
        (request as unknown as { stamp: string }).stamp = options.header;
        void reply.header('x-stamp', options.header);
        next();
      });
      done();
    };
    (stamp as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
    http.use(stamp, { header: 'v1' });
    http.addRoute('GET /stamped', (request) => ({ stamp: (request as unknown as { stamp: string }).stamp }));
    await startNode({ name: 'web' }, {}, [http]);
    const response = await fastifyOf(http).inject({ url: '/stamped' });
    expect(response.headers['x-stamp']).toBe('v1');
    expect(response.json()).toEqual({ stamp: 'v1' });
    expect(() => http.use(stamp, { header: 'v2' })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_STATE' }));
  });

  it('takes a per-route bodyLimit and an addRoute(route) object before start', async () => {
    const http = httpComponent({ bodyLimit: 100_000 });
    http.addRoute({ method: 'POST', path: '/tiny', bodyLimit: 64, handler: () => 'ok' });
    await startNode({ name: 'web' }, {}, [http]);
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ method: 'POST', url: '/tiny', payload: { a: 'x' } })).statusCode).toBe(200);
    expect((await fastify.inject({ method: 'POST', url: '/tiny', payload: { a: 'x'.repeat(200) } })).statusCode).toBe(413);
  });
});

describe('runtime route changes', () => {
  it('answers 404 for a removed route before its hooks or schema run, until it is given again at the next start', async () => {
    const http = httpComponent();
    let hookRuns = 0;
    const node = await startNode({ name: 'web' }, {}, [http]);
    await node.stop();
    http.addRoute('POST /items', {
      schema: itemSchema,
      onRequest: async () => {
        hookRuns++;
      },
      handler: () => 'created',
    });
    await node.start();
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ method: 'POST', url: '/items', payload: { name: 'a' } })).body).toBe('created');
    expect(hookRuns).toBe(1);

    expect(http.removeRoute('POST /items')).toBe(true);
    const afterRemoval = await fastify.inject({ method: 'POST', url: '/items', payload: { bad: true } });
    expect(afterRemoval.statusCode).toBe(404);
    expect(hookRuns).toBe(1);
    expect(routeCounts(http)).toMatchObject({ 'unmatched 4xx': 1 });

    // While serving, Fastify's route keeps the old options: the same key cannot come back until a restart.
    expect(() => http.addRoute('POST /items', () => 'plain')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_STATE' }));
    // Options are fixed when the routes are built: refused while serving, accepted before the next start.
    const withSchema = { schema: itemSchema, handler: () => 'v2' };
    expect(() => http.addRoute('POST /things', withSchema)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_STATE' }));
    expect(http.routes()).toEqual([]);

    await node.stop();
    http.addRoute('POST /things', withSchema);
    await node.start();
    const restarted = fastifyOf(http);
    expect((await restarted.inject({ method: 'POST', url: '/things', payload: { name: 'b' } })).body).toBe('v2');
    expect((await restarted.inject({ method: 'POST', url: '/things', payload: {} })).statusCode).toBe(400);
  });

  it('serves plain handlers added while serving at once, and replaces a removed plain route', async () => {
    const http = httpComponent();
    await startNode(
      { name: 'web' },
      app({ getHttpMessageHandlers: () => ({ 'GET /items/:id': (r) => `start ${(r.params as { id: string }).id}` }) }),
      [http],
    );
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ url: '/items/1' })).body).toBe('start 1');

    expect(http.removeRoute('GET /items/:id')).toBe(true);
    expect((await fastify.inject({ url: '/items/1' })).statusCode).toBe(404);
    http.addRoute('GET /items/:id', (r) => `runtime ${(r.params as { id: string }).id}`);
    expect((await fastify.inject({ url: '/items/2' })).body).toBe('runtime 2');

    // A pattern with other parameter names reaches the new route through the removed one.
    expect(http.removeRoute('GET /items/:id')).toBe(true);
    http.addRoute('GET /items/:sku', (r) => `sku ${(r.params as { sku: string }).sku}`);
    expect((await fastify.inject({ url: '/items/3' })).body).toBe('sku 3');

    http.addRoute('POST /late', async (r) => ({ got: r.body }));
    expect((await fastify.inject({ method: 'POST', url: '/late', payload: { x: 1 } })).json()).toEqual({ got: { x: 1 } });
    expect(routeCounts(http)).toMatchObject({
      'GET /items/:id 2xx': 2,
      'GET /items/:sku 2xx': 1,
      'POST /late 2xx': 1,
    });
  });

  it('mounts routes added while serving as Fastify routes at the next start', async () => {
    const http = httpComponent();
    const node = await startNode({ name: 'web' }, {}, [http]);
    http.addRoute('GET /late', () => 'late');
    expect(fastifyOf(http).hasRoute({ method: 'GET', url: '/late' })).toBe(false);
    await node.restart();
    const fastify = fastifyOf(http);
    expect(fastify.hasRoute({ method: 'GET', url: '/late' })).toBe(true);
    expect((await fastify.inject({ url: '/late' })).body).toBe('late');
  });

  it('lets a route added while serving take the URLs it matches more precisely than a plain catch-all declared at start', async () => {
    const http = httpComponent();
    await startNode(
      { name: 'web' },
      app({ getHttpMessageHandlers: () => ({ 'GET /*': () => 'catch-all', 'GET /items/:id': () => 'item' }) }),
      [http],
    );
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ url: '/anything' })).body).toBe('catch-all');
    http.addRoute('GET /late', () => 'late');
    http.addRoute('GET /items/special', () => 'special');
    expect((await fastify.inject({ url: '/late' })).body).toBe('late');
    expect((await fastify.inject({ url: '/items/special' })).body).toBe('special');
    expect((await fastify.inject({ url: '/items/7' })).body).toBe('item');
    expect((await fastify.inject({ url: '/other' })).body).toBe('catch-all');
    http.addRoute('POST /late', () => 'posted');
    expect((await fastify.inject({ method: 'POST', url: '/late' })).body).toBe('posted');
  });

  it('keeps the requests a route with options declared at start matches, even when a later route matches them too', async () => {
    const http = httpComponent();
    let guarded = 0;
    await startNode(
      { name: 'web' },
      app({
        getHttpMessageHandlers: () => ({
          'GET /files/:name': {
            onRequest: async () => {
              guarded++;
            },
            handler: (r) => `file ${(r.params as { name: string }).name}`,
          },
        }),
      }),
      [http],
    );
    const fastify = fastifyOf(http);
    http.addRoute('GET /files/index', () => 'late index');
    expect((await fastify.inject({ url: '/files/index' })).body).toBe('file index');
    expect(guarded).toBe(1);
  });
});
