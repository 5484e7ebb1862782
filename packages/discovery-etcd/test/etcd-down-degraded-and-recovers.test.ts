import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';
import { ids, nextEvent, until } from './events.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.remove();
});

it('etcd fully down: degraded is reported, the members stay, and it recovers when etcd returns', async () => {
  const options = {
    endpoints: etcd.endpoints,
    cluster: 'down',
    leaseTtlSeconds: 30,
    keepAliveIntervalMs: 300,
    maxRetryDelayMs: 500,
    requestTimeoutMs: 1000,
  };
  const a = etcdDiscovery(options);
  const b = etcdDiscovery(options);
  try {
    await a.start({ name: 'a', host: '127.0.0.1', port: 60301 });
    await b.start({ name: 'b', host: '127.0.0.1', port: 60302 });
    await until(a, () => ids(a).includes('b'), 'b at a');

    const degraded = nextEvent(a, (e) => e.type === 'degraded', 'degraded');
    await etcd.members[0]?.kill();
    const event = await degraded;
    expect(a.degraded).toBe(true);
    expect(event.type === 'degraded' && event.error).toMatchObject({ code: 'SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE' });
    // The last known membership stays while etcd is away.
    expect(ids(a)).toEqual(['b']);

    const recovered = nextEvent(a, (e) => e.type === 'recovered', 'recovered', 30_000);
    await etcd.members[0]?.restart();
    await recovered;
    expect(a.degraded).toBe(false);
    expect(ids(a)).toEqual(['b']);

    // Watching works again after the recovery.
    const c = etcdDiscovery(options);
    try {
      await c.start({ name: 'c', host: '127.0.0.1', port: 60303 });
      await until(a, () => ids(a).includes('c'), 'c at a after recovery');
    } finally {
      await c.close();
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}, 90_000);

it('a discovery started while etcd is unreachable starts degraded and joins once etcd answers', async () => {
  const member = etcd.members[0];
  await member?.kill();
  const options = { endpoints: etcd.endpoints, cluster: 'late', maxRetryDelayMs: 300, requestTimeoutMs: 1000 };
  const a = etcdDiscovery(options);
  try {
    await a.start({ name: 'a', host: '127.0.0.1', port: 60311 });
    expect(a.degraded).toBe(true);
    const recovered = nextEvent(a, (e) => e.type === 'recovered', 'recovered', 30_000);
    await member?.restart();
    await recovered;
    const b = etcdDiscovery(options);
    try {
      await b.start();
      expect(ids(b)).toEqual(['a']);
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}, 90_000);
