import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Discovery, silentLogger } from '@systemge/node';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';
import { ids, nextEvent, until } from './events.js';

let etcd: TestEtcd;
const open: Discovery[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);

afterAll(async () => {
  await etcd?.remove();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

function discovery(cluster: string, leaseTtlSeconds = 10): Discovery {
  const d = etcdDiscovery({ endpoints: etcd.endpoints, cluster, leaseTtlSeconds, logger: silentLogger });
  open.push(d);
  return d;
}

async function put(key: string, value: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const res = await fetch(`${etcd.endpoints[0]}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  expect(res.status).toBe(200);
}

describe('etcd discovery', () => {
  it('members publish themselves and see each other, this node left out', async () => {
    const a = discovery('publish');
    const b = discovery('publish');
    await a.start({ name: 'a', instance: 'ia', host: '127.0.0.1', port: 60001, topics: ['orders'], metadata: { zone: 'z1' } });
    expect(a.degraded).toBe(false);
    expect(a.members()).toEqual([]);
    const joined = nextEvent(a, (e) => e.type === 'joined' && e.member.id === 'b', 'b joined at a');
    await b.start({ name: 'b', host: '127.0.0.1', port: 60002, topics: ['stock'] });
    const event = await joined;
    expect(event.type === 'joined' && event.member).toMatchObject({ name: 'b', host: '127.0.0.1', port: 60002, topics: ['stock'] });
    expect(ids(b)).toEqual(['a']);
    expect(b.members()[0]).toMatchObject({ name: 'a', instance: 'ia', topics: ['orders'], metadata: { zone: 'z1' } });
  }, 30_000);

  it('a watcher that announces nothing sees members join and change', async () => {
    const watcher = discovery('watch-only');
    await watcher.start();
    const member = discovery('watch-only');
    const joined = nextEvent(watcher, (e) => e.type === 'joined', 'joined');
    await member.start({ name: 'm', host: '127.0.0.1', port: 60003, topics: ['t1'] });
    await joined;
    await member.stop();
    await until(watcher, () => watcher.members().length === 0, 'm gone');
    const changedOrJoined = nextEvent(watcher, (e) => e.type === 'joined' && e.member.topics.includes('t2'), 'joined with t2');
    await member.start({ name: 'm', host: '127.0.0.1', port: 60003, topics: ['t2'] });
    await changedOrJoined;
  }, 30_000);

  it('update() rewrites the record under the same lease: the others see changed', async () => {
    const a = discovery('update');
    const b = discovery('update');
    await a.start({ name: 'a', host: '127.0.0.1', port: 60001, topics: ['t1'] });
    await b.start();
    await until(b, () => ids(b).includes('a'), 'a at b');
    const changed = nextEvent(b, (e) => e.type === 'changed', 'changed');
    await a.update({ name: 'a', host: '127.0.0.1', port: 60001, topics: ['t1', 't2'] });
    const event = await changed;
    expect(event.type === 'changed' && [event.previous.topics, event.member.topics]).toEqual([['t1'], ['t1', 't2']]);
    await expect(a.update({ name: 'renamed', host: '127.0.0.1', port: 60001 })).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
    });
  }, 30_000);

  it('a stopped member leaves at once (lease revoked), not after its TTL', async () => {
    const a = discovery('stop', 30);
    const b = discovery('stop', 30);
    await a.start({ name: 'a', host: '127.0.0.1', port: 60001 });
    await b.start({ name: 'b', host: '127.0.0.1', port: 60002 });
    await until(a, () => ids(a).includes('b'), 'b at a');
    const left = nextEvent(a, (e) => e.type === 'left' && e.member.id === 'b', 'b left', 10_000);
    const stoppedAt = Date.now();
    await b.stop();
    await left;
    // The lease has 30 s to live: seeing `left` within 10 s shows it was revoked.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
  }, 30_000);

  it('clusters are apart: a member of another cluster is never seen', async () => {
    const one = discovery('one');
    const two = discovery('two');
    await one.start({ name: 'x', host: '127.0.0.1', port: 60001 });
    await two.start({ name: 'y', host: '127.0.0.1', port: 60002 });
    const probe = discovery('one');
    await probe.start();
    expect(ids(probe)).toEqual(['x']);
  }, 30_000);

  it('malformed and foreign records are skipped and counted by reason', async () => {
    const prefix = '/systemge/bad/members/';
    await put(`${prefix}good`, JSON.stringify({ v: 1, name: 'good', host: '127.0.0.1', port: 60010, topics: [] }));
    await put(`${prefix}json`, '{not json');
    await put(`${prefix}port`, JSON.stringify({ v: 1, name: 'port', host: '127.0.0.1', port: 70000 }));
    await put(`${prefix}mismatch`, JSON.stringify({ v: 1, name: 'other', host: '127.0.0.1', port: 60011 }));
    await put(`${prefix}future`, JSON.stringify({ v: 2, name: 'future', host: '127.0.0.1', port: 60012 }));
    await put(`${prefix}nested/key`, JSON.stringify({ v: 1, name: 'key', host: '127.0.0.1', port: 60013 }));
    const d = discovery('bad');
    await d.start();
    expect(ids(d)).toEqual(['good']);
    const skipped = d.skipped();
    expect(Object.fromEntries(skipped.byReason)).toEqual({
      'malformed-json': 1,
      'malformed-record': 1,
      'name-mismatch': 1,
      'unknown-version': 1,
      'foreign-key': 1,
    });
    // A bad record arriving through the watch is skipped as well.
    await put(`${prefix}late`, '[]');
    await put(`${prefix}late2`, JSON.stringify({ v: 1, name: 'late2', host: '127.0.0.1', port: 60014 }));
    await until(d, () => ids(d).includes('late2'), 'late2');
    expect(d.skipped().total).toBe(6);
    expect(ids(d)).toEqual(['good', 'late2']);
  }, 30_000);

  it('refuses options it cannot use, naming the value', () => {
    expect(() => etcdDiscovery({ endpoints: [] })).toThrow(/at least one endpoint/);
    expect(() => etcdDiscovery({ endpoints: ['tcp://x:1'] })).toThrow(/tcp:\/\/x:1/);
    expect(() => etcdDiscovery({ endpoints: ['http://x:1'], leaseTtlSeconds: 1 })).toThrow(/leaseTtlSeconds is 1/);
    expect(() => etcdDiscovery({ endpoints: ['http://x:1'], cluster: 'a/b' })).toThrow(/a\/b/);
  });
});
