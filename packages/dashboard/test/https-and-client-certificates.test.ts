import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDashboard, type Dashboard } from '../src/index.js';
import { onCleanup, startDashboard, startNode } from './helpers.js';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';

const TOKEN = 'https-test-token.0123456789';
let pki: TestPKI;

beforeAll(async () => {
  pki = await generateTestPKI();
});
afterAll(async () => {
  await pki.remove();
});

/** An undici dispatcher trusting the test CA, presenting `identity` when given. */
function agent(identity?: { cert: string; key: string }): Agent {
  const a = new Agent({ connect: { ca: pki.ca.cert, ...(identity ?? {}) } });
  onCleanup(() => a.close());
  return a;
}

async function getNodes(dashboard: Dashboard, dispatcher: Agent) {
  const response = await request(`${dashboard.url}/api/nodes`, { dispatcher, headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: response.statusCode, body: (await response.body.json()) as { nodes: { name: string }[] } };
}

/** Opens `/ws` over TLS with `options`; resolves 'open' or the error it failed with. */
function openWss(dashboard: Dashboard, options: { ca?: string; cert?: string; key?: string }): Promise<'open' | Error> {
  const socket = new WebSocket(
    `${dashboard.url!.replace(/^https/, 'wss')}/ws`,
    ['systemge.dashboard.v1', `systemge.bearer.${TOKEN}`],
    options,
  );
  onCleanup(() => socket.terminate());
  return new Promise((resolve) => {
    socket.once('open', () => resolve('open'));
    socket.once('error', (error) => resolve(error));
    socket.once('unexpected-response', (_req, response) => resolve(new Error(`upgrade refused with ${response.statusCode}`)));
  });
}

describe('dashboard over HTTPS', () => {
  it('serves the API, the page and /ws over TLS to a client that trusts its CA', async () => {
    const dashboard = await startDashboard({ token: TOKEN, https: { cert: pki.node.cert, key: pki.node.key } });
    dashboard.addNode(await startNode({ name: 'alpha' }));
    expect(dashboard.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const nodes = await getNodes(dashboard, agent());
    expect(nodes.status).toBe(200);
    expect(nodes.body.nodes.map((n) => n.name)).toEqual(['alpha']);
    const page = await request(`${dashboard.url}/`, { dispatcher: agent() });
    expect(page.statusCode).toBe(200);
    expect(await page.body.text()).toMatch(/<html/i);
    expect(await openWss(dashboard, { ca: pki.ca.cert })).toBe('open');

    // A client that does not trust the CA refuses the server; plain HTTP gets no answer from the API.
    await expect(request(`${dashboard.url}/api/nodes`, { dispatcher: onCleanupAgent(new Agent()) })).rejects.toThrow(/certificate/i);
    const plain = await request(`${dashboard.url!.replace(/^https/, 'http')}/api/nodes`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then(
      (r) => r.statusCode,
      (error: Error) => error,
    );
    expect(plain).not.toBe(200);
  });

  it('with requestClientCert, refuses API and WebSocket clients without a certificate from its CA', async () => {
    const dashboard = await startDashboard({
      token: TOKEN,
      https: { cert: pki.node.cert, key: pki.node.key, ca: pki.ca.cert, requestClientCert: true },
    });
    dashboard.addNode(await startNode({ name: 'alpha' }));

    await expect(getNodes(dashboard, agent())).rejects.toThrow();
    await expect(getNodes(dashboard, agent({ cert: pki.otherClient.cert, key: pki.otherClient.key }))).rejects.toThrow();
    expect(await openWss(dashboard, { ca: pki.ca.cert })).toBeInstanceOf(Error);

    const ok = await getNodes(dashboard, agent({ cert: pki.client.cert, key: pki.client.key }));
    expect(ok.status).toBe(200);
    expect(ok.body.nodes.map((n) => n.name)).toEqual(['alpha']);
    expect(await openWss(dashboard, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key })).toBe('open');
    // The certificate does not replace the token.
    const noToken = await request(`${dashboard.url}/api/nodes`, { dispatcher: agent({ cert: pki.client.cert, key: pki.client.key }) });
    expect(noToken.statusCode).toBe(401);
    await noToken.body.dump();
  });

  it('warns at start when a token would cross the network in clear text, and not when it is encrypted', async () => {
    const warnings = (lines: string[]) => ({
      trace: () => {},
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (obj: object | string, msg?: string) => void lines.push(msg ?? String(obj)),
    });
    const plain: string[] = [];
    await startDashboard({ host: '0.0.0.0', token: TOKEN, systemge: { transport: tcpTransport() }, logger: warnings(plain) });
    expect(plain.join('\n')).toMatch(/plain HTTP on a non-loopback address/);
    expect(plain.join('\n')).toMatch(/links use an unencrypted transport/);
    const encrypted: string[] = [];
    await startDashboard({
      host: '0.0.0.0',
      token: TOKEN,
      https: { cert: pki.node.cert, key: pki.node.key },
      systemge: { transport: tlsTransport({ cert: pki.node.cert, key: pki.node.key }) },
      logger: warnings(encrypted),
    });
    expect(encrypted).toEqual([]);
  });

  it('checks https options when the dashboard is created, naming the option', () => {
    const invalid = (https: unknown, option: string) =>
      expect(() => createDashboard({ https: https as never })).toThrow(
        expect.objectContaining({ code: 'SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION', option }),
      );
    invalid({ key: pki.node.key }, 'https.cert');
    invalid({ cert: pki.node.cert }, 'https.key');
    invalid({ cert: pki.node.cert, key: pki.node.key, requestClientCert: true }, 'https.ca');
    invalid({ cert: pki.node.cert, key: pki.node.key, minVersion: 'TLSv1' }, 'https.minVersion');
    invalid({ cert: 'not a certificate', key: 'not a key' }, 'https');
    invalid({ cert: pki.node.cert, key: pki.client.key }, 'https');
  });
});

function onCleanupAgent(a: Agent): Agent {
  onCleanup(() => a.close());
  return a;
}
