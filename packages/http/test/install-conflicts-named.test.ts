import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponentApplication } from '../src/index.js';
import { onTeardown, startNode } from './helpers.js';

const app: HTTPComponentApplication = { getHttpMessageHandlers: () => ({ 'GET /taken': () => 'component' }) };

describe('failures while the component declares its routes say what happened', () => {
  it('a route the given instance already has is SYSTEMGE_ERR_HTTP_ROUTE_EXISTS, naming method and URL', async () => {
    const server = Fastify();
    onTeardown(() => server.close());
    server.get('/taken', async () => 'owner');
    const http = httpComponent({ fastify: server });
    await expect(startNode({ name: 'web' }, app, [http])).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_HTTP_ROUTE_EXISTS',
      method: 'GET',
      url: '/taken',
    });
  });

  it('a mount that declares a route of the component on its own server is SYSTEMGE_ERR_HTTP_ROUTE_EXISTS', async () => {
    const http = httpComponent();
    http.register((scope) => {
      scope.get('/taken', async () => 'mount');
    });
    await expect(startNode({ name: 'web' }, app, [http])).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_HTTP_ROUTE_EXISTS', url: '/taken' });
  });

  it('an instance that is already ready is SYSTEMGE_ERR_HTTP_STATE, not a config error', async () => {
    const server = Fastify();
    onTeardown(() => server.close());
    await server.ready();
    const http = httpComponent({ fastify: server });
    await expect(startNode({ name: 'web' }, app, [http])).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_HTTP_STATE' });
  });

  it('on a given instance, a later start swaps handlers under the first options and refuses a new route with options', async () => {
    const server = Fastify();
    onTeardown(() => server.close());
    let start = 0;
    let hooked = 0;
    const http = httpComponent({ fastify: server });
    const node = await startNode(
      { name: 'web' },
      {
        getHttpMessageHandlers: () => {
          start++;
          const version = start;
          if (start === 3) return { 'POST /new': { schema: { body: { type: 'object' } }, handler: () => 'new' } };
          return {
            'GET /v': {
              onRequest: async () => {
                hooked++;
              },
              handler: () => `v${version}`,
            },
          };
        },
      },
      [http],
    );
    await server.ready();
    expect((await server.inject({ url: '/v' })).body).toBe('v1');
    await node.stop();
    await node.start();
    expect((await server.inject({ url: '/v' })).body).toBe('v2');
    expect(hooked).toBe(2);
    await node.stop();
    await expect(node.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_HTTP_STATE' });
  });
});
