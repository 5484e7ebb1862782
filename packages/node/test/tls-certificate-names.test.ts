import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tlsTransport } from '@systemge/transport-tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode } from './helpers.js';

const run = promisify(execFile);
let dir: string;
const pem: Record<string, { cert: string; key: string }> = {};

/** A CA and one certificate per node name, made with the openssl CLI for this run only. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'systemge-node-tls-'));
  const ssl = (args: string[]) => run('openssl', args, { cwd: dir });
  await ssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const name of ['alpha', 'beta', 'mallory']) {
    await ssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ]);
    await ssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
    ]);
    pem[name] = { cert: await readFile(join(dir, `${name}.crt`), 'utf8'), key: await readFile(join(dir, `${name}.key`), 'utf8') };
  }
  pem.ca = { cert: await readFile(join(dir, 'ca.crt'), 'utf8'), key: '' };
}, 30_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function transportFor(name: string) {
  const id = pem[name] as { cert: string; key: string };
  return tlsTransport({ cert: id.cert, key: id.key, ca: (pem.ca as { cert: string }).cert, requestClientCert: true });
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
