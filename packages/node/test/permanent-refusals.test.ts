import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, type EndpointConfig, type Logger, type SystemgeNode } from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

const own: SystemgeNode[] = [];
afterEach(async () => {
  await Promise.all(own.splice(0).map((n) => n.stop().catch(() => {})));
});
function track(node: SystemgeNode): SystemgeNode {
  own.push(node);
  return node;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A logger that keeps `level message` lines. */
function capturingLogger(lines: string[]): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(`${level} ${typeof obj === 'string' ? obj : `${JSON.stringify(obj)} ${msg ?? ''}`}`);
    };
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

/** Counts connection attempts and failures. */
function record(node: SystemgeNode): { attempts: number; failed: string[]; gaveUp: string[] } {
  const r = { attempts: 0, failed: [] as string[], gaveUp: [] as string[] };
  node.on('connect:attempt', () => r.attempts++);
  node.on('connect:failed', (_e: EndpointConfig, _n: number, error: Error) => r.failed.push((error as { code?: string }).code ?? '?'));
  node.on('connect:gave-up', (_e: EndpointConfig, error: Error) => r.gaveUp.push((error as { code?: string }).code ?? '?'));
  return r;
}

// Default policy (5 attempts, 200 ms backoff): a retried refusal would show as more attempts.
describe('permanent refusals are final', () => {
  it('dialing its own address fails on the first attempt with SYSTEMGE_ERR_SELF_DIAL, logged at error level', async () => {
    const lines: string[] = [];
    const node = await startNode({ name: 'solo' }, {}, { logger: capturingLogger(lines) });
    const r = record(node);
    await expect(node.connect(endpointOf(node))).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_SELF_DIAL',
      message: expect.stringContaining(`node "solo" dialed itself`),
    });
    expect(r.attempts).toBe(1);
    expect(r.failed).toEqual(['SYSTEMGE_ERR_SELF_DIAL']);
    expect(node.peers()).toEqual([]);
    expect(lines.some((l) => l.startsWith('error ') && l.includes('SYSTEMGE_ERR_SELF_DIAL'))).toBe(true);
    // The node still serves others.
    const other = await startNode({ name: 'other', endpoints: [endpointOf(node)] });
    expect(other.peers().map((p) => p.name)).toEqual(['solo']);
  });

  it('a node that lists its own address among its endpoints starts, gives that one up after one attempt, connects the rest', async () => {
    const peer = await startNode({ name: 'peer' });
    const port = await freePort();
    const node = track(
      createNode({
        name: 'listed',
        transport: tcpTransport(),
        listen: { host: '127.0.0.1', port },
        endpoints: [{ host: '127.0.0.1', port }, endpointOf(peer)],
      }),
    );
    const r = record(node);
    await node.start();
    expect(r.attempts).toBe(2);
    expect(r.failed).toEqual(['SYSTEMGE_ERR_SELF_DIAL']);
    expect(r.gaveUp).toEqual(['SYSTEMGE_ERR_SELF_DIAL']);
    expect(node.peers().map((p) => p.name)).toEqual(['peer']);
  });

  it('a wrong token fails after one attempt with SYSTEMGE_ERR_AUTH_FAILED, at start and on connect()', async () => {
    const server = await startNode({ name: 'server', auth: { token: 'right' } });
    const lines: string[] = [];
    const dialer = await startNode({ name: 'dialer', auth: { token: 'wrong' } }, {}, { logger: capturingLogger(lines) });
    const r = record(dialer);
    await expect(dialer.connect(endpointOf(server))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(r.attempts).toBe(1);
    expect(r.failed).toEqual(['SYSTEMGE_ERR_AUTH_FAILED']);
    expect(lines.some((l) => l.startsWith('error ') && l.includes('SYSTEMGE_ERR_AUTH_FAILED'))).toBe(true);

    // From the config at start: one attempt, then connect:gave-up with the typed error itself.
    const configured = track(
      createNode({ name: 'configured', transport: tcpTransport(), auth: { token: 'wrong' }, endpoints: [endpointOf(server)] }),
    );
    const c = record(configured);
    await configured.start();
    expect(c.attempts).toBe(1);
    expect(c.gaveUp).toEqual(['SYSTEMGE_ERR_AUTH_FAILED']);
    expect(server.stats.handshakeFailures).toBe(2);
  });

  it("with onFailure 'stop', start() rejects at once with the refusal's own code", async () => {
    const server = await startNode({ name: 'server', auth: { token: 'right' } });
    const attempts: number[] = [];
    await expect(
      startNode(
        { name: 'strict', auth: { token: 'wrong' }, endpoints: [endpointOf(server)], connection: { onFailure: 'stop' } },
        {},
      ).finally(() => attempts.push(server.stats.handshakeFailures)),
    ).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(attempts).toEqual([1]);
  });

  it('a duplicate name fails after one attempt with SYSTEMGE_ERR_DUPLICATE_NAME', async () => {
    const hub = await startNode({ name: 'hub' });
    await startNode({ name: 'twin', endpoints: [endpointOf(hub)] });
    const second = await startNode({ name: 'twin' });
    const r = record(second);
    await expect(second.connect(endpointOf(hub))).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_DUPLICATE_NAME' });
    expect(r.attempts).toBe(1);
    expect(r.failed).toEqual(['SYSTEMGE_ERR_DUPLICATE_NAME']);
    expect(r.gaveUp).toEqual([]);
    expect(hub.peers().map((p) => p.name)).toEqual(['twin']);
  });
});
