import { describe, expect, it } from 'vitest';
import { createNode, staticDiscovery, type SystemgeNode } from '../src/index.js';
import { MemoryRegistry } from './fixtures/memory-discovery.js';
import { startNode, until } from './helpers.js';

const names = (node: SystemgeNode): string[] =>
  node
    .peers()
    .map((p) => p.name)
    .sort();

describe('a node with a discovery', () => {
  it("connectTo 'all': nodes started with only a shared discovery form a full mesh, each pair dialed once", async () => {
    const registry = new MemoryRegistry();
    const nodes: SystemgeNode[] = [];
    for (const name of ['a', 'b', 'c', 'd']) {
      const node = await startNode({ name, listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: registry.discovery() } });
      nodes.push(node);
    }
    await until(() => nodes.every((n) => n.peers().length === 3), 10_000, 'full mesh');
    for (const node of nodes) expect(names(node)).toEqual(['a', 'b', 'c', 'd'].filter((n) => n !== node.name));
    // The name sorting first dials: a dials 3, b 2, c 1, d none; no duplicate was dialed.
    expect(nodes.map((n) => n.stats.connectionAttempts)).toEqual([3, 2, 1, 0]);
  });

  it('a member that leaves is dropped; one that joins later is dialed', { timeout: 30_000 }, async () => {
    const registry = new MemoryRegistry();
    const a = await startNode({ name: 'a', listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: registry.discovery() } });
    const b = await startNode({ name: 'b', listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: registry.discovery() } });
    await until(() => names(a).join() === 'b', 10_000, 'a-b');
    // b's record disappears (its lease expired) while its process still runs: a closes what it dialed.
    registry.remove('b');
    await until(() => a.peers().length === 0 && b.peers().length === 0, 10_000, 'a dropped b');
    const c = await startNode({ name: 'c', listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: registry.discovery() } });
    await until(() => names(a).join() === 'c' && names(c).includes('a'), 10_000, 'a-c');
    // b still watches, so it dials c itself; a never dials b again while b has no record.
    expect(names(a)).toEqual(['c']);
  });

  it('{ uses }: a node dials only members serving a topic it uses', async () => {
    const registry = new MemoryRegistry();
    const app = (topic: string) => ({ getSyncMessageHandlers: () => ({ [topic]: () => topic }) });
    const orders = await startNode({ name: 'orders', listen: { host: '127.0.0.1', port: 0 } }, app('order'), {
      discovery: { source: registry.discovery(), connectTo: { uses: [] } },
    });
    const stock = await startNode({ name: 'stock', listen: { host: '127.0.0.1', port: 0 } }, app('stock'), {
      discovery: { source: registry.discovery(), connectTo: { uses: [] } },
    });
    // The policy from the config data (as a configuration file gives it).
    const client = await startNode(
      { name: 'client', listen: { host: '127.0.0.1', port: 0 }, discovery: { connectTo: { uses: ['stock'] } } },
      {},
      { discovery: { source: registry.discovery() } },
    );
    await until(() => names(client).join() === 'stock', 10_000, 'client-stock');
    expect(await client.syncRequest('stock', '').first()).toBe('stock');
    expect(names(orders)).toEqual([]);
    expect(orders.stats.connectionAttempts + stock.stats.connectionAttempts).toBe(0);
  });

  it('{ uses } both ways: each pair is dialed once, by the name sorting first, and the mesh is full', async () => {
    const registry = new MemoryRegistry();
    const app = (topic: string) => ({ getSyncMessageHandlers: () => ({ [topic]: () => topic }) });
    const nodes: SystemgeNode[] = [];
    for (const [name, serves, uses] of [
      ['o1', 'order', 'stock'],
      ['s1', 'stock', 'order'],
      ['o2', 'order', 'stock'],
      ['s2', 'stock', 'order'],
    ] as const) {
      nodes.push(
        await startNode({ name, listen: { host: '127.0.0.1', port: 0 } }, app(serves), {
          discovery: { source: registry.discovery(), connectTo: { uses: [uses] } },
        }),
      );
    }
    const [o1, s1, o2, s2] = nodes as [SystemgeNode, SystemgeNode, SystemgeNode, SystemgeNode];
    await until(() => nodes.every((n) => n.peers().length === 2), 10_000, 'every order node meets every stock node');
    expect(names(o1)).toEqual(['s1', 's2']);
    expect(names(s2)).toEqual(['o1', 'o2']);
    // Four pairs, four dials: o1 dials s1 and s2, o2 dials s1 and s2 (their names sort first).
    expect(nodes.map((n) => n.stats.connectionAttempts)).toEqual([2, 0, 2, 0]);
    expect(s1.stats.connectionsIn + s2.stats.connectionsIn).toBe(4);
    expect(await s1.syncRequest('order', '').first()).toBe('order');
    expect(await o2.syncRequest('stock', '').first()).toBe('stock');
  });

  it('{ uses }: a member that stops serving what the dialer uses keeps the connection when it still uses the dialer', async () => {
    const registry = new MemoryRegistry();
    const aSource = registry.discovery();
    const a = await startNode(
      { name: 'a-orders', listen: { host: '127.0.0.1', port: 0 }, discovery: { connectTo: { uses: ['stock'] } } },
      { getSyncMessageHandlers: () => ({ order: () => 'order' }) },
      { discovery: { source: aSource } },
    );
    const b = await startNode(
      { name: 'b-stock', listen: { host: '127.0.0.1', port: 0 }, discovery: { connectTo: { uses: ['order'] } } },
      { getSyncMessageHandlers: () => ({ stock: () => 'stock' }) },
      { discovery: { source: registry.discovery() } },
    );
    await until(() => names(a).join() === 'b-stock' && names(b).join() === 'a-orders', 10_000, 'a-b');
    expect([a.stats.connectionAttempts, b.stats.connectionAttempts]).toEqual([1, 0]);
    const losses: string[] = [];
    a.on('peer:disconnected', (peer) => losses.push(`a lost ${peer.name}`));
    b.on('peer:disconnected', (peer) => losses.push(`b lost ${peer.name}`));
    // b no longer serves stock: a no longer uses b, but b still uses a, so the pair must stay connected.
    const seen = new Promise<void>((resolve) => {
      a.on('discovery:changed', () => {
        if (aSource.members().find((m) => m.name === 'b-stock')?.topics.length === 0) resolve();
      });
    });
    b.removeSyncTopic('stock');
    await seen;
    expect(await b.syncRequest('order', '').first()).toBe('order');
    expect(await b.syncRequest('order', '').first()).toBe('order');
    expect(losses).toEqual([]);
    expect(names(b)).toEqual(['a-orders']);
  });

  it('never dials itself, even when the discovery lists its own address under another id', async () => {
    const first = await startNode({ name: 'solo', listen: { host: '127.0.0.1', port: 0 } });
    const port = first.address?.port as number;
    await first.stop();
    // Static entries: its own address without a name, and its own name.
    const source = staticDiscovery({
      members: [
        { host: '127.0.0.1', port },
        { host: '127.0.0.1', port, name: 'solo' },
      ],
    });
    const node = await startNode({ name: 'solo', listen: { host: '127.0.0.1', port } }, {}, { discovery: { source } });
    expect(source.members()).toEqual([]);
    expect(node.stats.connectionAttempts).toBe(0);
  });

  it('refuses to announce a wildcard listen host without advertiseHost', async () => {
    const registry = new MemoryRegistry();
    await expect(
      startNode({ name: 'wild', listen: { host: '0.0.0.0', port: 0 } }, {}, { discovery: { source: registry.discovery() } }),
    ).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_DISCOVERY_STATE', message: expect.stringContaining('advertiseHost') });
    const ok = await startNode(
      { name: 'wild2', listen: { host: '0.0.0.0', port: 0 } },
      {},
      { discovery: { source: registry.discovery(), advertiseHost: '127.0.0.1' } },
    );
    expect(ok.status).toBe('started');
  });

  it('refuses a connectTo policy that is neither "all" nor { uses }, naming the field', () => {
    expect(() => createNode({ name: 'x', discovery: { connectTo: 'some' as 'all' } })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', path: 'discovery.connectTo' }),
    );
    expect(() => createNode({ name: 'x', discovery: { connectTo: { uses: [''] } } })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG' }),
    );
  });

  it('a topic added at runtime is announced, and a node that uses it dials the member then', async () => {
    const registry = new MemoryRegistry();
    const stock = await startNode(
      { name: 'stock', listen: { host: '127.0.0.1', port: 0 }, discovery: { connectTo: { uses: [] } } },
      {},
      {
        discovery: { source: registry.discovery() },
      },
    );
    const client = await startNode(
      { name: 'client', listen: { host: '127.0.0.1', port: 0 }, discovery: { connectTo: { uses: ['price'] } } },
      {},
      {
        discovery: { source: registry.discovery() },
      },
    );
    expect(names(client)).toEqual([]);
    stock.addSyncTopic('price', () => '42');
    await until(() => names(client).join() === 'stock', 10_000, 'client dialed stock after it announced price');
    expect(await client.syncRequest('price', '').first()).toBe('42');
  });
});
