import { isSystemgeError } from '@systemge/node';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { httpComponent, systemgeErrorStatus } from '../src/index.js';
import { endpointOf, onTeardown, startNode } from './helpers.js';

/* A gateway route that throws a Systemge error answers with the status a gateway user expects. */

describe('HTTP status of Systemge errors thrown by routes', () => {
  it('no route → 503, timeout → 504, peer failure → 502, lost peer → 503, others unchanged', async () => {
    const worker = await startNode(
      { name: 'worker', shutdownTimeoutMs: 50 },
      {
        getSyncMessageHandlers: () => ({
          slow: () => new Promise<string>(() => {}),
          broken: () => {
            throw new Error('worker bug');
          },
          exit: () => new Promise<string>(() => {}),
        }),
      },
    );
    const http = httpComponent();
    const gateway = await startNode({ name: 'gateway', listen: false, endpoints: [endpointOf(worker)] }, {}, [http]);
    await new Promise<void>((resolve) => {
      const check = () => (gateway.peers().some((p) => p.syncTopics.includes('exit')) ? resolve() : setImmediate(check));
      check();
    });
    http.addRoute('GET /ask/:topic', async (req, _reply, node) => {
      return node.syncRequest(req.params.topic, '', { timeoutMs: 200 }).first();
    });
    http.addRoute('GET /plain-error', () => {
      throw new Error('not a Systemge error');
    });
    http.addRoute('GET /fastify-status', () => {
      throw Object.assign(new Error('teapot'), { statusCode: 418 });
    });
    const dispatcher = new Agent();
    onTeardown(() => dispatcher.close());
    const get = async (path: string) => {
      const r = await request(`${http.url}${path}`, { dispatcher });
      return { status: r.statusCode, body: (await r.body.json()) as { code?: string; statusCode: number; message: string } };
    };

    const noRoute = await get('/ask/nobody');
    expect(noRoute.status).toBe(503);
    expect(noRoute.body).toMatchObject({ statusCode: 503, code: 'SYSTEMGE_ERR_NO_ROUTE', error: 'Service Unavailable' });
    expect(noRoute.body.message).toContain('nobody');

    expect(await get('/ask/slow')).toMatchObject({ status: 504, body: { code: 'SYSTEMGE_ERR_SYNC_TIMEOUT' } });
    expect(await get('/ask/broken')).toMatchObject({ status: 502, body: { code: 'SYSTEMGE_ERR_SYNC_FAILURE' } });
    // Errors that are not Systemge's keep Fastify's handling.
    expect((await get('/plain-error')).status).toBe(500);
    expect((await get('/fastify-status')).status).toBe(418);

    // The worker goes away while the request waits: peer lost → 503.
    const pending = get('/ask/exit');
    await new Promise<void>((resolve) => {
      const check = () => (worker.stats.syncRequestsReceived >= 3 ? resolve() : setImmediate(check));
      check();
    });
    await worker.stop();
    expect(await pending).toMatchObject({ status: 503, body: { code: 'SYSTEMGE_ERR_PEER_LOST' } });
  });

  it('maps codes without a server, and leaves non-Systemge errors alone', () => {
    expect(systemgeErrorStatus(new Error('x'))).toBeUndefined();
    const error = Object.assign(new Error('x'), { code: 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE' });
    expect(isSystemgeError(error)).toBe(true);
    expect(systemgeErrorStatus(error)).toBe(500);
    expect(systemgeErrorStatus(Object.assign(new Error('x'), { code: 'SYSTEMGE_ERR_SYNC_TIMEOUT' }))).toBe(504);
    expect(systemgeErrorStatus(Object.assign(new Error('x'), { code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE' }))).toBe(413);
  });
});
