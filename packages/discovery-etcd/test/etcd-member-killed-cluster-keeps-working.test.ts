import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';
import { ids, until } from './events.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd({ members: 3 });
}, 90_000);
afterAll(async () => {
  await etcd?.remove();
});

it('a 3-member etcd cluster keeps discovery working when the member in use is killed', async () => {
  // Every discovery talks to etcd0 first; the others are its fallbacks.
  const options = { endpoints: etcd.endpoints, cluster: 'ha', leaseTtlSeconds: 4, keepAliveIntervalMs: 500 };
  const a = etcdDiscovery(options);
  const b = etcdDiscovery(options);
  const c = etcdDiscovery({ ...options, endpoints: [...etcd.endpoints].reverse() });
  try {
    await a.start({ name: 'a', host: '127.0.0.1', port: 60201 });
    await b.start({ name: 'b', host: '127.0.0.1', port: 60202 });
    await until(a, () => ids(a).includes('b'), 'b at a');

    const seenByA: string[] = [];
    a.subscribe((event) => seenByA.push(event.type));
    await etcd.members[0]?.kill();

    // a and b move to the next member and keep their leases alive: nobody leaves.
    await c.start({ name: 'c', host: '127.0.0.1', port: 60203 });
    await until(a, () => ids(a).includes('c'), 'c at a after etcd0 died');
    await until(b, () => ids(b).includes('c'), 'c at b after etcd0 died');
    expect(ids(c)).toEqual(['a', 'b']);
    // Watch c for longer than the lease TTL: had a's or b's keep-alive stopped, c would see it leave.
    const seenByC: string[] = [];
    c.subscribe((event) => seenByC.push(event.type));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(seenByC).toEqual([]);
    expect(ids(c)).toEqual(['a', 'b']);
    // One etcd member down out of three is no outage: a never reported degraded.
    expect(seenByA).toEqual(['joined']);
    await b.stop();
    await until(a, () => !ids(a).includes('b'), 'b left at a');
    await until(c, () => !ids(c).includes('b'), 'b left at c');
    expect(ids(c)).toEqual(['a']);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
}, 90_000);
