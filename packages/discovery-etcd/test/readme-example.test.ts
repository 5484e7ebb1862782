import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const example = readFileSync(fileURLToPath(new URL('./readme-example.ts', import.meta.url)), 'utf8');

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.remove();
});

describe('README', () => {
  it('shows test/readme-example.ts (importing the package by name), so the snippet is type-checked', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(example.replace("from '../src/index.js'", "from '@systemge/discovery-etcd'"));
  });

  it('shows test/readme-testing-example.test.ts under "Testing your discovery setup", so that example is type-checked and run', () => {
    const section = readme.slice(readme.indexOf('## Testing your discovery setup'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const testing = readFileSync(fileURLToPath(new URL('./readme-testing-example.test.ts', import.meta.url)), 'utf8');
    expect(block).toBe(
      testing
        .replace("from '../src/index.js'", "from '@systemge/discovery-etcd'")
        .replace("from '../src/testing.js'", "from '@systemge/discovery-etcd/testing'"),
    );
  });

  it('runs the snippet against a real etcd and sees the member already there', async () => {
    const other = etcdDiscovery({ endpoints: etcd.endpoints, cluster: 'shop' });
    await other.start({ name: 'stock-1', host: '127.0.0.1', port: 60002 });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    process.env['ETCD_ENDPOINT'] = etcd.endpoints[0];
    try {
      await import('./readme-example.js');
      const printed = log.mock.calls.map((args) => args.map(String).join(' '));
      expect(printed).toEqual(['joined: stock-1 at 127.0.0.1:60002', 'members: stock-1']);
    } finally {
      delete process.env['ETCD_ENDPOINT'];
      log.mockRestore();
      await other.close();
    }
  }, 30_000);
});
