import { createServer, type Server } from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createNode, type NodeConfig, type NodePlugin, type NodeStatus, type SystemgeNode } from '../src/index.js';
import { endpointOf, startNode } from './helpers.js';

const servers: Server[] = [];
const nodes: SystemgeNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A node that is not started yet (startNode would start it). */
function makeNode(config: Partial<NodeConfig> & { name: string }, app: object = {}, plugins: NodePlugin[] = []): SystemgeNode {
  const node = createNode({ transport: tcpTransport(), ...config }, app, { plugins });
  nodes.push(node);
  return node;
}

function recordStatuses(node: SystemgeNode): string[] {
  const seen: string[] = [];
  node.on('status', (status: NodeStatus, previous: NodeStatus) => seen.push(`${previous}→${status}`));
  return seen;
}

/** Resolves when a server of our own could bind `port` (so nothing else holds it). */
async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => {
      servers.push(server);
      resolve(true);
    });
  });
}

describe('node lifecycle', () => {
  it('goes stopped → starting → started → stopping → stopped, calling onStart and onStop', async () => {
    const calls: string[] = [];
    const node = makeNode(
      { name: 'n' },
      {
        onStart: (n: SystemgeNode) => void calls.push(`onStart:${n.status}:${n.address === undefined ? 'unbound' : 'bound'}`),
        onStop: (n: SystemgeNode) => void calls.push(`onStop:${n.status}`),
      },
    );
    const statuses = recordStatuses(node);
    expect(node.status).toBe('stopped');
    expect(node.address).toBeUndefined();
    await node.start();
    expect(node.status).toBe('started');
    const port = node.address!.port;
    expect(port).toBeGreaterThan(0);
    await node.stop();
    expect(node.address).toBeUndefined();
    expect(statuses).toEqual(['stopped→starting', 'starting→started', 'started→stopping', 'stopping→stopped']);
    expect(calls).toEqual(['onStart:starting:bound', 'onStop:stopping']);
    expect(await bindable(port)).toBe(true);
  });

  it('restarts: stops, starts again, and serves peers afterwards', async () => {
    let starts = 0;
    let stops = 0;
    const node = makeNode(
      { name: 'n' },
      { onStart: () => void starts++, onStop: () => void stops++, getSyncMessageHandlers: () => ({ ping: () => 'pong' }) },
    );
    await node.start();
    const statuses = recordStatuses(node);
    await node.restart();
    expect(statuses).toEqual(['started→stopping', 'stopping→stopped', 'stopped→starting', 'starting→started']);
    expect([starts, stops]).toEqual([2, 1]);
    const client = await startNode({ name: 'client', endpoints: [endpointOf(node)] });
    expect(await client.syncRequest('ping', '').first()).toBe('pong');
  });

  it('rejects a second start with SYSTEMGE_ERR_NODE_STATUS, while starting and once started', async () => {
    const node = makeNode({ name: 'n' });
    const first = node.start();
    await expect(node.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
    await first;
    await expect(node.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS', message: expect.stringContaining('started') });
    expect(node.status).toBe('started');
    // stop() twice is fine.
    await Promise.all([node.stop(), node.stop()]);
    expect(node.status).toBe('stopped');
  });

  it('leaves no port bound and status stopped when onStart throws', async () => {
    let port = 0;
    const node = makeNode(
      { name: 'n' },
      {
        onStart: (n: SystemgeNode) => {
          port = n.address!.port;
          throw new Error('application refused to start');
        },
      },
    );
    const statuses = recordStatuses(node);
    await expect(node.start()).rejects.toThrow('application refused to start');
    expect(node.status).toBe('stopped');
    expect(node.address).toBeUndefined();
    expect(statuses).toEqual(['stopped→starting', 'starting→stopped']);
    expect(port).toBeGreaterThan(0);
    expect(await bindable(port)).toBe(true);
  });

  it('leaves no port bound when an endpoint cannot be reached and onFailure is stop', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));

    let port = 0;
    const node = makeNode({
      name: 'n',
      endpoints: [{ host: '127.0.0.1', port: deadPort }],
      connection: { maxAttempts: 2, initialDelayMs: 1, onFailure: 'stop' },
    });
    node.on('connect:attempt', () => {
      port = node.address?.port ?? port;
    });
    await expect(node.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_CONNECT_ATTEMPTS' });
    expect(node.status).toBe('stopped');
    expect(port).toBeGreaterThan(0);
    expect(await bindable(port)).toBe(true);
  });

  it('fails to start on a port in use, and starts later once it is free', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const node = makeNode({ name: 'n', listen: { host: '127.0.0.1', port } });
    const statuses = recordStatuses(node);
    await expect(node.start()).rejects.toThrow();
    expect(node.status).toBe('stopped');
    expect(statuses).toEqual(['stopped→starting', 'starting→stopped']);
    await new Promise((resolve) => blocker.close(resolve));
    await node.start();
    expect(node.address?.port).toBe(port);
  });

  it('starts plugins in order after the listener and stops them in reverse, before the listener closes', async () => {
    const calls: string[] = [];
    const plugin = (name: string): NodePlugin => ({
      name,
      start: ({ node }) => void calls.push(`${name}.start:${node.address === undefined ? 'unbound' : 'bound'}`),
      stop: ({ node }) => void calls.push(`${name}.stop:${node.address === undefined ? 'unbound' : 'bound'}`),
      getCommandHandlers: () => ({ [`${name}-hello`]: () => `hello from ${name}` }),
    });
    const node = makeNode({ name: 'n' }, { onStart: () => void calls.push('app.onStart'), onStop: () => void calls.push('app.onStop') }, [
      plugin('first'),
      plugin('second'),
    ]);
    await node.start();
    expect(await node.command('second-hello')).toBe('hello from second');
    await node.stop();
    expect(calls).toEqual([
      'first.start:bound',
      'second.start:bound',
      'app.onStart',
      'app.onStop',
      'second.stop:bound',
      'first.stop:bound',
    ]);
  });

  it('stops the plugins already started when a later one fails to start', async () => {
    const calls: string[] = [];
    let port = 0;
    const node = makeNode({ name: 'n' }, {}, [
      {
        name: 'ok',
        start: ({ node: n }) => void ((port = n.address!.port), calls.push('ok.start')),
        stop: () => void calls.push('ok.stop'),
      },
      {
        name: 'bad',
        start: () => {
          throw new Error('plugin failed');
        },
        stop: () => void calls.push('bad.stop'),
      },
    ]);
    await expect(node.start()).rejects.toThrow('plugin failed');
    expect(calls).toEqual(['ok.start', 'ok.stop']);
    expect(node.status).toBe('stopped');
    expect(await bindable(port)).toBe(true);
  });
});
