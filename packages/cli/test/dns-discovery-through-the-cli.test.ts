import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startDnsmasq, type TestDNSServer } from '@systemge/discovery-dns/testing';
import { freePort } from '@systemge/discovery-etcd/testing';
import { type CLIProcess, runCLI, runToEnd } from './real-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-dns-discovery-'));
copyFileSync(new URL('./fixtures/whoami-app.js', import.meta.url), join(dir, 'whoami-app.js'));
let dns: TestDNSServer | undefined;
const running: CLIProcess[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
});
afterAll(async () => {
  await dns?.remove();
});

/**
 * Starts `systemge start` on a file with one node listening on `host:port`, whose only way to find
 * peers is the A records of `mesh.test` on the DNS server in `DNS_SERVER`; resolves with its address.
 */
async function start(name: string, host: string, port: number, server: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'nodes:',
      `  - name: ${name}`,
      '    application: ./whoami-app.js',
      '    commands: { remote: true }',
      `    listen: { host: ${host}, port: ${port} }`,
      '    discovery:',
      '      kind: dns',
      '      name: mesh.test',
      `      port: ${port}`,
      '      servers: ["${DNS_SERVER}"]',
      '      intervalMs: 200',
      '',
    ].join('\n'),
  );
  const p = runCLI(['start', file], { DNS_SERVER: server });
  running.push(p);
  const line = await p.line(new RegExp(`^ {2}${name} {2}systemge \\S+ {2}discovery dns$`), 60_000);
  return (/systemge (\S+)/.exec(line) as RegExpExecArray)[1] as string;
}

/** The names of the peers the node at `address` is connected to, asked with `systemge command --node`. */
async function peerNames(address: string): Promise<string[]> {
  const out = await runToEnd(['command', '--node', address, '--name', 'operator', 'connections']);
  expect(out.code, out.stderr).toBe(0);
  const connections = JSON.parse(out.stdout) as { name: string }[];
  return connections
    .map((c) => c.name)
    .filter((n) => n !== 'operator')
    .sort();
}

/** Polls `read` until `accept` holds, or fails after `timeoutMs` with the last value. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await read();
  }
  return last;
}

describe('systemge start with discovery: { kind: dns }', () => {
  it('processes whose files name only a DNS name dial the addresses it lists, follow a changed record set and answer each other', async () => {
    // One port for every node, each on its own loopback address: the A records of a headless service.
    const port = await freePort();
    dns = await startDnsmasq([], ['127.0.0.2 mesh.test']);
    const alpha = await start('alpha', '127.0.0.2', port, dns.server);
    // beta and gamma are not listed yet: each finds alpha only.
    const [beta, gamma] = await Promise.all([start('beta', '127.0.0.3', port, dns.server), start('gamma', '127.0.0.4', port, dns.server)]);
    expect(alpha).toBe(`127.0.0.2:${port}`);
    const hasAlpha = (names: string[]) => names.join() === 'alpha';
    expect(await eventually(() => peerNames(beta), hasAlpha, 30_000)).toEqual(['alpha']);
    expect(await eventually(() => peerNames(gamma), hasAlpha, 30_000)).toEqual(['alpha']);
    expect(await peerNames(alpha)).toEqual(['beta', 'gamma']);

    // The records now list all three: beta and gamma find each other; one connection per pair.
    await dns.setHosts(['127.0.0.2 mesh.test', '127.0.0.3 mesh.test', '127.0.0.4 mesh.test']);
    expect(
      await eventually(
        () => peerNames(beta),
        (names) => names.includes('gamma'),
        30_000,
      ),
    ).toEqual(['alpha', 'gamma']);
    expect(
      await eventually(
        () => peerNames(gamma),
        (names) => names.includes('beta'),
        30_000,
      ),
    ).toEqual(['alpha', 'beta']);
    expect(await peerNames(alpha)).toEqual(['beta', 'gamma']);

    const fromBeta = await runToEnd(['command', '--node', beta, 'ask']);
    expect(fromBeta.code, fromBeta.stderr).toBe(0);
    expect(fromBeta.stdout).toMatch(/^(alpha|gamma) answers beta$/);
    const fromAlpha = await runToEnd(['command', '--node', alpha, 'ask']);
    expect(fromAlpha.code, fromAlpha.stderr).toBe(0);
    expect(fromAlpha.stdout).toMatch(/^(beta|gamma) answers alpha$/);
  }, 120_000);
});
