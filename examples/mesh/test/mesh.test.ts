import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Runs `pnpm start` of the example as a user does (start.js under the source loader), against a real
 * etcd it starts from PATH (Debian's etcd-server, 3.4), with real node processes.
 */

const here = fileURLToPath(new URL('..', import.meta.url));
const register = fileURLToPath(new URL('../../../scripts/source/register.mjs', import.meta.url));
const systemge = join(dirname(createRequire(import.meta.url).resolve('@systemge/cli/package.json')), 'bin', 'systemge.js');
const NAMES = ['orders-1', 'catalog-1', 'stock-1', 'orders-2', 'catalog-2', 'stock-2'];

let mesh: ChildProcess;
let output = '';
let exited: Promise<number | null>;
const nodes = new Map<string, { pid: number; address: string }>();
let etcd = '';
let dashboard = '';

/** Resolves with the first match of `pattern` in the output after `from`; fails after `timeoutMs`. */
function waitForOutput(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = pattern.exec(output.slice(from));
      if (match === null) return false;
      clearTimeout(timer);
      mesh.stdout?.off('data', check);
      resolve(match);
      return true;
    };
    const timer = setTimeout(() => {
      mesh.stdout?.off('data', check);
      reject(new Error(`no ${pattern} in the output within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    if (!check()) mesh.stdout?.on('data', check);
  });
}

/** The member names registered in etcd under the example's cluster. */
async function members(): Promise<string[]> {
  const prefix = '/systemge/mesh/members/';
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  const res = await fetch(`${etcd}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from(prefix).toString('base64'), range_end: end.toString('base64'), keys_only: true }),
  });
  const body = (await res.json()) as { kvs?: { key: string }[] };
  return (body.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString().slice(prefix.length)).sort();
}

/** The mesh peers of a node (its dashboard link left out), asked over its Systemge port with `systemge command --node … connections`. */
async function peersOf(name: string): Promise<string[]> {
  const address = nodes.get(name)?.address as string;
  const child = spawn(process.execPath, [systemge, 'command', '--node', address, '--name', 'probe', 'connections'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code, err).toBe(0);
  return (JSON.parse(out) as { name: string }[])
    .map((c) => c.name)
    .filter((n) => n !== 'probe' && n !== 'dashboard')
    .sort();
}

beforeAll(async () => {
  mesh = spawn(process.execPath, ['--import', register, 'start.js'], {
    cwd: here,
    env: { ...process.env, MESH_DASHBOARD_PORT: '0', MESH_SUMMARY_MS: '1000', ETCD_ENDPOINTS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  mesh.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  mesh.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => mesh.once('exit', (code) => resolve(code)));
  etcd = (await waitForOutput(/^etcd: (\S+) \(started here/m, 60_000))[1] as string;
  dashboard = (await waitForOutput(/^dashboard: (\S+)$/m, 240_000))[1] as string;
  for (const match of output.matchAll(/^ {2}(\S+)\s+pid (\d+)\s+systemge (\S+)\s+uses /gm))
    nodes.set(match[1] as string, { pid: Number(match[2]), address: match[3] as string });
}, 300_000);

afterAll(async () => {
  if (mesh === undefined || mesh.exitCode !== null) return;
  // A failed test leaves it running: SIGTERM stops the children in order (they run in their own
  // process groups); whatever is still there after 30 s is killed.
  mesh.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 30_000)))]);
  clearTimeout(timer);
  for (const pid of [mesh.pid, ...[...nodes.values()].map((n) => n.pid)]) {
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}, 60_000);

describe('the mesh example', () => {
  it('forms the mesh through etcd alone: every node registered, the dashboard lists them all', async () => {
    expect(output).toMatch(/^mesh: 6 nodes registered in etcd after [\d.]+ s$/m);
    expect([...nodes.keys()]).toEqual(NAMES);
    expect(await members()).toEqual([...NAMES].sort());
    const listed = (await (await fetch(`${dashboard}/api/nodes`)).json()) as { nodes: { name: string }[] };
    expect(listed.nodes.map((n) => n.name).sort()).toEqual([...NAMES, 'traffic'].sort());
  });

  it('dials by `uses`: orders nodes reach every catalog and stock node, catalog and stock nodes dial no one', async () => {
    expect(await peersOf('orders-1')).toEqual(['catalog-1', 'catalog-2', 'stock-1', 'stock-2', 'traffic']);
    expect(await peersOf('catalog-1')).toEqual(['orders-1', 'orders-2']);
    expect(await peersOf('stock-2')).toEqual(['orders-1', 'orders-2']);
  });

  it('answers balanced requests: orders, prices and stock each come from both nodes of their service', async () => {
    const line = await waitForOutput(
      /^traffic: \d+ orders answered by orders-1: \d+, orders-2: \d+; prices from catalog-1: \d+, catalog-2: \d+; stock from stock-1: \d+, stock-2: \d+$/m,
      60_000,
    );
    expect(line[0]).not.toMatch(/failed/);
  });

  it('a SIGKILLed node leaves the membership within its lease TTL, and requests go on without it', async () => {
    const from = output.length;
    const killedAt = Date.now();
    process.kill(nodes.get('catalog-2')?.pid as number, 'SIGKILL');
    await waitForOutput(/^catalog-2 exited \(SIGKILL\)$/m, 30_000, from);
    // The lease TTL is 5 s: the record goes at most a TTL after the last keep-alive (20 s allows for a loaded machine).
    const deadline = killedAt + 20_000;
    let left = await members();
    while (left.includes('catalog-2') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      left = await members();
    }
    expect(left).toEqual(['catalog-1', 'orders-1', 'orders-2', 'stock-1', 'stock-2']);
    expect(await peersOf('orders-1')).toEqual(['catalog-1', 'stock-1', 'stock-2', 'traffic']);
    await waitForOutput(
      /^traffic: [1-9]\d* orders answered by orders-1: \d+, orders-2: \d+; prices from catalog-1: \d+; stock from stock-1: \d+, stock-2: \d+$/m,
      30_000,
      from,
    );
  });

  it('stops every process on SIGINT', async () => {
    mesh.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/^mesh: stopped$/m);
    for (const [name, { pid }] of nodes) {
      if (name === 'catalog-2') continue;
      expect(() => process.kill(pid, 0), name).toThrow();
    }
  });
});
