import { afterAll, beforeAll, expect, it } from 'vitest';
import { dnsDiscovery } from '../src/index.js';
import { startDnsmasq, type TestDNSServer } from '../src/testing.js';

let dns: TestDNSServer;
beforeAll(async () => {
  // A real dnsmasq on a free loopback port that answers from these records only.
  dns = await startDnsmasq([], ['127.0.0.2 systemge.shop.svc.test', '127.0.0.3 systemge.shop.svc.test']);
}, 30_000);
afterAll(() => dns.remove());

it('lists the addresses of the service, and follows a scale-up', async () => {
  const discovery = dnsDiscovery({ name: 'systemge.shop.svc.test', port: 60001, servers: [dns.server], intervalMs: 200 });
  const hosts = () =>
    discovery
      .members()
      .map((m) => m.host)
      .sort();
  try {
    await discovery.start();
    expect(hosts()).toEqual(['127.0.0.2', '127.0.0.3']);

    const events = discovery.events(AbortSignal.timeout(10_000));
    await dns.setHosts(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((ip) => `${ip} systemge.shop.svc.test`));
    for await (const event of events) if (event.type === 'joined') break;
    expect(hosts()).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  } finally {
    await discovery.close();
  }
}, 30_000);
