import { afterEach, expect, it } from 'vitest';
import type { Discovery, MembershipEvent } from '@systemge/node';
import { dnsDiscovery } from '../src/index.js';
import { startDnsmasq, type TestDNSServer } from '../src/testing.js';
import { ids, until } from './events.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function dns(config: string[], hosts: string[] = []): Promise<TestDNSServer> {
  const server = await startDnsmasq(config, hosts);
  cleanup.push(() => server.remove());
  return server;
}

function discovery(d: Discovery): Discovery {
  cleanup.push(() => d.close());
  return d;
}

it('A records: the members are the addresses with the given port, and follow a changed record set', async () => {
  const server = await dns([], ['127.0.0.2 nodes.systemge.test', '127.0.0.3 nodes.systemge.test']);
  const d = discovery(dnsDiscovery({ name: 'nodes.systemge.test', port: 7000, servers: [server.server], intervalMs: 100 }));
  const seen: MembershipEvent[] = [];
  d.subscribe((e) => seen.push(e));
  await d.start();
  expect(ids(d)).toEqual(['127.0.0.2:7000', '127.0.0.3:7000']);
  expect(d.members()[0]).toMatchObject({ name: undefined, host: '127.0.0.2', port: 7000 });

  await server.setHosts(['127.0.0.3 nodes.systemge.test', '127.0.0.4 nodes.systemge.test']);
  await until(d, () => ids(d).join() === '127.0.0.3:7000,127.0.0.4:7000', 'the new record set');
  const changes = seen
    .filter((e) => e.type === 'joined' || e.type === 'left')
    .map((e) => (e.type === 'joined' || e.type === 'left' ? `${e.type} ${e.member.id}` : ''));
  expect(changes).toEqual(['joined 127.0.0.2:7000', 'joined 127.0.0.3:7000', 'left 127.0.0.2:7000', 'joined 127.0.0.4:7000']);
  expect(d.degraded).toBe(false);
}, 30_000);

it('SRV records: each target address with its port; targets without an address are skipped and counted', async () => {
  const config = [
    'srv-host=_systemge._tcp.svc.test,pod-a.svc.test,7001',
    'srv-host=_systemge._tcp.svc.test,pod-b.svc.test,7002',
    'srv-host=_systemge._tcp.svc.test,pod-gone.svc.test,7003',
    'host-record=pod-a.svc.test,127.0.0.5',
    'host-record=pod-b.svc.test,127.0.0.6',
  ];
  const server = await dns(config);
  const d = discovery(dnsDiscovery({ name: '_systemge._tcp.svc.test', type: 'SRV', servers: [server.server], intervalMs: 100 }));
  await d.start();
  expect(ids(d)).toEqual(['127.0.0.5:7001', '127.0.0.6:7002']);
  expect(d.skipped().byReason.get('unresolved-target')).toBeGreaterThanOrEqual(1);

  // pod-b goes, pod-c comes (a StatefulSet scaled and rescheduled).
  await server.restart([
    'srv-host=_systemge._tcp.svc.test,pod-a.svc.test,7001',
    'srv-host=_systemge._tcp.svc.test,pod-c.svc.test,7004',
    'host-record=pod-a.svc.test,127.0.0.5',
    'host-record=pod-c.svc.test,127.0.0.7',
  ]);
  await until(d, () => ids(d).join() === '127.0.0.5:7001,127.0.0.7:7004', 'the new SRV set');
}, 30_000);

it('two SRV targets at one address and port are one member, joined once', async () => {
  const server = await dns([
    'srv-host=_systemge._tcp.svc.test,pod-a.svc.test,7001',
    'srv-host=_systemge._tcp.svc.test,pod-a-alias.svc.test,7001',
    'srv-host=_systemge._tcp.svc.test,pod-b.svc.test,7002',
    'host-record=pod-a.svc.test,127.0.0.5',
    'host-record=pod-a-alias.svc.test,127.0.0.5',
    'host-record=pod-b.svc.test,127.0.0.6',
  ]);
  const d = discovery(dnsDiscovery({ name: '_systemge._tcp.svc.test', type: 'SRV', servers: [server.server], intervalMs: 100 }));
  const seen: string[] = [];
  d.subscribe((e) => seen.push(e.type === 'joined' || e.type === 'left' ? `${e.type} ${e.member.id}` : e.type));
  await d.start();
  expect(ids(d)).toEqual(['127.0.0.5:7001', '127.0.0.6:7002']);
  expect(seen.sort()).toEqual(['joined 127.0.0.5:7001', 'joined 127.0.0.6:7002']);
}, 30_000);

it('this node is never listed: its own address is left out', async () => {
  const server = await dns([], ['127.0.0.2 nodes.systemge.test', '127.0.0.3 nodes.systemge.test']);
  const d = discovery(dnsDiscovery({ name: 'nodes.systemge.test', port: 7000, servers: [server.server], intervalMs: 100 }));
  await d.start({ name: 'me', host: '127.0.0.3', port: 7000 });
  expect(ids(d)).toEqual(['127.0.0.2:7000']);
}, 30_000);

it('a name without records is an empty membership, not an outage', async () => {
  const server = await dns([], ['127.0.0.2 nodes.systemge.test']);
  const d = discovery(dnsDiscovery({ name: 'missing.systemge.test', port: 7000, servers: [server.server], intervalMs: 100 }));
  await d.start();
  expect(ids(d)).toEqual([]);
  expect(d.degraded).toBe(false);
}, 30_000);

it('a DNS server that does not answer: degraded, the members stay, recovered when it answers again', async () => {
  const server = await dns([], ['127.0.0.2 nodes.systemge.test']);
  const d = discovery(
    dnsDiscovery({ name: 'nodes.systemge.test', port: 7000, servers: [server.server], intervalMs: 100, timeoutMs: 200, tries: 1 }),
  );
  await d.start();
  expect(ids(d)).toEqual(['127.0.0.2:7000']);
  const errors: Error[] = [];
  d.subscribe((e) => {
    if (e.type === 'degraded') errors.push(e.error);
  });
  await server.kill();
  await until(d, () => d.degraded, 'degraded');
  expect(ids(d)).toEqual(['127.0.0.2:7000']);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ code: 'SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE', kind: 'dns' });
  expect(errors[0]?.message).toContain(server.server);
  await server.restart([]);
  await until(d, () => !d.degraded, 'recovered');
  expect(ids(d)).toEqual(['127.0.0.2:7000']);
}, 30_000);

it('after an outage the differences come before recovered, so the member list is current when recovered is seen', async () => {
  const server = await dns([], ['127.0.0.2 nodes.systemge.test', '127.0.0.3 nodes.systemge.test']);
  const d = discovery(
    dnsDiscovery({ name: 'nodes.systemge.test', port: 7000, servers: [server.server], intervalMs: 100, timeoutMs: 200, tries: 1 }),
  );
  await d.start();
  await server.kill();
  await until(d, () => d.degraded, 'degraded');
  const seen: string[] = [];
  let atRecovered: string[] | undefined;
  d.subscribe((e) => {
    seen.push(e.type === 'joined' || e.type === 'left' ? `${e.type} ${e.member.id}` : e.type);
    if (e.type === 'recovered') atRecovered = ids(d);
  });
  await server.setHosts(['127.0.0.3 nodes.systemge.test', '127.0.0.4 nodes.systemge.test']);
  await server.restart([]);
  await until(d, () => !d.degraded, 'recovered');
  expect(seen).toEqual(['left 127.0.0.2:7000', 'joined 127.0.0.4:7000', 'recovered']);
  expect(atRecovered).toEqual(['127.0.0.3:7000', '127.0.0.4:7000']);
}, 30_000);

it('refuses options it cannot use, naming the value', () => {
  expect(() => dnsDiscovery({ name: 'x.test' })).toThrow(/give dnsDiscovery a port/);
  expect(() => dnsDiscovery({ name: 'x.test', port: 70000 })).toThrow(/port is 70000/);
  expect(() => dnsDiscovery({ name: 'x.test', type: 'MX' as 'A', port: 1 })).toThrow(/"MX"/);
  expect(() => dnsDiscovery({ name: 'x.test', port: 1, servers: ['not an address'] })).toThrow(/not an address/);
});
