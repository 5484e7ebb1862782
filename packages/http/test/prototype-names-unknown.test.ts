import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponentApplication } from '../src/index.js';
import { routeCounts, startNode } from './helpers.js';

/** Names that an object lookup would find on `Object.prototype`. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const app: HTTPComponentApplication = {
  getHttpMessageHandlers: () => ({
    'GET /hello': () => 'hello',
    'GET /items/:id': (request) => ({ id: (request.params as { id: string }).id }),
  }),
};

describe('paths and names that exist on Object.prototype', () => {
  it('are unmatched routes over a real socket (404, counted as unmatched), or plain parameter values', async () => {
    const http = httpComponent();
    await startNode({ name: 'web' }, app, [http]);
    for (const name of PROTOTYPE_NAMES) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const response = await fetch(`${http.url}/${name}`, { method });
        expect(response.status, `${method} /${name}`).toBe(404);
        const body = (await response.json()) as { message: string };
        expect(body.message).toBe(`Route ${method}:/${name} not found`);
      }
      const param = await fetch(`${http.url}/items/${name}`);
      expect(await param.json()).toEqual({ id: name });
    }
    const stats = routeCounts(http);
    expect(stats['unmatched 4xx']).toBe(PROTOTYPE_NAMES.length * 3);
    expect(stats['GET /items/:id 2xx']).toBe(PROTOTYPE_NAMES.length);
    expect((await fetch(`${http.url}/hello`)).status).toBe(200);
  });

  it('are routes when registered, and removing an absent one reports false', async () => {
    const http = httpComponent();
    await startNode(
      { name: 'web' },
      { getHttpMessageHandlers: () => Object.fromEntries(PROTOTYPE_NAMES.map((n) => [`GET /${n}`, () => `route ${n}`])) },
      [http],
    );
    for (const name of PROTOTYPE_NAMES) {
      const response = await fetch(`${http.url}/${name}`);
      expect([response.status, await response.text()]).toEqual([200, `route ${name}`]);
      expect(http.removeRoute('POST', `/${name}`)).toBe(false);
      expect(http.removeRoute(`GET /${name}`)).toBe(true);
      expect((await fetch(`${http.url}/${name}`)).status).toBe(404);
    }
    for (const name of PROTOTYPE_NAMES) {
      http.addRoute(`PUT /${name}`, () => name);
      expect(await (await fetch(`${http.url}/${name}`, { method: 'PUT' })).text()).toBe(name);
    }
  });

  it('are unknown commands of the node the component is on', async () => {
    const http = httpComponent();
    const node = await startNode({ name: 'web' }, app, [http]);
    for (const name of [...PROTOTYPE_NAMES, ...PROTOTYPE_NAMES.map((n) => `http:${n}`)]) {
      await expect(node.command(name)).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND' });
    }
  });
});
