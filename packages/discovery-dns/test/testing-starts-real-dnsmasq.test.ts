import { Resolver } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import { startDnsmasq } from '../src/testing.js';

function resolverFor(server: string): Resolver {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([server]);
  return resolver;
}

/** Resolves once `query()` gives what `check` accepts; rejects with the last answer after `timeoutMs`. */
async function eventually<T>(query: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await query();
      if (check(value)) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('@systemge/discovery-dns/testing', () => {
  it('answers from its config and hosts lines, re-reads the hosts, restarts with new config, and stops answering when killed', async () => {
    const dns = await startDnsmasq(
      ['host-record=a.svc.test,127.0.0.5', 'srv-host=_systemge._tcp.svc.test,a.svc.test,60001'],
      ['127.0.0.2 web.svc.test'],
    );
    try {
      expect(dns.server).toBe(`127.0.0.1:${dns.port}`);
      const resolver = resolverFor(dns.server);
      expect(await resolver.resolve4('a.svc.test')).toEqual(['127.0.0.5']);
      expect(await resolver.resolveSrv('_systemge._tcp.svc.test')).toMatchObject([{ name: 'a.svc.test', port: 60001 }]);
      expect(await resolver.resolve4('web.svc.test')).toEqual(['127.0.0.2']);
      await expect(resolver.resolve4('unknown.svc.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });

      await dns.setHosts(['127.0.0.3 web.svc.test', '127.0.0.4 web.svc.test']);
      const web = await eventually(
        () => resolver.resolve4('web.svc.test'),
        (ips) => ips.length === 2,
      );
      expect(web.sort()).toEqual(['127.0.0.3', '127.0.0.4']);

      const port = dns.port;
      await dns.restart(['host-record=b.svc.test,127.0.0.6']);
      expect(dns.port).toBe(port);
      expect(await resolver.resolve4('b.svc.test')).toEqual(['127.0.0.6']);
      await expect(resolver.resolve4('a.svc.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });

      await dns.kill();
      await expect(resolver.resolve4('b.svc.test')).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNREFUSED|ETIMEOUT)$/) });
    } finally {
      await dns.remove();
    }
  }, 60_000);

  it('rejects with the cause when dnsmasq cannot start', async () => {
    await expect(startDnsmasq([], [], { binary: '/nonexistent/dnsmasq' })).rejects.toThrow(/dnsmasq exited[\s\S]*ENOENT/);
  });
});
