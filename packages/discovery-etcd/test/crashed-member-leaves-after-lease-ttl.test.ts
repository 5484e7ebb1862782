import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';
import { ids, nextEvent, until } from './events.js';
import { forkMember } from './member-process.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.remove();
});

const TTL_SECONDS = 3;

it('a member whose process is SIGKILLed leaves within its lease TTL, and comes back when restarted', async () => {
  const watcher = etcdDiscovery({ endpoints: etcd.endpoints, cluster: 'crash' });
  try {
    await watcher.start({ name: 'watcher', host: '127.0.0.1', port: 60100 });
    const args = { endpoints: etcd.endpoints, cluster: 'crash', name: 'victim', port: 60101, leaseTtlSeconds: TTL_SECONDS };
    const victim = await forkMember(args);
    await until(watcher, () => ids(watcher).includes('victim'), 'victim joined');
    const firstInstance = watcher.members().find((m) => m.id === 'victim')?.instance;

    const left = nextEvent(watcher, (e) => e.type === 'left' && e.member.id === 'victim', 'victim left', 30_000);
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    await left;
    const elapsed = Date.now() - killedAt;
    // Gone after the lease ran out (no revoke from a killed process), and not much later than the TTL.
    expect(elapsed).toBeGreaterThan(1000);
    expect(elapsed).toBeLessThan(TTL_SECONDS * 1000 + 3000);

    const again = await forkMember(args);
    try {
      await until(watcher, () => ids(watcher).includes('victim'), 'victim back');
      expect(watcher.members().find((m) => m.id === 'victim')?.instance).not.toBe(firstInstance);
    } finally {
      await again.kill('SIGKILL');
    }
  } finally {
    await watcher.close();
  }
}, 60_000);
