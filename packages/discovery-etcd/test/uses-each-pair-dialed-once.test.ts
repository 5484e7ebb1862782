import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../src/testing.js';

const script = fileURLToPath(new URL('./fixtures/uses-node.ts', import.meta.url));

interface Spec {
  name: string;
  serves: string;
  uses: string[];
  /** False: an older node that announces no dial policy. Default true. */
  announcesPolicy?: boolean;
}

interface NodeState {
  peers: { name: string; direction: 'in' | 'out' }[];
  dialed: string[];
  stats: { connectionAttempts: number; connectionFailures: number; connectionsIn: number; connectionsOut: number };
}

interface UsesChild {
  spec: Spec;
  process: ChildProcess;
  peers: string[];
  members: string[];
  problems: string[];
  wake: (() => void)[];
}

let etcd: TestEtcd;
let children: UsesChild[] = [];
let clusters = 0;

beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);

afterEach(async () => {
  await Promise.all(children.map((c) => stopChild(c)));
  children = [];
});

afterAll(async () => {
  await etcd?.remove();
});

function stopChild(child: UsesChild): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
    child.process.once('exit', () => resolve());
    child.process.kill('SIGKILL');
  });
}

/** Starts one process per spec under a fresh cluster name, all at once. */
function spawnAll(specs: Spec[]): UsesChild[] {
  const cluster = `uses-${++clusters}`;
  return specs.map((spec) => {
    // NODE_OPTIONS from the test environment loads the workspace sources (scripts/source/register.mjs).
    const child = fork(
      script,
      [JSON.stringify({ ...spec, announcesPolicy: spec.announcesPolicy ?? true, endpoints: etcd.endpoints, cluster })],
      { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const entry: UsesChild = { spec, process: child, peers: [], members: [], problems: [], wake: [] };
    child.on('message', (message: { event: string; peers?: string[]; members?: string[]; message?: string }) => {
      if (message.event === 'seen') {
        entry.peers = message.peers ?? [];
        entry.members = message.members ?? [];
      }
      if (message.event === 'gave-up') entry.problems.push(`gave up: ${message.message}`);
      for (const wake of entry.wake.splice(0)) wake();
    });
    child.on('exit', (code, signal) => {
      entry.problems.push(`exited ${code ?? signal}`);
      for (const wake of entry.wake.splice(0)) wake();
    });
    children.push(entry);
    return entry;
  });
}

/** Waits until `check()` holds, re-checked on each report of the child; rejects at the deadline. */
async function untilChild(child: UsesChild, check: () => boolean, what: string, deadline: number): Promise<void> {
  while (!check()) {
    if (child.problems.length > 0 || Date.now() > deadline) {
      throw new Error(
        `${child.spec.name}: not ${what}; peers ${child.peers.join(',')}; members ${child.members.join(',')}; ${child.problems.join('; ')}`,
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
      child.wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function askState(child: UsesChild): Promise<NodeState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.spec.name} did not report its state`)), 10_000);
    const onMessage = (message: { event: string } & NodeState): void => {
      if (message.event !== 'state') return;
      clearTimeout(timer);
      child.process.off('message', onMessage);
      resolve(message);
    };
    child.process.on('message', onMessage);
    child.process.send({ ask: 'state' });
  });
}

/** The peers each node should end with: the members it uses and those that use it. */
function expectedPeers(specs: Spec[]): Map<string, string[]> {
  const uses = (a: Spec, b: Spec): boolean => a.uses.includes(b.serves);
  return new Map(
    specs.map((a) => [
      a.name,
      specs
        .filter((b) => b !== a && (uses(a, b) || uses(b, a)))
        .map((b) => b.name)
        .sort(),
    ]),
  );
}

/**
 * Starts the nodes, waits until each one sees every other as a member and has exactly its expected
 * peers (dial decisions are made when a member is seen, so the dial counts are final then), and
 * returns each node's state.
 */
async function formMesh(specs: Spec[], timeoutMs = 60_000): Promise<Map<string, NodeState>> {
  const started = spawnAll(specs);
  const expected = expectedPeers(specs);
  const deadline = Date.now() + timeoutMs;
  for (const child of started) {
    const others = specs
      .filter((s) => s !== child.spec)
      .map((s) => s.name)
      .sort()
      .join();
    const peers = (expected.get(child.spec.name) ?? []).join();
    await untilChild(child, () => child.members.join() === others && child.peers.join() === peers, 'meshed', deadline);
  }
  // One connection per pair: the two sides hold the same one, with opposite directions. When both
  // sides dialed (an older member), they agree once the duplicate is resolved: re-read until then.
  for (;;) {
    const states = new Map<string, NodeState>();
    for (const child of started) states.set(child.spec.name, await askState(child));
    const split: string[] = [];
    for (const [name, state] of states) {
      expect(state.peers.map((p) => p.name).sort(), name).toEqual(expected.get(name));
      for (const peer of state.peers) {
        const back = states.get(peer.name)?.peers.find((p) => p.name === name);
        if (back?.direction !== (peer.direction === 'out' ? 'in' : 'out')) split.push(`${name} ${peer.direction} ${peer.name}`);
      }
    }
    if (split.length === 0) return states;
    if (Date.now() > deadline) throw new Error(`pairs whose sides hold different connections: ${split.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const pairs = (specs: Spec[]): number => [...expectedPeers(specs).values()].reduce((sum, peers) => sum + peers.length, 0) / 2;

describe('{ uses } through etcd: who dials a pair', () => {
  it('two services using each other: each pair is dialed exactly once, by the name sorting first, and the mesh is full', async () => {
    // Odd numbers serve `order` and use `stock`; even numbers the other way round: names of both
    // services interleave, so each service dials some pairs and is dialed for others.
    const specs: Spec[] = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map((name, i) =>
      i % 2 === 0 ? { name, serves: 'order', uses: ['stock'] } : { name, serves: 'stock', uses: ['order'] },
    );
    const states = await formMesh(specs);
    expect(pairs(specs)).toBe(9);
    const attempts = Object.fromEntries([...states].map(([name, s]) => [name, s.stats.connectionAttempts]));
    // Each node dials the members of the other service whose names sort after its own.
    expect(attempts).toEqual({ n1: 3, n2: 2, n3: 2, n4: 1, n5: 1, n6: 0 });
    for (const [name, state] of states) {
      expect(state.stats.connectionFailures, name).toBe(0);
      for (const peer of state.peers) expect(peer.direction, `${name} → ${peer.name}`).toBe(name < peer.name ? 'out' : 'in');
    }
    const totalDials = [...states.values()].reduce((sum, s) => sum + s.stats.connectionAttempts, 0);
    expect(totalDials).toBe(pairs(specs));
  }, 120_000);

  it('one-sided use: the node that uses the other dials, even when its name sorts last', async () => {
    const specs: Spec[] = [
      { name: 'z-client', serves: 'report', uses: ['stock'] },
      { name: 'a-stock', serves: 'stock', uses: ['price'] },
      { name: 'b-stock', serves: 'stock', uses: ['price'] },
    ];
    const states = await formMesh(specs);
    expect(states.get('z-client')?.dialed.sort()).toEqual(['a-stock', 'b-stock']);
    expect(states.get('a-stock')?.stats.connectionAttempts).toBe(0);
    expect(states.get('b-stock')?.stats.connectionAttempts).toBe(0);
    expect(states.get('a-stock')?.peers).toEqual([{ name: 'z-client', direction: 'in' }]);
  }, 120_000);

  it('an older member that announces no dial policy still connects, once per pair, with new members that use it or that it uses', async () => {
    const specs: Spec[] = [
      { name: 'm-old', serves: 'order', uses: ['stock'], announcesPolicy: false },
      // Uses the old member and is used by it; its name sorts first.
      { name: 'a-stock', serves: 'stock', uses: ['order'] },
      // The same, but its name sorts last.
      { name: 'z-stock', serves: 'stock', uses: ['order'] },
      // Uses the old member, which does not use it.
      { name: 'b-report', serves: 'report', uses: ['order'] },
    ];
    const states = await formMesh(specs);
    // Only b-report wants its pair with the old member: it dials, the old one does not.
    expect(states.get('b-report')?.dialed).toEqual(['m-old']);
    // The old member announces nothing, so the new members that use it dial it, and it dials what it
    // uses: both sides of those pairs may dial, and whichever connects first makes the other's dial
    // unnecessary. Each pair is dialed by at least one side, and nobody dials anything else.
    const oldDialed = states.get('m-old')?.dialed ?? [];
    for (const name of oldDialed) expect(['a-stock', 'z-stock']).toContain(name);
    for (const name of ['a-stock', 'z-stock']) {
      const dialed = states.get(name)?.dialed ?? [];
      for (const target of dialed) expect(target, name).toBe('m-old');
      expect(dialed.includes('m-old') || oldDialed.includes(name), `someone dials the pair m-old ↔ ${name}`).toBe(true);
    }
    expect(
      states
        .get('m-old')
        ?.peers.map((p) => p.name)
        .sort(),
    ).toEqual(['a-stock', 'b-report', 'z-stock']);
  }, 120_000);
});
