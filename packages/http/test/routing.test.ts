import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponent, type HTTPComponentApplication } from '../src/index.js';
import { routeCounts, startNode } from './helpers.js';

/** Contextual types for handler parameters. */
const app = (application: HTTPComponentApplication): HTTPComponentApplication => application;

function fastifyOf(http: HTTPComponent): FastifyInstance {
  const fastify = http.fastify;
  if (fastify === undefined) throw new Error('HTTP component not started');
  return fastify;
}

describe('HTTP routing', () => {
  it('serves the application routes from a map with params, bodies, return values and reply.send', async () => {
    const http = httpComponent();
    const node = await startNode(
      { name: 'web' },
      app({
        getHttpMessageHandlers: () => ({
          'GET /hello': () => ({ hello: 'world' }),
          'GET /users/:id': (request) => ({ id: (request.params as { id: string }).id }),
          'POST /echo': async (request) => ({ got: request.body }),
          'PUT /manual': (_request, reply) => {
            void reply.code(201).send('created');
          },
          'GET /node': (_request, _reply, n) => n.name,
        }),
      }),
      [http],
    );
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ method: 'GET', url: '/hello' })).json()).toEqual({ hello: 'world' });
    expect((await fastify.inject({ method: 'GET', url: '/users/42?x=1' })).json()).toEqual({ id: '42' });
    expect((await fastify.inject({ method: 'POST', url: '/echo', payload: { a: [1, 2] } })).json()).toEqual({ got: { a: [1, 2] } });
    const manual = await fastify.inject({ method: 'PUT', url: '/manual' });
    expect([manual.statusCode, manual.body]).toEqual([201, 'created']);
    expect((await fastify.inject({ method: 'GET', url: '/node' })).body).toBe(node.name);
    const head = await fastify.inject({ method: 'HEAD', url: '/hello' });
    expect([head.statusCode, head.body]).toEqual([200, '']);
    expect((await fastify.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
    expect((await fastify.inject({ method: 'DELETE', url: '/hello' })).statusCode).toBe(404);
  });

  it('serves routes given as an array with several methods', async () => {
    const http = httpComponent();
    await startNode(
      { name: 'web' },
      app({ getHttpMessageHandlers: () => [{ method: ['GET', 'POST'], url: '/both', handler: (r) => r.method }] }),
      [http],
    );
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ method: 'GET', url: '/both' })).body).toBe('GET');
    expect((await fastify.inject({ method: 'POST', url: '/both' })).body).toBe('POST');
    expect(http.routes()).toEqual([
      { method: 'GET', url: '/both' },
      { method: 'POST', url: '/both' },
    ]);
  });

  it('adds and removes routes at runtime, and refuses duplicates by code', async () => {
    const http = httpComponent();
    await startNode({ name: 'web' }, {}, [http]);
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ method: 'GET', url: '/items/7' })).statusCode).toBe(404);

    http.addRoute('GET /items/:id', (request) => `v1 ${(request.params as { id: string }).id}`);
    expect((await fastify.inject({ method: 'GET', url: '/items/7' })).body).toBe('v1 7');
    expect(() => http.addRoute('GET', '/items/:id', () => 'dup')).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_ROUTE_EXISTS' }),
    );

    expect(http.removeRoute('GET /items/:id')).toBe(true);
    expect(http.removeRoute('GET', '/items/:id')).toBe(false);
    expect((await fastify.inject({ method: 'GET', url: '/items/7' })).statusCode).toBe(404);

    http.addRoute('GET', '/items/:id', (request) => `v2 ${(request.params as { id: string }).id}`);
    expect((await fastify.inject({ method: 'GET', url: '/items/8' })).body).toBe('v2 8');
    expect(() => http.addRoute('FETCH /x', () => 1)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_CONFIG' }));
    expect(() => http.addRoute('no-slash', () => 1)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_CONFIG' }));
  });

  it('turns a throwing handler into a 500 and keeps serving', async () => {
    const http = httpComponent();
    await startNode(
      { name: 'web' },
      app({
        getHttpMessageHandlers: () => ({
          'GET /boom': () => {
            throw new Error('kaput');
          },
          'GET /reject': async () => Promise.reject(new Error('async kaput')),
          'GET /ok': () => 'ok',
        }),
      }),
      [http],
    );
    const fastify = fastifyOf(http);
    const boom = await fastify.inject({ method: 'GET', url: '/boom' });
    expect([boom.statusCode, boom.json().message]).toEqual([500, 'kaput']);
    expect((await fastify.inject({ method: 'GET', url: '/reject' })).statusCode).toBe(500);
    expect((await fastify.inject({ method: 'GET', url: '/ok' })).body).toBe('ok');
  });

  it('counts requests per route and status class, and describes its URL', async () => {
    const http = httpComponent();
    await startNode(
      { name: 'web' },
      app({
        getHttpMessageHandlers: () => ({
          'GET /a/:id': () => 'a',
          'GET /bad': (_r, reply) => reply.code(400).send('bad'),
        }),
      }),
      [http],
    );
    const fastify = fastifyOf(http);
    await fastify.inject({ method: 'GET', url: '/a/1' });
    await fastify.inject({ method: 'GET', url: '/a/2' });
    await fastify.inject({ method: 'GET', url: '/bad' });
    await fastify.inject({ method: 'GET', url: '/missing-1' });
    await fastify.inject({ method: 'GET', url: '/missing-2' });
    const stats = http.getStats();
    expect(stats).toMatchObject({
      requests_total: 5,
      responses_2xx_total: 2,
      responses_4xx_total: 3,
      routes: 2,
    });
    const byRoute = routeCounts(http);
    expect(byRoute).toEqual({ 'GET /a/:id 2xx': 2, 'GET /bad 4xx': 1, 'unmatched 4xx': 2 });
    expect(Object.keys(byRoute).some((k) => k.includes('missing'))).toBe(false);
    expect(http.describe()).toMatchObject({ url: http.url, serving: true, routes: 2 });
    expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('offers commands through the node and survives a node restart', async () => {
    const http = httpComponent();
    const node = await startNode({ name: 'web' }, app({ getHttpMessageHandlers: () => ({ 'GET /x': () => 'x' }) }), [http]);
    http.addRoute('GET /runtime', () => 'r');
    expect(await node.command('http:routes')).toBe('GET /x\nGET /runtime');
    await node.command('http:deny', ['10.0.0.0/8']);
    expect(await node.command('http:access')).toEqual({ allow: [], deny: ['10.0.0.0/8'] });
    const firstUrl = http.url;
    await node.restart();
    expect(http.url).not.toBeUndefined();
    expect(http.url).not.toBe(firstUrl);
    const fastify = fastifyOf(http);
    expect((await fastify.inject({ method: 'GET', url: '/x' })).body).toBe('x');
    expect((await fastify.inject({ method: 'GET', url: '/runtime' })).body).toBe('r');
    await node.stop();
    expect(http.url).toBeUndefined();
    expect(http.fastify).toBeUndefined();
  });

  it('adds its routes to an existing Fastify instance without listening on or closing it', async () => {
    const server = Fastify();
    server.get('/own', async () => 'own route');
    const http = httpComponent({ fastify: server });
    http.register((scope) => {
      scope.get('/mounted', async () => 'mounted');
    });
    const node = await startNode({ name: 'web' }, app({ getHttpMessageHandlers: () => ({ 'GET /sg': () => 'systemge' }) }), [http]);
    await server.ready();
    expect((await server.inject({ url: '/own' })).body).toBe('own route');
    expect((await server.inject({ url: '/sg' })).body).toBe('systemge');
    expect((await server.inject({ url: '/mounted' })).body).toBe('mounted');
    expect((await server.inject({ url: '/none' })).statusCode).toBe(404);
    expect(() => http.register(() => {})).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_STATE' }));
    await node.stop();
    expect((await server.inject({ url: '/sg' })).statusCode).toBe(503);
    expect((await server.inject({ url: '/own' })).body).toBe('own route');
    await server.close();
  });

  it('rejects invalid options with SYSTEMGE_ERR_HTTP_CONFIG naming the option', () => {
    const bad: [Parameters<typeof httpComponent>[0], string][] = [
      [{ port: 70000 }, 'port'],
      [{ bodyLimit: -1 }, 'bodyLimit'],
      [{ allow: ['300.1.1.1'] }, 'allow'],
      [{ deny: ['10.0.0.0/33'] }, 'deny'],
      [{ requestTimeoutMs: 1000, headersTimeoutMs: 2000 }, 'headersTimeoutMs'],
    ];
    for (const [options, option] of bad) {
      expect(() => httpComponent(options)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_CONFIG', option }));
    }
  });
});
