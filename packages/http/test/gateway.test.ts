import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponentApplication } from '../src/index.js';
import { endpointOf, onTeardown, startNode } from './helpers.js';

describe('gateway pattern (F27)', () => {
  it('fans an HTTP request out as a sync request to three nodes and returns the merged answers', async () => {
    const workers = await Promise.all(
      ['w1', 'w2', 'w3'].map((name, i) =>
        startNode(
          { name },
          { getSyncMessageHandlers: () => ({ 'inventory.count': (m: { payload: unknown }) => String(Number(m.payload) * (i + 1)) }) },
        ),
      ),
    );
    const events: string[] = [];
    const gatewayApp: HTTPComponentApplication = {
      getHttpMessageHandlers: () => ({
        'GET /inventory/:n': async (req, _reply, node) => {
          const n = (req.params as { n: string }).n;
          const responses = await node.syncRequest('inventory.count', n, { timeoutMs: 3000 }).all();
          const byNode = Object.fromEntries(responses.map((r) => [r.origin, r.ok ? Number(r.payload) : r.error]));
          return { total: Object.values(byNode).reduce((a: number, b) => a + Number(b), 0), byNode };
        },
        'POST /events': (req, reply, node) => {
          node.asyncMessage('audit', JSON.stringify(req.body));
          void reply.code(202).send();
        },
      }),
    };
    const auditor = await startNode(
      { name: 'auditor' },
      {
        getAsyncMessageHandlers: () => ({ audit: (m: { payload: unknown }) => void events.push(String(m.payload)) }),
      },
    );
    const http = httpComponent();
    await startNode({ name: 'gateway', listen: false, endpoints: [...workers, auditor].map(endpointOf) }, gatewayApp, [http]);

    const dispatcher = new Agent();
    onTeardown(() => dispatcher.close());
    const response = await request(`${http.url}/inventory/7`, { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ total: 42, byNode: { w1: 7, w2: 14, w3: 21 } });

    const posted = await request(`${http.url}/events`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'login' }),
    });
    expect(posted.statusCode).toBe(202);
    await posted.body.dump();
    const deadline = Date.now() + 5000;
    while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['{"kind":"login"}']);
  });
});
