import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNode, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdDiscovery } from '../src/index.js';
import { startEtcd, type TestEtcd } from '../src/testing.js';

const script = fileURLToPath(new URL('./fixtures/mesh-node.ts', import.meta.url));
const NODES = 5;

interface MeshChild {
  name: string;
  process: ChildProcess;
  peers: string[];
  problems: string[];
  changed: (() => void)[];
}

let etcd: TestEtcd;
const children: MeshChild[] = [];
let observer: SystemgeNode | undefined;

beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);

afterAll(async () => {
  await observer?.stop();
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.process.exitCode !== null || c.process.signalCode !== null) return resolve();
          c.process.once('exit', () => resolve());
          c.process.kill('SIGKILL');
        }),
    ),
  );
  await etcd?.remove();
});

function spawnMeshNode(name: string): MeshChild {
  // NODE_OPTIONS from the test environment loads the workspace sources (scripts/source/register.mjs).
  const child = fork(script, [JSON.stringify({ name, endpoints: etcd.endpoints, cluster: 'mesh' })], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const entry: MeshChild = { name, process: child, peers: [], problems: [], changed: [] };
  child.on('message', (message: { event: string; names?: string[]; message?: string }) => {
    if (message.event === 'peers') entry.peers = message.names ?? [];
    if (message.event === 'gave-up') entry.problems.push(`gave up: ${message.message}`);
    for (const wake of entry.changed.splice(0)) wake();
  });
  child.on('exit', (code, signal) => {
    entry.problems.push(`exited ${code ?? signal}`);
    for (const wake of entry.changed.splice(0)) wake();
  });
  children.push(entry);
  return entry;
}

/** Waits until `check()` holds for the child, re-checked on each of its reports; rejects at the deadline. */
async function untilChild(child: MeshChild, check: () => boolean, what: string, deadline: number): Promise<void> {
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`${child.name}: not ${what} in time; peers ${child.peers.join(',')}; ${child.problems.join('; ')}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
      child.changed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

it(`${NODES} node processes given only the etcd address form a full mesh and answer a scatter-gather from all`, async () => {
  const names = Array.from({ length: NODES }, (_, i) => `node-${i}`);
  const started = Date.now();
  for (const name of names) spawnMeshNode(name);

  // One more node in this process, found the same way, asks everyone.
  const failures: string[] = [];
  observer = createNode(
    { name: 'observer', listen: { host: '127.0.0.1', port: 0 }, transport: tcpTransport() },
    {},
    { discovery: { source: etcdDiscovery({ endpoints: etcd.endpoints, cluster: 'mesh', leaseTtlSeconds: 5 }) } },
  );
  observer.on('connect:gave-up', (_endpoint, error) => failures.push(error.message));
  await observer.start();

  const everyone = [...names, 'observer'].sort();
  const deadline = Date.now() + 60_000;
  for (const child of children) {
    await untilChild(child, () => child.peers.join() === everyone.filter((n) => n !== child.name).join(), 'meshed', deadline);
  }
  const meshMs = Date.now() - started;
  // One connection per pair: each node has exactly one peer per other node, and nobody gave up.
  for (const child of children) expect(child.problems).toEqual([]);
  expect(
    observer
      .peers()
      .map((p) => p.name)
      .sort(),
  ).toEqual(names);
  expect(failures).toEqual([]);

  const request = observer.syncRequest('who', '', { timeoutMs: 10_000 });
  const responses = await request.all();
  expect(request.outcome).toBe('complete');
  const answers = responses.map((r) => (r.ok ? String(r.payload) : `failed: ${r.error}`)).sort();
  expect(answers).toEqual(names);
  console.log(`mesh of ${NODES + 1} nodes through etcd formed ${meshMs} ms after the first spawn`);
}, 90_000);
