import { createNode, type SystemgeNode } from '@systemge/node';
import type { FastifyRequest } from 'fastify';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type HTTPComponent, httpComponent, type RouteParams } from '../src/index.js';

/* Type-level checks, run by `pnpm typecheck`: the component takes the node's topic map, routes type their requests. */

interface Item {
  sku: string;
  qty: number;
}
interface Topics {
  async: { 'cart.add': Item };
  sync: { 'cart.get': { request: { id: string }; response: Item[] } };
}

describe('HTTP component typing', () => {
  it('infers the topic map from the node, inline or declared apart', () => {
    const inline = createNode<Topics>({ name: 'a', listen: false }, {}, { plugins: [httpComponent()] });
    expectTypeOf(inline).toEqualTypeOf<SystemgeNode<Topics>>();

    // Declared before the node without a type argument: accepted, with the untyped view of the node.
    const http = httpComponent();
    createNode<Topics>({ name: 'b', listen: false }, {}, { plugins: [http] });

    // With the map, its routes get the typed node.
    const typed = httpComponent<Topics>();
    createNode<Topics>({ name: 'c', listen: false }, {}, { plugins: [typed] });
    typed.addRoute('POST /cart/:id', (request: FastifyRequest<{ Params: { id: string }; Body: Item }>, _reply, node) => {
      expectTypeOf(node).toEqualTypeOf<SystemgeNode<Topics>>();
      node.asyncMessage('cart.add', request.body);
      // @ts-expect-error: cart.add carries an Item
      node.asyncMessage('cart.add', { sku: 1 });
      return node.syncRequest('cart.get', { id: request.params.id }).first();
    });

    // A component typed for other topics is refused.
    const other = httpComponent<{ async: { x: number }; sync: object }>();
    // @ts-expect-error: the component's topic map is not the node's
    createNode<Topics>({ name: 'd', listen: false }, {}, { plugins: [other] });
    expect(typeof other.addRoute).toBe('function');
  });

  it('types request.params from the URL pattern', () => {
    expectTypeOf<RouteParams<'/users/:id/files/:file'>>().toEqualTypeOf<{ id: string; file: string }>();
    expectTypeOf<RouteParams<'/n/:n(^\\d+)/:opt?'>>().toEqualTypeOf<{ n: string; opt: string }>();
    expectTypeOf<RouteParams<'/static/*'>>().toEqualTypeOf<{ '*': string }>();
    expectTypeOf<keyof RouteParams<'/plain'>>().toEqualTypeOf<never>();

    const http: HTTPComponent = httpComponent();
    http.addRoute('GET /users/:id', (request) => {
      expectTypeOf(request.params).toEqualTypeOf<{ id: string }>();
      // @ts-expect-error: no such parameter
      return request.params.name;
    });
    http.addRoute(['GET', 'HEAD'], '/orders/:order/lines/:line', (request) => {
      expectTypeOf(request.params).toEqualTypeOf<{ order: string; line: string }>();
    });
    http.addRoute('GET /search', (request: FastifyRequest<{ Querystring: { q: string } }>) => {
      expectTypeOf(request.query.q).toEqualTypeOf<string>();
    });
    // Annotated handlers are accepted in the application's route map too.
    const routes = {
      getHttpMessageHandlers: () => ({
        'PUT /items/:sku': (request: FastifyRequest<{ Params: { sku: string }; Body: Item }>) => request.body.qty,
      }),
    };
    createNode({ name: 'e', listen: false }, routes, { plugins: [http] });
    expect(http.routes().map((r) => `${r.method} ${r.url}`)).toContain('GET /users/:id');
  });
});
