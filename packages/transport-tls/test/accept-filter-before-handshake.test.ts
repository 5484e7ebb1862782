import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { tlsTransport } from '../src/index.js';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { deferred, Resources, within } from './harness.js';
import { serve } from './serve.js';

const DEADLINE = 5000;
const TLS_SERVER_EVENTS = new Set(['connection', 'secureConnection', 'tlsClientError', 'keylog', 'newSession']);

let pki: TestPKI;
const resources = new Resources();
let serverEmit: MockInstance<(event: string | symbol, ...args: unknown[]) => boolean>;

beforeAll(async () => {
  pki = await generateTestPKI();
});
afterAll(async () => {
  await pki?.remove();
});
afterEach(async () => {
  serverEmit?.mockRestore();
  await resources.close();
});

/** Events of any `tls.Server` in this process: a handshake on the server side shows up here. */
function tlsServerEvents(): string[] {
  return serverEmit.mock.calls.map(([event]) => String(event)).filter((event) => TLS_SERVER_EVENTS.has(event));
}

/**
 * A TLS client over a raw TCP socket that counts the bytes the server sends back.
 * Any server-side TLS work (ServerHello, alert) would show up as received bytes.
 */
function probe(port: number): { received(): number; tcpClosed: Promise<void>; tlsSocket: tls.TLSSocket } {
  const raw = resources.socket(net.connect({ host: '127.0.0.1', port }));
  let received = 0;
  const tcpClosed = deferred<void>();
  const duplex = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      raw.write(chunk, callback);
    },
    final(callback) {
      raw.end();
      callback();
    },
    destroy(error, callback) {
      raw.destroy();
      callback(error);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (!duplex.push(chunk)) raw.pause();
  });
  raw.on('end', () => duplex.push(null));
  raw.on('error', () => {});
  raw.on('close', () => {
    tcpClosed.resolve();
    duplex.destroy();
  });
  const tlsSocket = tls.connect({ socket: duplex, ca: pki.ca.cert, servername: 'localhost' });
  tlsSocket.on('error', () => {});
  return { received: () => received, tcpClosed: tcpClosed.promise, tlsSocket };
}

describe('accept filter runs before the TLS handshake', () => {
  it('a refused remote gets no TLS work: no handshake events, not one byte back', async () => {
    const server = await serve(
      tlsTransport({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestClientCert: true }),
      resources,
      { accept: (remote) => (remote.address === '127.0.0.1' ? 'deny-listed address' : undefined) },
    );
    serverEmit = vi.spyOn(tls.Server.prototype, 'emit');

    const client = probe(server.listener.port);
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe('deny-listed address');
    expect(refusal.error).toBeUndefined();
    expect(refusal.remote).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    await within(client.tcpClosed, DEADLINE, 'refused socket closed');

    expect(client.received()).toBe(0);
    expect(tlsServerEvents()).toEqual([]);
    expect(server.accepted).toHaveLength(0);
    expect(server.refusals).toHaveLength(1);
  });

  it('the same probe, accepted, does get a handshake (the check above can fail)', async () => {
    const server = await serve(tlsTransport({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert }), resources, {
      accept: () => undefined,
    });
    serverEmit = vi.spyOn(tls.Server.prototype, 'emit');

    const client = probe(server.listener.port);
    const secure = deferred<void>();
    client.tlsSocket.once('secureConnect', () => secure.resolve());
    await within(secure.promise, DEADLINE, 'probe handshake');
    await within(server.nextConnection(), DEADLINE, 'accept');

    expect(client.received()).toBeGreaterThan(0);
    expect(tlsServerEvents()).toContain('secureConnection');
    expect(server.refusals).toHaveLength(0);
  });
});
