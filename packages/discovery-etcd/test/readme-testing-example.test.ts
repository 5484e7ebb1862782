import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd(); // a real etcd on free loopback ports, with a temp data dir
}, 60_000);
afterAll(() => etcd.remove());

it('announces orders-1, and keeps the members while etcd is down', async () => {
  const options = { endpoints: etcd.endpoints, cluster: 'shop', requestTimeoutMs: 1000, maxRetryDelayMs: 500 };
  const orders = etcdDiscovery(options);
  const watcher = etcdDiscovery(options);
  try {
    await orders.start({ name: 'orders-1', host: '127.0.0.1', port: 60001, topics: ['order.create'] });
    expect(await etcd.keys('/systemge/shop/members/')).toEqual(['/systemge/shop/members/orders-1']);
    await watcher.start();
    expect(watcher.members().map((m) => m.name)).toEqual(['orders-1']);

    const down = watcher.events(AbortSignal.timeout(30_000));
    await etcd.kill();
    for await (const event of down) if (event.type === 'degraded') break;
    expect(watcher.degraded).toBe(true);
    expect(watcher.members().map((m) => m.name)).toEqual(['orders-1']);

    const up = watcher.events(AbortSignal.timeout(30_000));
    await etcd.members[0]?.restart(); // same ports, same data dir
    for await (const event of up) if (event.type === 'recovered') break;
    expect(watcher.degraded).toBe(false);
  } finally {
    await Promise.all([orders.close(), watcher.close()]);
  }
}, 90_000);
