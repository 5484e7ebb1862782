import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDnsmasq, type TestDNSServer } from '../src/testing.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const example = readFileSync(fileURLToPath(new URL('./readme-example.ts', import.meta.url)), 'utf8');

let server: TestDNSServer;
beforeAll(async () => {
  server = await startDnsmasq([], ['127.0.0.2 systemge.shop.svc.test', '127.0.0.3 systemge.shop.svc.test']);
}, 30_000);
afterAll(async () => {
  await server?.remove();
});

describe('README', () => {
  it('shows test/readme-example.ts (importing the package by name), so the snippet is type-checked', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(example.replace("from '../src/index.js'", "from '@systemge/discovery-dns'"));
  });

  it('shows test/readme-testing-example.test.ts under "Testing your discovery setup", so that example is type-checked and run', () => {
    const section = readme.slice(readme.indexOf('## Testing your discovery setup'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const testing = readFileSync(fileURLToPath(new URL('./readme-testing-example.test.ts', import.meta.url)), 'utf8');
    expect(block).toBe(
      testing
        .replace("from '../src/index.js'", "from '@systemge/discovery-dns'")
        .replace("from '../src/testing.js'", "from '@systemge/discovery-dns/testing'"),
    );
  });

  it('runs the snippet against a real DNS server, leaving its own address out', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const env = { SERVICE_NAME: 'systemge.shop.svc.test', DNS_SERVER: server.server, POD_IP: '127.0.0.3', HOSTNAME: 'orders-1' };
    Object.assign(process.env, env);
    try {
      await import('./readme-example.js');
      const printed = log.mock.calls.map((args) => args.map(String).join(' '));
      expect(printed).toEqual(['joined: 127.0.0.2:60001', 'members: 1']);
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
      log.mockRestore();
    }
  }, 30_000);
});
