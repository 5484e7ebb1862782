import { connectDashboard } from '@systemge/dashboard-link';
import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCleanup, startDashboard, startNode, until } from './helpers.js';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';

const TOKEN = 'tls-link-test-token.0123456789';
let pki: TestPKI;

beforeAll(async () => {
  pki = await generateTestPKI();
});
afterAll(async () => {
  await pki.remove();
});

describe('dashboard links over TLS', () => {
  it('registers a node over mutual TLS and runs its command through the HTTPS API', async () => {
    const dashboard = await startDashboard({
      token: TOKEN,
      https: { cert: pki.node.cert, key: pki.node.key },
      systemge: {
        transport: tlsTransport({ cert: pki.node.cert, key: pki.node.key, ca: pki.ca.cert, requestClientCert: true }),
      },
    });
    const worker = await startNode(
      { name: 'worker', listen: false },
      { getCommandHandlers: () => ({ greet: (args: string[]) => `hello ${args.join(' ')}` }) },
    );
    const link = await connectDashboard(worker, {
      ...dashboard.systemgeAddress!,
      transport: tlsTransport({ cert: pki.client.cert, key: pki.client.key, ca: pki.ca.cert }),
      token: TOKEN,
    });
    onCleanup(() => link.close());
    await link.ready();
    await until(() => dashboard.nodes().some((n) => n.name === 'worker' && n.status === 'started'), 10_000, 'worker registered');

    const dispatcher = new Agent({ connect: { ca: pki.ca.cert } });
    onCleanup(() => dispatcher.close());
    const response = await request(`${dashboard.url}/api/nodes/worker/command`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'greet', args: ['over', 'tls'] }),
    });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ result: 'hello over tls' });
  });

  it('does not register a link that presents no client certificate', async () => {
    const dashboard = await startDashboard({
      token: TOKEN,
      systemge: {
        transport: tlsTransport({ cert: pki.node.cert, key: pki.node.key, ca: pki.ca.cert, requestClientCert: true }),
      },
    });
    const worker = await startNode({ name: 'worker', listen: false });
    const failures: Error[] = [];
    const link = await connectDashboard(worker, {
      ...dashboard.systemgeAddress!,
      transport: tlsTransport({ ca: pki.ca.cert }),
      token: TOKEN,
      initialDelayMs: 50,
      maxDelayMs: 100,
      logger: {
        trace: () => {},
        debug: () => {},
        info: () => {},
        warn: (obj: object | string) => {
          if (typeof obj === 'object' && 'err' in obj) failures.push(new Error(String((obj as { err: unknown }).err)));
        },
        error: () => {},
      },
    });
    onCleanup(() => link.close());
    await until(() => failures.length >= 1, 10_000, 'a refused attempt');
    expect(link.connected).toBe(false);
    expect(dashboard.nodes()).toEqual([]);
  });

  it('refuses to link with a token over plain TCP to a non-loopback host', async () => {
    const worker = await startNode({ name: 'worker', listen: false });
    await expect(
      connectDashboard(worker, { host: '203.0.113.7', port: 7071, transport: tcpTransport(), token: TOKEN }),
    ).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_INSECURE_LINK' });
  });
});
