import { generateTestPKI } from '@systemge/transport-compliance/pki';
import { httpComponent, type HTTPComponentApplication } from '@systemge/http';
import { describe, expect, it } from 'vitest';
import { websocketComponent, type WebSocketComponentApplication } from '../src/index.js';
import { endpointOf, onTeardown, startNode, TestClient, until } from './helpers.js';

describe('sharing a port with the HTTP component, TLS, and the gateway pattern', () => {
  it('serves HTTP routes and the WebSocket endpoint on one port, across a node restart', async () => {
    const http = httpComponent();
    const ws = websocketComponent({ http, path: '/live' });
    const app: HTTPComponentApplication & WebSocketComponentApplication = {
      getHttpMessageHandlers: () => ({ 'GET /health': () => ({ clients: ws.clients().length }) }),
      getWebsocketMessageHandlers: () => ({ echo: (_c, m) => m.payload }),
    };
    // The WebSocket plugin listed first: mounting does not depend on plugin order.
    const node = await startNode({ name: 'edge' }, app, [ws, http]);
    expect(ws.url).toBe(`${(http.url as string).replace('http', 'ws')}/live`);

    const c = await TestClient.open(ws.url as string);
    c.send('echo', 'same port');
    expect((await c.nth(0)).payload).toBe('same port');
    const health = await fetch(`${http.url}/health`);
    expect(await health.json()).toEqual({ clients: 1 });
    expect(http.getMetrics()).toContainEqual(
      expect.objectContaining({ name: 'http_requests_total', labels: { route: 'GET /health', status: '2xx' }, value: 1 }),
    );

    await node.restart();
    expect((await c.waitClosed()).code).toBe(1001);
    const again = await TestClient.open(ws.url as string);
    again.send('echo', 'after restart');
    expect((await again.nth(0)).payload).toBe('after restart');
  });

  it('applies the HTTP component address lists to the upgrade', async () => {
    const http = httpComponent({ deny: ['127.0.0.1'] });
    const ws = websocketComponent({ http });
    await startNode({ name: 'edge' }, {}, [http, ws]);
    await expect(TestClient.open(ws.url as string)).rejects.toMatchObject({ statusCode: 403 });
    http.denyList.clear();
    await TestClient.open(ws.url as string);
    await until(() => ws.clients().length === 1);
  });

  it('cannot mount on an HTTP component that already serves', async () => {
    const http = httpComponent();
    await startNode({ name: 'edge' }, {}, [http]);
    expect(() => websocketComponent({ http })).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_HTTP_STATE' }));
  });

  it('serves wss on its own port with a certificate', async () => {
    const pki = await generateTestPKI();
    onTeardown(() => pki.remove());
    const ws = websocketComponent({ https: { cert: pki.server.cert, key: pki.server.key } });
    await startNode(
      { name: 'secure' },
      { getWebsocketMessageHandlers: () => ({ echo: (_c: unknown, m: { payload: unknown }) => m.payload }) },
      [ws],
    );
    expect(ws.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    const c = await TestClient.open(ws.url as string, { ca: pki.ca.cert });
    c.send('echo', 'encrypted');
    expect((await c.nth(0)).payload).toBe('encrypted');
    await expect(TestClient.open(ws.url as string)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('lets a WebSocket handler ask the P2P network and push async messages back to clients (F27)', async () => {
    const worker = await startNode(
      { name: 'pricer' },
      { getSyncMessageHandlers: () => ({ 'price.quote': (m: { payload: unknown }) => String(Number(m.payload) * 3) }) },
    );
    const ws = websocketComponent();
    const app: WebSocketComponentApplication & { getAsyncMessageHandlers(): Record<string, (m: { payload: unknown }) => void> } = {
      getWebsocketMessageHandlers: () => ({
        quote: async (_client, message, node) => Number(await node.syncRequest('price.quote', String(message.payload)).first()),
        subscribe: (client) => void ws.joinGroup(client.id, 'ticker'),
      }),
      getAsyncMessageHandlers: () => ({ tick: (m) => void ws.groupcast('ticker', 'tick', String(m.payload)) }),
    };
    const gateway = await startNode({ name: 'gateway', endpoints: [endpointOf(worker)] }, app, [ws]);
    const c = await TestClient.open(ws.url as string);
    c.send('quote', 14);
    expect(await c.nth(0)).toEqual({ topic: 'quote', payload: 42 });
    c.send('subscribe');
    await until(() => ws.groupMembers('ticker').length === 1);
    await until(() => worker.peers().length === 1);
    worker.asyncMessage('tick', 'ACME 101');
    expect(await c.nth(1)).toEqual({ topic: 'tick', payload: 'ACME 101' });
    expect(gateway.peers().map((p) => p.name)).toEqual(['pricer']);
  });
});
