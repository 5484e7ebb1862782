import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { isSystemgeError, type Connection, type DialTarget, type Logger, silentLogger, type SystemgeError } from '@systemge/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tlsTransport, type TLSTransportOptions } from '../src/index.js';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { deferred, message, observe, Resources, within } from './harness.js';
import { serve } from './serve.js';

/** A logger that records its warnings (object and message); the other levels say nothing. */
function warningLogger(record: (obj: object, msg: string) => void): Logger {
  return {
    ...silentLogger,
    warn: (obj: object | string, msg?: string) => (typeof obj === 'string' ? record({}, obj) : record(obj, msg ?? '')),
  };
}

const DEADLINE = 5000;

let pki: TestPKI;
const resources = new Resources();

beforeAll(async () => {
  pki = await generateTestPKI();
});
afterAll(async () => {
  await pki?.remove();
});
afterEach(async () => {
  await resources.close();
});

function serverOptions(extra: TLSTransportOptions = {}): TLSTransportOptions {
  return { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, ...extra };
}

function target(port: number, extra: Partial<DialTarget> = {}): DialTarget {
  return { host: '127.0.0.1', port, ...extra };
}

async function dialError(promise: Promise<Connection>): Promise<SystemgeError> {
  const error = await within(
    promise.then(
      (connection) => {
        resources.connection(connection);
        throw new Error('dial unexpectedly succeeded');
      },
      (err: unknown) => err,
    ),
    DEADLINE,
    'dial failure',
  );
  expect(isSystemgeError(error, 'SYSTEMGE_ERR_DIAL_FAILED')).toBe(true);
  return error as SystemgeError;
}

/**
 * A client whose certificate the server refuses: with TLS 1.3 the client finishes its side of the
 * handshake first, so the refusal shows either as a failed dial or as a close right after it.
 */
async function clientIsTurnedAway(promise: Promise<Connection>): Promise<void> {
  const outcome = promise.then(
    async (connection) => {
      resources.connection(connection);
      const info = await observe(connection).closed;
      expect(info.initiator).toBe('remote');
    },
    (err: unknown) => {
      expect(isSystemgeError(err, 'SYSTEMGE_ERR_DIAL_FAILED')).toBe(true);
    },
  );
  await within(outcome, DEADLINE, 'client turned away');
}

describe('tlsTransport: server authentication', () => {
  it('connects with the right CA, exchanges frames both ways and reports the server certificate', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const client = tlsTransport({ ca: pki.ca.cert });
    const connection = resources.connection(await within(client.dial(target(server.listener.port)), DEADLINE, 'dial'));
    const clientSide = observe(connection);
    const serverSide = await within(server.nextConnection(), DEADLINE, 'accept');

    expect(server.listener.transport).toBe('tls');
    expect(connection.transport).toBe('tls');
    expect(connection.secure).toBe(true);
    expect(serverSide.connection.secure).toBe(true);
    // No client certificate was asked for.
    expect(serverSide.connection.peerCertificate).toBeUndefined();
    expect(serverSide.connection.remotePort).toBe(connection.localPort);

    const expected = new X509Certificate(pki.server.cert);
    expect(connection.peerCertificate).toEqual({
      subjectCN: 'server',
      subjectAltNames: ['DNS:localhost', 'IP Address:127.0.0.1'],
      issuerCN: 'Test CA',
      fingerprint256: expected.fingerprint256,
      validTo: new Date(expected.validTo).toISOString(),
    });

    for (let i = 0; i < 20; i++) connection.send(message('ping', `hello ${i}`));
    for (let i = 0; i < 20; i++) {
      expect(await within(clientSide.nextFrame(), DEADLINE, `echo ${i}`)).toEqual(message('ping', `hello ${i}`));
    }
    expect(serverSide.frames).toHaveLength(20);

    await connection.close('done');
    const info = await within(serverSide.closed, DEADLINE, 'server close');
    expect(info).toMatchObject({ initiator: 'remote', code: 'normal', reason: 'done' });
  });

  it('dials by host name with SNI and by an explicit serverName', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const client = tlsTransport({ ca: pki.ca.cert });
    const byName = await within(client.dial({ host: 'localhost', port: server.listener.port }), DEADLINE, 'dial');
    resources.connection(byName);
    const byServerName = await within(client.dial(target(server.listener.port, { serverName: 'localhost' })), DEADLINE, 'dial');
    resources.connection(byServerName);
    expect(byName.peerCertificate?.subjectCN).toBe('server');
    expect(byServerName.peerCertificate?.subjectCN).toBe('server');
  });

  it('rejects a server signed by another CA with a clear verification error', async () => {
    // Without a CA of its own the server sends its certificate alone.
    const server = await serve(tlsTransport({ cert: pki.server.cert, key: pki.server.key }), resources);
    const client = tlsTransport({ ca: pki.otherCA.cert });
    const error = await dialError(client.dial(target(server.listener.port)));
    expect(error.message).toBe(
      `cannot connect to 127.0.0.1:${server.listener.port}: certificate verification failed: unable to verify the first certificate`,
    );
    expect(isSystemgeError(error.cause, 'SYSTEMGE_ERR_TLS_VERIFICATION')).toBe(true);
    expect((error.cause as { verifyCode?: string }).verifyCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('rejects a server whose chain ends in a CA the client does not trust', async () => {
    // With a CA, OpenSSL sends the chain up to that root.
    const server = await serve(tlsTransport(serverOptions()), resources);
    const client = tlsTransport({ ca: pki.otherCA.cert });
    const error = await dialError(client.dial(target(server.listener.port)));
    expect(error.message).toBe(
      `cannot connect to 127.0.0.1:${server.listener.port}: certificate verification failed: self-signed certificate in certificate chain`,
    );
  });

  it('rejects a server that has no CA in the client trust store (default roots)', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const error = await dialError(tlsTransport().dial(target(server.listener.port)));
    expect(error.message).toMatch(/: certificate verification failed: self-signed certificate in certificate chain$/);
  });

  it('uses the CA of the dial target instead of the transport CA', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const client = tlsTransport({ ca: pki.otherCA.cert });
    const connection = await within(client.dial(target(server.listener.port, { ca: pki.ca.cert })), DEADLINE, 'dial with target CA');
    resources.connection(connection);
    expect(connection.peerCertificate?.issuerCN).toBe('Test CA');
    // And the other way round: the target CA replaces a transport CA that would have worked.
    const error = await dialError(tlsTransport({ ca: pki.ca.cert }).dial(target(server.listener.port, { ca: pki.otherCA.cert })));
    expect(error.message).toMatch(/certificate verification failed/);
  });

  it('rejects a server name the certificate does not cover', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const client = tlsTransport({ ca: pki.ca.cert });
    const error = await dialError(client.dial(target(server.listener.port, { serverName: 'db.example.org' })));
    expect(error.message).toMatch(/: hostname mismatch: certificate is not valid for db\.example\.org/);
    expect((error.cause as { verifyCode?: string }).verifyCode).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('refuses a TLS 1.1 client and keeps serving', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const old = resources.socket(
      tls.connect({
        host: '127.0.0.1',
        port: server.listener.port,
        ca: pki.ca.cert,
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        // OpenSSL 3 only offers TLS 1.1 at security level 0.
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    );
    const clientError = deferred<Error & { code?: string }>();
    old.on('error', clientError.resolve);
    old.on('secureConnect', () => clientError.resolve(new Error('TLS 1.1 handshake succeeded')));

    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe('TLS handshake failed: unsupported protocol');
    expect(refusal.error?.code).toBe('SYSTEMGE_ERR_TLS_HANDSHAKE');
    expect(refusal.remote.port).toBe(old.localPort);
    expect((await within(clientError.promise, DEADLINE, 'client error')).code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');

    const good = await within(tlsTransport({ ca: pki.ca.cert }).dial(target(server.listener.port)), DEADLINE, 'dial');
    resources.connection(good);
    await within(server.nextConnection(), DEADLINE, 'accept');
    expect(server.refusals).toHaveLength(1);
  });

  it('refuses TLS 1.2 when minVersion is TLSv1.3', async () => {
    const server = await serve(tlsTransport(serverOptions({ minVersion: 'TLSv1.3' })), resources);
    const old = resources.socket(tls.connect({ host: '127.0.0.1', port: server.listener.port, ca: pki.ca.cert, maxVersion: 'TLSv1.2' }));
    old.on('error', () => {});
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe('TLS handshake failed: unsupported protocol');
  });

  it('reports non-TLS bytes as a handshake failure without crashing', async () => {
    const server = await serve(tlsTransport(serverOptions()), resources);
    const raw = resources.socket(net.connect({ host: '127.0.0.1', port: server.listener.port }));
    raw.on('error', () => {});
    raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toMatch(/^TLS handshake failed: /);
    expect(refusal.error?.code).toBe('SYSTEMGE_ERR_TLS_HANDSHAKE');
    const good = await within(tlsTransport({ ca: pki.ca.cert }).dial(target(server.listener.port)), DEADLINE, 'dial');
    resources.connection(good);
    expect(good.secure).toBe(true);
  });
});

describe('tlsTransport: mutual TLS', () => {
  function mtlsServer(extra: TLSTransportOptions = {}): TLSTransportOptions {
    return serverOptions({ requestClientCert: true, ...extra });
  }

  it('accepts a client certificate signed by the CA and reports it on both sides', async () => {
    const server = await serve(tlsTransport(mtlsServer()), resources);
    // The file variants of every credential option.
    const client = tlsTransport({ certFile: pki.client.certFile, keyFile: pki.client.keyFile, caFile: pki.ca.certFile });
    const connection = resources.connection(await within(client.dial(target(server.listener.port)), DEADLINE, 'dial'));
    const serverSide = await within(server.nextConnection(), DEADLINE, 'accept');
    const expected = new X509Certificate(pki.client.cert);
    expect(serverSide.connection.peerCertificate).toEqual({
      subjectCN: 'client',
      subjectAltNames: [],
      issuerCN: 'Test CA',
      fingerprint256: expected.fingerprint256,
      validTo: new Date(expected.validTo).toISOString(),
    });
    expect(connection.peerCertificate?.subjectCN).toBe('server');
    const clientSide = observe(connection);
    connection.send(message('whoami', 'client'));
    expect(await within(clientSide.nextFrame(), DEADLINE, 'echo')).toEqual(message('whoami', 'client'));
  });

  it('says it verifies peers only when it requests client certificates and rejects unverified ones', () => {
    expect(tlsTransport(mtlsServer()).verifiesPeers).toBe(true);
    expect(tlsTransport(serverOptions()).verifiesPeers).toBe(false);
    const warnings: string[] = [];
    const logger = warningLogger((_obj, msg) => warnings.push(msg));
    expect(tlsTransport(mtlsServer({ rejectUnauthorized: false, logger })).verifiesPeers).toBe(false);
    expect(warnings).toHaveLength(1);
  });

  it('one node certificate serves both roles, as in a P2P network', async () => {
    const options = { cert: pki.node.cert, key: pki.node.key, ca: pki.ca.cert, requestClientCert: true };
    const server = await serve(tlsTransport(options), resources);
    const connection = resources.connection(await within(tlsTransport(options).dial(target(server.listener.port)), DEADLINE, 'dial'));
    const serverSide = await within(server.nextConnection(), DEADLINE, 'accept');
    expect(connection.peerCertificate?.subjectCN).toBe('node');
    expect(serverSide.connection.peerCertificate?.subjectCN).toBe('node');
  });

  it('accepts paths given in cert, key and ca', async () => {
    const server = await serve(
      tlsTransport({ cert: pki.server.certFile, key: pki.server.keyFile, ca: [pki.ca.certFile], requestClientCert: true }),
      resources,
    );
    const client = tlsTransport({ cert: pki.client.certFile, key: pki.client.keyFile, ca: pki.ca.certFile });
    resources.connection(await within(client.dial(target(server.listener.port)), DEADLINE, 'dial'));
    const serverSide = await within(server.nextConnection(), DEADLINE, 'accept');
    expect(serverSide.connection.peerCertificate?.subjectCN).toBe('client');
  });

  it('refuses a client without a certificate', async () => {
    const server = await serve(tlsTransport(mtlsServer()), resources);
    const dial = tlsTransport({ ca: pki.ca.cert }).dial(target(server.listener.port));
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe('certificate verification failed: peer did not return a certificate');
    expect(refusal.error?.code).toBe('SYSTEMGE_ERR_TLS_VERIFICATION');
    await clientIsTurnedAway(dial);
    expect(server.accepted).toHaveLength(0);
  });

  it('refuses an expired client certificate', async () => {
    const server = await serve(tlsTransport(mtlsServer()), resources);
    const client = tlsTransport({ cert: pki.expiredClient.cert, key: pki.expiredClient.key, ca: pki.ca.cert });
    const dial = client.dial(target(server.listener.port));
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe('certificate verification failed: certificate has expired');
    expect((refusal.error as { verifyCode?: string } | undefined)?.verifyCode).toBe('CERT_HAS_EXPIRED');
    await clientIsTurnedAway(dial);
    expect(server.accepted).toHaveLength(0);
  });

  it('refuses a client certificate from another CA', async () => {
    const server = await serve(tlsTransport(mtlsServer()), resources);
    const client = tlsTransport({ cert: pki.otherClient.cert, key: pki.otherClient.key, ca: pki.ca.cert });
    const dial = client.dial(target(server.listener.port));
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toMatch(
      /^certificate verification failed: unable to (verify the first certificate|get local issuer certificate|get issuer certificate)/,
    );
    await clientIsTurnedAway(dial);
    expect(server.accepted).toHaveLength(0);
  });

  it('with rejectUnauthorized false accepts an unverified client but reports no certificate, and warns', async () => {
    const warnings: { obj: object; msg: string }[] = [];
    const logger = warningLogger((obj, msg) => warnings.push({ obj, msg }));
    const server = await serve(tlsTransport(mtlsServer({ rejectUnauthorized: false, logger })), resources);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/NOT verified/);
    const client = tlsTransport({ cert: pki.otherClient.cert, key: pki.otherClient.key, ca: pki.ca.cert });
    resources.connection(await within(client.dial(target(server.listener.port)), DEADLINE, 'dial'));
    const serverSide = await within(server.nextConnection(), DEADLINE, 'accept');
    expect(serverSide.connection.peerCertificate).toBeUndefined();
  });
});

describe('tlsTransport: options', () => {
  it('with rejectUnauthorized false dials an untrusted server, reports no certificate, and warns once', async () => {
    const server = await serve(tlsTransport(serverOptions({ cert: pki.otherServer.cert, key: pki.otherServer.key })), resources);
    const warnings: { obj: object; msg: string }[] = [];
    const client = tlsTransport({
      ca: pki.ca.cert,
      rejectUnauthorized: false,
      logger: warningLogger((obj, msg) => warnings.push({ obj, msg })),
    });
    expect(warnings).toEqual([
      { obj: { transport: 'tls', rejectUnauthorized: false }, msg: expect.stringMatching(/rejectUnauthorized: false/) },
    ]);
    const connection = await within(client.dial(target(server.listener.port)), DEADLINE, 'dial');
    resources.connection(connection);
    expect(connection.secure).toBe(true);
    expect(connection.peerCertificate).toBeUndefined();
  });

  it('does not warn with the default rejectUnauthorized', () => {
    const warnings: string[] = [];
    tlsTransport({ ca: pki.ca.cert, logger: warningLogger((_obj, msg) => warnings.push(msg)) });
    tlsTransport({ ca: pki.ca.cert, rejectUnauthorized: true, logger: warningLogger((_obj, msg) => warnings.push(msg)) });
    expect(warnings).toEqual([]);
  });

  it.each([
    [{ minVersion: 'TLSv1.1' }, 'minVersion', /must be 'TLSv1.2' or 'TLSv1.3', got "TLSv1.1"/],
    [{ handshakeTimeoutMs: 0 }, 'handshakeTimeoutMs', /positive/],
    [{ requestClientCert: true }, 'ca', /requestClientCert needs ca or caFile/],
    [{ cert: 'cert-only' }, 'cert', /cannot read cert-only \(ENOENT\)/],
  ] as [TLSTransportOptions, string, RegExp][])('refuses bad options %j', (options, option, message) => {
    expect.assertions(3);
    try {
      tlsTransport(options);
    } catch (err) {
      expect(isSystemgeError(err, 'SYSTEMGE_ERR_TLS_CONFIG')).toBe(true);
      expect((err as { option?: string }).option).toBe(option);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('refuses inconsistent credentials', () => {
    expect(() => tlsTransport({ cert: pki.client.cert })).toThrow(/key is missing/);
    expect(() => tlsTransport({ cert: pki.client.cert, certFile: pki.client.certFile, key: pki.client.key })).toThrow(
      /give either cert or certFile, not both/,
    );
    expect(() => tlsTransport({ caFile: pki.client.keyFile.replace('.key', '.ext') })).toThrow(/holds no PEM block/);
    expect(() => tlsTransport({ cert: pki.client.cert, key: pki.server.key })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_TLS_CONFIG' }),
    );
  });

  it('cannot listen without a certificate', async () => {
    const error = await tlsTransport({ ca: pki.ca.cert })
      .listen({ onConnection: () => {} })
      .catch((err: unknown) => err);
    expect(isSystemgeError(error, 'SYSTEMGE_ERR_LISTEN_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/needs cert \(or certFile\) and key/);
  });

  it('reports a busy port as a listen error', async () => {
    const transport = tlsTransport(serverOptions());
    const first = resources.listener(await transport.listen({ onConnection: () => {} }));
    const error = await transport.listen({ port: first.port, onConnection: () => {} }).catch((err: unknown) => err);
    expect(isSystemgeError(error, 'SYSTEMGE_ERR_LISTEN_FAILED')).toBe(true);
  });
});

/** A TCP server that accepts and never says a word. */
async function silentServer(): Promise<{ port: number; accepted: Promise<void>; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const accepted = deferred<void>();
  const server = net.createServer((socket) => {
    sockets.push(socket);
    accepted.resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: accepted.promise,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('tlsTransport: dial', () => {
  it('fails with ECONNREFUSED when nothing listens', async () => {
    const probe = tlsTransport(serverOptions());
    const listener = await probe.listen({ onConnection: () => {} });
    const port = listener.port;
    await listener.close();
    const error = await dialError(tlsTransport({ ca: pki.ca.cert }).dial(target(port)));
    expect(error.message).toBe(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('times out against a server that never answers the handshake', async () => {
    const silent = await silentServer();
    try {
      const error = await dialError(tlsTransport({ ca: pki.ca.cert }).dial(target(silent.port), { timeoutMs: 200 }));
      expect(error.message).toBe(`cannot connect to 127.0.0.1:${silent.port}: timed out after 200 ms`);
    } finally {
      await silent.close();
    }
  });

  it('aborts with an AbortSignal, before and during the handshake', async () => {
    const silent = await silentServer();
    try {
      const client = tlsTransport({ ca: pki.ca.cert });
      const early = await dialError(client.dial(target(silent.port), { signal: AbortSignal.abort() }));
      expect(early.message).toMatch(/: aborted$/);
      const controller = new AbortController();
      const dial = client.dial(target(silent.port), { signal: controller.signal });
      await within(silent.accepted, DEADLINE, 'tcp accept');
      controller.abort();
      const late = await dialError(dial);
      expect(late.message).toMatch(/: aborted$/);
    } finally {
      await silent.close();
    }
  });
});
