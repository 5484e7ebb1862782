import { describe, expect, it } from 'vitest';
import type { ApplicationComponents } from '@systemge/node';
import { type WebSocketComponentApplication, websocketComponent } from '../src/index.js';
import { endpointOf, startNode, TestClient, until } from './helpers.js';

/* Objects sent between nodes reach browser clients as JSON objects, and client objects reach nodes as objects. */

describe('structured payloads between nodes and WebSocket clients', () => {
  it('a node object payload is a JSON object to the browser; a browser object is an object request to a worker', async () => {
    const worker = await startNode(
      { name: 'worker' },
      {
        getSyncMessageHandlers: () => ({
          'price.quote': (m: { payload: unknown }) => {
            const { sku, qty } = m.payload as { sku: string; qty: number };
            return { sku, total: qty * 2.5, currency: 'EUR', at: new Date(0) };
          },
        }),
      },
    );
    const ws = websocketComponent();
    const gatewayApp: WebSocketComponentApplication & ApplicationComponents = {
      getAsyncMessageHandlers: () => ({
        news: (m: { payload: unknown }) => void ws.broadcast('news', m.payload),
      }),
      getWebsocketMessageHandlers: () => ({
        quote: (_client, message, node) => node.syncRequest('price.quote', message.payload).first(),
      }),
    };
    const gateway = await startNode({ name: 'gateway', endpoints: [endpointOf(worker)] }, gatewayApp, [ws]);
    await until(() => gateway.peers().some((p) => p.syncTopics.includes('price.quote')));
    await until(() => worker.peers().some((p) => p.asyncTopics.includes('news')));
    const client = await TestClient.open(ws.url as string);

    client.send('quote', { sku: 'a-1', qty: 4 });
    // The Date the worker sent arrives as its JSON form.
    expect(await client.nth(0)).toEqual({
      topic: 'quote',
      payload: { sku: 'a-1', total: 10, currency: 'EUR', at: '1970-01-01T00:00:00.000Z' },
    });

    worker.asyncMessage('news', { headline: 'up', items: [1, 2, 3], flag: true, none: null });
    expect(await client.nth(1)).toEqual({ topic: 'news', payload: { headline: 'up', items: [1, 2, 3], flag: true, none: null } });
  });
});
