import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConnectionConfig, createNode, type EndpointConfig, type SystemgeNode } from '../src/index.js';
import { startNode, until } from './helpers.js';

/** A port that was just bound and released, so nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const nodes: SystemgeNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
});

function dialer(port: number, connection: ConnectionConfig): SystemgeNode {
  const node = createNode({
    name: 'dialer',
    transport: tcpTransport(),
    listen: false,
    endpoints: [{ host: '127.0.0.1', port }],
    connection,
  });
  nodes.push(node);
  return node;
}

/** Records attempt times and failure / give-up events. */
function record(node: SystemgeNode): { attempts: number[]; failed: number[]; gaveUp: Error[] } {
  const r = { attempts: [] as number[], failed: [] as number[], gaveUp: [] as Error[] };
  node.on('connect:attempt', (_e: EndpointConfig, n: number) => {
    expect(n).toBe(r.attempts.length + 1);
    r.attempts.push(performance.now());
  });
  node.on('connect:failed', (_e, n) => r.failed.push(n));
  node.on('connect:gave-up', (_e, error) => r.gaveUp.push(error));
  return r;
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}

const policy: ConnectionConfig = { maxAttempts: 3, initialDelayMs: 50, backoffFactor: 2, jitter: 0, maxDelayMs: 10_000 };

describe('connection attempts to an unreachable endpoint at start', () => {
  it("onFailure 'stop': start() rejects with SYSTEMGE_ERR_CONNECT_ATTEMPTS after 3 attempts spaced 50, 100 ms", async () => {
    const node = dialer(await closedPort(), { ...policy, onFailure: 'stop' });
    const r = record(node);
    await expect(node.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_CONNECT_ATTEMPTS', attempts: 3 });
    expect(node.status).toBe('stopped');
    expect(node.address).toBeUndefined();
    expect(r.attempts).toHaveLength(3);
    expect(r.failed).toEqual([1, 2, 3]);
    expect(r.gaveUp).toHaveLength(1);
    const [first, second] = gaps(r.attempts) as [number, number];
    // Each gap is the backoff delay plus one refused dial. The exact spacing is checked on a fake
    // clock in test/parts/dialer.test.ts; over real sockets only the order of magnitude is, since a
    // busy machine can delay any timer.
    expect(first).toBeGreaterThanOrEqual(48);
    expect(second).toBeGreaterThanOrEqual(98);
    expect(second).toBeGreaterThan(first);
    expect(first + second).toBeLessThan(5_000);
    expect(node.stats).toMatchObject({ connectionAttempts: 3, connectionFailures: 3 });
  });

  it("onFailure 'continue': start() resolves after 3 attempts and emits connect:gave-up", async () => {
    const node = dialer(await closedPort(), { ...policy, onFailure: 'continue' });
    const r = record(node);
    await node.start();
    expect(node.status).toBe('started');
    expect(r.attempts).toHaveLength(3);
    expect(r.gaveUp).toHaveLength(1);
    expect(r.gaveUp[0]).toMatchObject({ code: 'SYSTEMGE_ERR_CONNECT_ATTEMPTS', attempts: 3 });
    expect(node.peers()).toEqual([]);
    expect(node.stats).toMatchObject({ connectionAttempts: 3, connectionFailures: 3, connectionsOut: 0 });
  });

  it('caps the delay at maxDelayMs', async () => {
    const node = dialer(await closedPort(), { maxAttempts: 4, initialDelayMs: 20, backoffFactor: 10, maxDelayMs: 60, jitter: 0 });
    const r = record(node);
    await node.start();
    const g = gaps(r.attempts);
    expect(g).toHaveLength(3);
    expect(g[0]).toBeGreaterThanOrEqual(18);
    expect(g[0]).toBeLessThan(20 + 50);
    for (const capped of g.slice(1)) {
      expect(capped).toBeGreaterThanOrEqual(58);
      expect(capped).toBeLessThan(60 + 50);
    }
  });

  it('with maxAttempts 0, start() keeps waiting until the endpoint becomes reachable', async () => {
    const port = await closedPort();
    const node = dialer(port, { maxAttempts: 0, initialDelayMs: 20, maxDelayMs: 40, jitter: 0 });
    const r = record(node);
    let started = false;
    const starting = node.start().then(() => {
      started = true;
    });
    await until(() => r.failed.length >= 3, 5000, 'three failed attempts');
    expect(started).toBe(false);
    expect(node.status).toBe('starting');
    await startNode({ name: 'late', listen: { host: '127.0.0.1', port } });
    await starting;
    expect(node.peers().map((p) => p.name)).toEqual(['late']);
    expect(r.gaveUp).toEqual([]);
  });

  it('stop() cancels a start() that waits forever; start() rejects with SYSTEMGE_ERR_NODE_STOPPED', async () => {
    const node = dialer(await closedPort(), { maxAttempts: 0, initialDelayMs: 20, maxDelayMs: 40, jitter: 0 });
    const r = record(node);
    const starting = node.start();
    await until(() => r.failed.length >= 2, 5000, 'two failed attempts');
    await node.stop();
    await expect(starting).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STOPPED' });
    expect(node.status).toBe('stopped');
  });
});

describe('connection config validation', () => {
  it.each([
    ['maxAttempts', -1],
    ['initialDelayMs', 1.5],
    ['backoffFactor', 0.5],
    ['jitter', 2],
    ['onFailure', 'retry'],
    ['onLoss', 'ignore'],
  ])('rejects connection.%s = %j naming the field', (field, value) => {
    expect(() => createNode({ name: 'x', connection: { [field]: value } as ConnectionConfig })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', path: `connection.${field}` }),
    );
  });
});
