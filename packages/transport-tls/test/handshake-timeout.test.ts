import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tlsTransport } from '../src/index.js';
import { generateTestPKI, type TestPKI } from '@systemge/transport-compliance/pki';
import { deferred, message, observe, Resources, within } from './harness.js';
import { serve } from './serve.js';

const HANDSHAKE_TIMEOUT_MS = 400;
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

async function stalledSocket(port: number): Promise<{ socket: net.Socket; localPort: number; openedAt: number; closed: Promise<number> }> {
  const socket = resources.socket(net.connect({ host: '127.0.0.1', port }));
  socket.on('error', () => {});
  const closed = deferred<number>();
  socket.on('close', () => closed.resolve(performance.now()));
  socket.resume();
  const connected = deferred<void>();
  socket.once('connect', () => connected.resolve());
  await within(connected.promise, DEADLINE, 'tcp connect');
  return { socket, localPort: socket.localPort ?? 0, openedAt: performance.now(), closed: closed.promise };
}

describe('TLS handshake timeout', () => {
  it('closes a socket that never handshakes while another client connects and works', async () => {
    const server = await serve(
      tlsTransport({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }),
      resources,
    );
    const stalled = await stalledSocket(server.listener.port);
    let stalledClosed = false;
    void stalled.closed.then(() => {
      stalledClosed = true;
    });

    const client = tlsTransport({ ca: pki.ca.cert });
    const connection = resources.connection(await within(client.dial({ host: '127.0.0.1', port: server.listener.port }), DEADLINE, 'dial'));
    const clientSide = observe(connection);
    connection.send(message('meanwhile', 'still served'));
    expect(await within(clientSide.nextFrame(), DEADLINE, 'echo')).toEqual(message('meanwhile', 'still served'));
    expect(stalledClosed).toBe(false);

    const closedAt = await within(stalled.closed, DEADLINE, 'stalled socket closed');
    // Timers may fire a little early relative to performance.now(); never by much.
    expect(closedAt - stalled.openedAt).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 20);

    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe(`TLS handshake not finished within ${HANDSHAKE_TIMEOUT_MS} ms`);
    expect(refusal.error?.code).toBe('SYSTEMGE_ERR_TLS_HANDSHAKE');
    expect(refusal.remote.port).toBe(stalled.localPort);

    // The connection made meanwhile is untouched.
    expect(connection.closed).toBe(false);
    connection.send(message('after', 'timeout'));
    expect(await within(clientSide.nextFrame(), DEADLINE, 'echo after timeout')).toEqual(message('after', 'timeout'));
    expect(server.accepted).toHaveLength(1);
  });

  it('counts from accept, not from the last byte: a trickling client is closed on time', async () => {
    const server = await serve(
      tlsTransport({ cert: pki.server.cert, key: pki.server.key, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }),
      resources,
    );
    const stalled = await stalledSocket(server.listener.port);
    // A TLS record header announcing a large handshake message, then one byte of it every 50 ms.
    stalled.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]));
    const trickle = setInterval(() => {
      if (!stalled.socket.destroyed) stalled.socket.write(Buffer.from([0x01]));
    }, 50);
    try {
      const closedAt = await within(stalled.closed, DEADLINE, 'trickling socket closed');
      expect(closedAt - stalled.openedAt).toBeLessThan(HANDSHAKE_TIMEOUT_MS * 3);
    } finally {
      clearInterval(trickle);
    }
    const refusal = await within(server.nextRefusal(), DEADLINE, 'refusal');
    expect(refusal.reason).toBe(`TLS handshake not finished within ${HANDSHAKE_TIMEOUT_MS} ms`);
  });

  it('a listener closed during a handshake drops the half-open socket without reporting it', async () => {
    const server = await serve(tlsTransport({ cert: pki.server.cert, key: pki.server.key }), resources);
    const stalled = await stalledSocket(server.listener.port);
    // The server must have seen the socket before it is closed.
    stalled.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]));
    await server.listener.close();
    await within(stalled.closed, DEADLINE, 'half-open socket closed');
    expect(server.refusals).toHaveLength(0);
    expect(server.accepted).toHaveLength(0);
  });
});
