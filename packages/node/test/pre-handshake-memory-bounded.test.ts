import { connect, type Socket } from 'node:net';
import { FrameDecoder, FrameKind, type Frame, type GoodbyeFrame, resolveLimits } from '@systemge/protocol';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

/*
 * Item: unauthenticated connections must not take gigabytes. Before the handshake only a
 * handshake-sized frame is accepted (limits.maxHandshakeFrameBytes), and the bytes all pending
 * handshakes may hold together are bounded (access.maxPendingHandshakeBytes).
 */

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

interface Attacker {
  socket: Socket;
  goodbye: Promise<GoodbyeFrame | undefined>;
  closed: Promise<void>;
}

/** A raw socket that declares a first frame of `declared` bytes and trickles `chunk`-sized pieces of it. */
function attacker(port: number, declared: number, chunk: number, everyMs: number): Attacker {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  socket.once('connect', () => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(declared, 0);
    head[4] = FrameKind.Handshake;
    socket.write(head);
    let sent = 1;
    timer = setInterval(() => {
      if (socket.destroyed || sent >= declared) return;
      const n = Math.min(chunk, declared - sent);
      socket.write(Buffer.alloc(n, 0x41));
      sent += n;
    }, everyMs);
  });
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(resolveLimits(), { onFrame: (f) => frames.push(f), onError: () => {} });
  socket.on('data', (c: Buffer) => decoder.push(c));
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve();
    }),
  );
  const goodbye = closed.then(() => frames.find((f): f is GoodbyeFrame => f.kind === FrameKind.Goodbye));
  return { socket, goodbye, closed };
}

describe('pre-handshake memory is bounded', () => {
  it('refuses 48 sockets declaring a 16 MiB first frame with FRAME_TOO_LARGE and keeps serving a real peer', async () => {
    const server = await startNode(
      { name: 'server', auth: { token: 'secret' } },
      { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) },
    );
    const port = server.address!.port;
    const attackers = Array.from({ length: 48 }, () => attacker(port, 16 * 1024 * 1024, 64 * 1024, 20));
    const goodbyes = await Promise.all(attackers.map((a) => a.goodbye));
    for (const goodbye of goodbyes) {
      expect(goodbye).toMatchObject({ code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE' });
      expect(goodbye?.reason).toBe('frame of 16777216 bytes exceeds maxHandshakeFrameBytes 65536');
    }
    await until(() => server.stats.handshakeFailures >= 48, 10_000, 'refusals counted');
    // A legitimate peer connects and is served.
    const client = await startNode({ name: 'client', listen: false, auth: { token: 'secret' }, endpoints: [endpointOf(server)] });
    expect(await client.syncRequest('echo', 'hello').first()).toBe('hello');
  });

  it('a peer trickling a legal handshake-sized frame is evicted once pending handshakes exceed maxPendingHandshakeBytes', async () => {
    const warnings: string[] = [];
    const server = await startNode(
      {
        name: 'server',
        limits: { maxHandshakeFrameBytes: 64 * 1024 },
        access: { maxPendingHandshakeBytes: 2 * 64 * 1024 },
        connection: { handshakeTimeoutMs: 60_000 },
      },
      { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) },
      { logger: { trace() {}, debug() {}, info() {}, warn: (_o: unknown, msg?: string) => warnings.push(String(msg)), error() {} } },
    );
    const port = server.address!.port;
    // Each declares a legal 60 KiB first frame and sends it slowly: two fit the budget, the third evicts the oldest.
    const first = attacker(port, 60 * 1024, 512, 50);
    await until(() => server.stats.connectionsAccepted >= 1, 5000, 'first accepted');
    const second = attacker(port, 60 * 1024, 512, 50);
    await until(() => server.stats.connectionsAccepted >= 2, 5000, 'second accepted');
    const third = attacker(port, 60 * 1024, 512, 50);
    const goodbye = await first.goodbye;
    expect(goodbye?.code).toBe('SYSTEMGE_ERR_HANDSHAKE');
    expect(goodbye?.reason).toContain('access.maxPendingHandshakeBytes 131072');
    expect(
      warnings.some((w) =>
        w.includes('handshake dropped: evicted: pending handshakes would hold more than access.maxPendingHandshakeBytes'),
      ),
    ).toBe(true);
    expect(server.stats.handshakeFailures).toBeGreaterThanOrEqual(1);
    // A real peer still gets in (pushing out another silent one) and is served.
    const client = await startNode({ name: 'client', listen: false, endpoints: [endpointOf(server)] });
    expect(await client.syncRequest('echo', 'x').first()).toBe('x');
    second.socket.destroy();
    third.socket.destroy();
  });

  it('refuses a config whose pending-handshake budget cannot hold one handshake, naming the field', () => {
    expect(() =>
      createNode({
        name: 'n',
        transport: tcpTransport(),
        limits: { maxHandshakeFrameBytes: 32 * 1024 },
        access: { maxPendingHandshakeBytes: 1000 },
      }),
    ).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', message: expect.stringContaining('access.maxPendingHandshakeBytes') }),
    );
    expect(() => createNode({ name: 'n', transport: tcpTransport(), limits: { maxHandshakeFrameBytes: 100 } })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', message: expect.stringContaining('limits.maxHandshakeFrameBytes') }),
    );
  });
});
