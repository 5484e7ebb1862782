import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { tlsTransport } from '@systemge/transport-tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode } from './helpers.js';

let pki: TestPKI;
const pem: Record<string, { cert: string; key: string }> = {};

/** A CA and one certificate per node name, with the name as CN and no subject-alt-name, made for this run only. */
beforeAll(async () => {
  pki = await generateTestPKI();
  for (const name of ['alpha', 'beta', 'mallory']) pem[name] = await pki.issue(name, { altNames: [] });
}, 30_000);

afterAll(async () => {
  await pki.remove();
});

function transportFor(name: string) {
  const id = pem[name] as { cert: string; key: string };
  return tlsTransport({ cert: id.cert, key: id.key, ca: pki.ca.cert, requestClientCert: true });
}

describe('mutual TLS with certificate names bound to node names', () => {
  it('connects peers whose certificates name them, over mTLS', async () => {
    const alpha = await startNode(
      { name: 'alpha', transport: transportFor('alpha'), auth: { requireCertificateName: true } },
      { getSyncMessageHandlers: () => ({ who: (m) => `hello ${m.origin}` }) },
    );
    const beta = await startNode({
      name: 'beta',
      transport: transportFor('beta'),
      auth: { requireCertificateName: true },
      // The certificates carry no IP subject-alt-name; the server name is the peer's node name.
      endpoints: [{ host: '127.0.0.1', port: alpha.address!.port, serverName: 'alpha' }],
    });
    expect(await beta.syncRequest('who', '').first()).toBe('hello beta');
    expect(beta.peers()[0]).toMatchObject({ name: 'alpha', transport: 'tls' });
  });

  it('refuses a peer that announces a name its certificate does not carry', async () => {
    const alpha = await startNode({ name: 'alpha', transport: transportFor('alpha'), auth: { requireCertificateName: true } });
    // mallory holds a valid certificate for "mallory" but claims to be "beta".
    const impostor = await startNode({ name: 'beta', transport: transportFor('mallory'), connection: { maxAttempts: 1 } });
    await expect(impostor.connect({ host: '127.0.0.1', port: alpha.address!.port, serverName: 'alpha' })).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_AUTH_FAILED',
    });
    expect(alpha.peers()).toEqual([]);
    expect(alpha.stats.handshakeFailures).toBe(1);
  });
});
