import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEtcd, type TestEtcd } from '@systemge/discovery-etcd/testing';
import { type CLIProcess, runCLI, runToEnd } from './real-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'systemge-cli-etcd-discovery-'));
copyFileSync(new URL('./fixtures/whoami-app.js', import.meta.url), join(dir, 'whoami-app.js'));
let etcd: TestEtcd;
const running: CLIProcess[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
});
afterAll(async () => {
  await etcd?.remove();
});

/** A file with one node whose only way to find peers is the etcd endpoint in `ETCD_ENDPOINT`. */
function nodeFile(name: string, cluster = 'cli-test'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'nodes:',
      `  - name: ${name}`,
      '    application: ./whoami-app.js',
      '    commands: { remote: true }',
      '    discovery:',
      '      kind: etcd',
      '      endpoints: ["${ETCD_ENDPOINT}"]',
      `      cluster: ${cluster}`,
      '      leaseTtlSeconds: 5',
      '',
    ].join('\n'),
  );
  return file;
}

/** Starts `systemge start <file>`; resolves with the node's Systemge address once it printed it. */
async function start(name: string): Promise<{ process: CLIProcess; address: string }> {
  const p = runCLI(['start', nodeFile(name)], { ETCD_ENDPOINT: etcd.endpoint });
  running.push(p);
  const line = await p.line(new RegExp(`^ {2}${name} {2}systemge \\S+ {2}discovery etcd$`), 60_000);
  return { process: p, address: (/systemge (\S+)/.exec(line) as RegExpExecArray)[1] as string };
}

/** The names of the peers the node at `address` is connected to, asked with `systemge command --node`. */
async function peerNames(address: string): Promise<string[]> {
  const out = await runToEnd(['command', '--node', address, '--name', 'operator', 'connections']);
  expect(out.code, out.stderr).toBe(0);
  const connections = JSON.parse(out.stdout) as { name: string }[];
  return connections.map((c) => c.name).filter((n) => n !== 'operator');
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

describe('systemge start with discovery: { kind: etcd }', () => {
  it('two processes whose files name only the etcd endpoint connect once and answer each other', async () => {
    const [alpha, beta] = await Promise.all([start('alpha'), start('beta')]);

    expect(
      await eventually(
        () => peerNames(alpha.address),
        (names) => names.includes('beta'),
        30_000,
      ),
    ).toEqual(['beta']);
    expect(await peerNames(beta.address)).toEqual(['alpha']);
    expect(await etcd.keys('/systemge/cli-test/members/')).toEqual(['/systemge/cli-test/members/alpha', '/systemge/cli-test/members/beta']);

    const fromAlpha = await runToEnd(['command', '--node', alpha.address, 'ask']);
    expect(fromAlpha, fromAlpha.stderr).toMatchObject({ code: 0, stdout: 'beta answers alpha' });
    const fromBeta = await runToEnd(['command', '--node', beta.address, 'ask']);
    expect(fromBeta, fromBeta.stderr).toMatchObject({ code: 0, stdout: 'alpha answers beta' });

    // A stopped node withdraws its record at once, and the other drops it.
    beta.process.child.kill('SIGTERM');
    expect(await beta.process.exited).toBe(0);
    expect(await etcd.keys('/systemge/cli-test/members/')).toEqual(['/systemge/cli-test/members/alpha']);
    expect(
      await eventually(
        () => peerNames(alpha.address),
        (names) => names.length === 0,
        30_000,
      ),
    ).toEqual([]);
  }, 120_000);

  it('starts a node whose etcd is unreachable, says so, and registers it once etcd answers', async () => {
    const port = await freePort();
    const p = runCLI(['start', nodeFile('gamma', 'cli-late')], { ETCD_ENDPOINT: `http://127.0.0.1:${port}` });
    running.push(p);
    await p.line(/^ {2}gamma {2}systemge \S+ {2}discovery etcd \(unreachable, retrying\)$/, 60_000);
    const late = await startEtcd({ clientPort: port });
    try {
      const keys = await eventually(
        () => late.keys('/systemge/cli-late/members/'),
        (k) => k.length > 0,
        30_000,
      );
      expect(keys).toEqual(['/systemge/cli-late/members/gamma']);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(await late.keys('/systemge/cli-late/members/')).toEqual([]);
    } finally {
      await late.remove();
    }
  }, 120_000);
});
