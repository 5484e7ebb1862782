import { X509Certificate } from 'node:crypto';
import { access } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { type ConnectionOptions, connect, createServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPKI, type TestPKI } from '../src/pki.js';

let pki: TestPKI;

beforeAll(async () => {
  pki = await generateTestPKI();
}, 60_000);

afterAll(async () => {
  await pki.remove();
});

/** How one side judged the other's certificate. */
interface Verdict {
  authorized: boolean;
  error: string | undefined;
}

/**
 * One TLS handshake over 127.0.0.1 port 0 in which neither side rejects: each side reports how it
 * judged the other's certificate (chain, expiry, purpose, and the host name on the client side).
 */
async function handshake(server: TlsOptions, client: ConnectionOptions): Promise<{ client: Verdict; server: Verdict }> {
  const verdict = (socket: TLSSocket): Verdict => ({
    authorized: socket.authorized,
    error: socket.authorizationError ? String(socket.authorizationError) : undefined,
  });
  const listener = createServer({ ...server, rejectUnauthorized: false });
  const serverSide = new Promise<Verdict>((resolve, reject) => {
    listener.once('secureConnection', (socket) => {
      resolve(verdict(socket));
      socket.end();
    });
    listener.once('tlsClientError', reject);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = listener.address() as AddressInfo;
    const socket = connect({ host: '127.0.0.1', port, ...client, rejectUnauthorized: false });
    const clientSide = new Promise<Verdict>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(verdict(socket)));
      socket.once('error', reject);
    });
    try {
      return { client: await clientSide, server: await serverSide };
    } finally {
      socket.destroy();
    }
  } finally {
    await new Promise((resolve) => listener.close(resolve));
  }
}

const OK: Verdict = { authorized: true, error: undefined };

describe('generateTestPKI', () => {
  it('makes a server certificate the CA vouches for, for localhost and 127.0.0.1', async () => {
    const server = { cert: pki.server.cert, key: pki.server.key };
    expect((await handshake(server, { ca: pki.ca.cert, servername: 'localhost' })).client).toEqual(OK);
    expect((await handshake(server, { ca: pki.ca.cert })).client).toEqual(OK);
    expect((await handshake(server, { ca: pki.ca.cert, servername: 'example.com' })).client.error).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect((await handshake(server, { ca: pki.otherCA.cert })).client.authorized).toBe(false);
    expect((await handshake({ cert: pki.otherServer.cert, key: pki.otherServer.key }, { ca: pki.ca.cert })).client.authorized).toBe(false);
  });

  it('makes client certificates that mutual TLS accepts, and ones it refuses: unrelated CA, expired, server-only', async () => {
    const server = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true };
    const as = async (identity: { cert: string; key: string }) =>
      (await handshake(server, { ca: pki.ca.cert, cert: identity.cert, key: identity.key })).server;
    expect(await as(pki.client)).toEqual(OK);
    expect(await as(pki.node)).toEqual(OK);
    expect(await as(pki.otherClient)).toMatchObject({ authorized: false });
    expect(await as(pki.expiredClient)).toEqual({ authorized: false, error: 'CERT_HAS_EXPIRED' });
    expect(await as(pki.server)).toEqual({ authorized: false, error: 'INVALID_PURPOSE' });
  });

  it('makes a node certificate that serves and dials', async () => {
    const node = { cert: pki.node.cert, key: pki.node.key, ca: pki.ca.cert };
    expect(await handshake({ ...node, requestCert: true }, { ...node, servername: 'localhost' })).toEqual({ client: OK, server: OK });
  });

  it('keeps its files in one directory that remove() deletes', async () => {
    const other = await generateTestPKI();
    await access(other.server.certFile);
    expect(other.server.keyFile.startsWith(other.dir)).toBe(true);
    await other.remove();
    await expect(access(other.dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('TestPKI.issue', () => {
  it('names a certificate by its common name alone when it has no alternative names', async () => {
    const alpha = await pki.issue('alpha', { altNames: [] });
    const certificate = new X509Certificate(alpha.cert);
    expect(certificate.subject).toBe('CN=alpha');
    expect(certificate.subjectAltName).toBeUndefined();
    expect(certificate.checkIssued(new X509Certificate(pki.ca.cert))).toBe(true);
    const options = { cert: alpha.cert, key: alpha.key, ca: pki.ca.cert };
    expect(await handshake({ ...options, requestCert: true }, { ...options, servername: 'alpha' })).toEqual({ client: OK, server: OK });
  });

  it('takes the common name, alternative names, usage, issuer and validity it is given', async () => {
    const notBefore = new Date('2021-03-01T00:00:00Z');
    const notAfter = new Date('2021-03-02T00:00:00Z');
    const [named, dated] = await Promise.all([
      pki.issue('named', { commonName: 'api', altNames: ['DNS:api.test'], usage: 'server', issuer: 'otherCA' }),
      pki.issue('dated', { usage: 'client', validity: { notBefore, notAfter } }),
    ]);
    const api = new X509Certificate(named.cert);
    expect([api.subject, api.subjectAltName, api.keyUsage]).toEqual(['CN=api', 'DNS:api.test', ['1.3.6.1.5.5.7.3.1']]);
    expect(api.checkIssued(new X509Certificate(pki.otherCA.cert))).toBe(true);
    const old = new X509Certificate(dated.cert);
    expect([new Date(old.validFrom), new Date(old.validTo)]).toEqual([notBefore, notAfter]);
    expect(old.subjectAltName).toBeUndefined();
    expect(old.checkIssued(new X509Certificate(pki.ca.cert))).toBe(true);
  });

  it('refuses a name that is taken or not a plain file name', async () => {
    await expect(pki.issue('server')).rejects.toThrow(/"server" is taken/);
    await pki.issue('twice');
    await expect(pki.issue('twice')).rejects.toThrow(/"twice" is taken/);
    await expect(pki.issue('../escape')).rejects.toThrow(/letters, digits and dashes/);
  });
});
