import { request } from 'node:https';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';
import { ids, nextEvent, until } from './events.js';

let pki: TestPKI;
let ca: string;
let etcd: TestEtcd;

/** One gateway call with the test CA, as an administrator would make it. */
function admin(path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(path, etcd.endpoints[0]);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        ca,
        headers: token === undefined ? {} : { authorization: token },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  pki = await generateTestPKI();
  ca = pki.ca.cert;
  etcd = await startEtcd({ tls: { certFile: pki.node.certFile, keyFile: pki.node.keyFile } });
  // Auth on: a root user (etcd requires one) and a user that may only touch /systemge/secure/.
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const steps: [string, unknown][] = [
    ['/v3/auth/user/add', { name: 'root', password: 'root-password' }],
    ['/v3/auth/role/add', { name: 'root' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/user/add', { name: 'member', password: 'member-password' }],
    ['/v3/auth/role/add', { name: 'systemge' }],
    [
      '/v3/auth/role/grant',
      { name: 'systemge', perm: { permType: 'READWRITE', key: b64('/systemge/secure/'), range_end: b64('/systemge/secure0') } },
    ],
    ['/v3/auth/user/grant', { user: 'member', role: 'systemge' }],
    ['/v3/auth/enable', {}],
  ];
  for (const [path, body] of steps) {
    const answer = await admin(path, body);
    expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await etcd?.remove();
  await pki?.remove();
});

it('members meet over TLS with a username and password', async () => {
  const options = { endpoints: etcd.endpoints, cluster: 'secure', tls: { ca }, auth: { username: 'member', password: 'member-password' } };
  const a = etcdDiscovery(options);
  const b = etcdDiscovery(options);
  try {
    await a.start({ name: 'a', host: '127.0.0.1', port: 60401 });
    expect(a.degraded).toBe(false);
    await b.start({ name: 'b', host: '127.0.0.1', port: 60402 });
    await until(a, () => ids(a).includes('b'), 'b at a');
    expect(ids(b)).toEqual(['a']);
    const left = nextEvent(a, (e) => e.type === 'left', 'b left');
    await b.stop();
    await left;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}, 30_000);

it('a wrong password, or a CA that did not sign etcd, leaves the discovery degraded with the reason', async () => {
  const wrongPassword = etcdDiscovery({
    endpoints: etcd.endpoints,
    cluster: 'secure',
    tls: { ca },
    auth: { username: 'member', password: 'nope' },
  });
  const noCA = etcdDiscovery({ endpoints: etcd.endpoints, cluster: 'secure', auth: { username: 'member', password: 'member-password' } });
  const degradedPw = nextEvent(wrongPassword, (e) => e.type === 'degraded', 'degraded (password)');
  const degradedCA = nextEvent(noCA, (e) => e.type === 'degraded', 'degraded (CA)');
  try {
    await wrongPassword.start({ name: 'p', host: '127.0.0.1', port: 60403 });
    await noCA.start({ name: 'q', host: '127.0.0.1', port: 60404 });
    const pw = await degradedPw;
    const tls = await degradedCA;
    expect(pw.type === 'degraded' && pw.error.message).toMatch(/authentication failed|invalid user ID or password/);
    expect(tls.type === 'degraded' && tls.error.message).toMatch(/certificate/);
    expect(pw.type === 'degraded' && pw.error).toMatchObject({ code: 'SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE' });
  } finally {
    await Promise.all([wrongPassword.close(), noCA.close()]);
  }
}, 30_000);

it('a user without rights on another cluster prefix is refused there', async () => {
  const outside = etcdDiscovery({
    endpoints: etcd.endpoints,
    cluster: 'other',
    tls: { ca },
    auth: { username: 'member', password: 'member-password' },
  });
  try {
    await outside.start({ name: 'x', host: '127.0.0.1', port: 60405 });
    expect(outside.degraded).toBe(true);
  } finally {
    await outside.close();
  }
}, 30_000);
