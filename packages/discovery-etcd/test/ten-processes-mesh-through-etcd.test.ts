import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../src/testing.js';

// Ten node processes, each given only the etcd address, form the full mesh: one connection per
// pair, dialed once, no failed or refused dial, no self-dial; every one answers a scatter-gather.
// Then one is SIGKILLed: the others drop it when its lease runs out, and it rejoins when restarted.
// (crashed-member-leaves-after-lease-ttl.test.ts checks the same lease expiry on the discovery
// alone; here it is the nodes' mesh that follows it.)

const script = fileURLToPath(new URL('./fixtures/mesh-node.ts', import.meta.url));
const NODES = 10;
const TTL_SECONDS = 3;
const names = Array.from({ length: NODES }, (_, i) => `node-${i}`);
const othersOf = (name: string): string[] => names.filter((n) => n !== name);

interface Problem {
  event: string;
  endpoint: { host: string; port: number; name?: string };
  message: string;
}

interface State {
  name: string;
  port: number;
  peers: { name: string; direction: 'in' | 'out' }[];
  members: string[];
  dialed: { host: string; port: number; name?: string }[];
  stats: Record<
    'connectionsIn' | 'connectionsOut' | 'connectionAttempts' | 'connectionFailures' | 'connectionsRefused' | 'handshakeFailures',
    number
  >;
}

interface Scatter {
  targets: string[];
  answers: string[];
  outcome: string;
}

interface MeshChild {
  name: string;
  process: ChildProcess;
  port: number | undefined;
  peers: string[];
  members: string[];
  problems: Problem[];
  exits: string[];
  changed: (() => void)[];
}

let etcd: TestEtcd;
const children = new Map<string, MeshChild>();

beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);

afterAll(async () => {
  await Promise.all([...children.values()].map((c) => killChild(c)));
  await etcd?.remove();
});

function killChild(child: MeshChild): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
    child.process.once('exit', () => resolve());
    child.process.kill('SIGKILL');
  });
}

function spawnMeshNode(name: string): MeshChild {
  // NODE_OPTIONS from the test environment loads the workspace sources (scripts/source/register.mjs).
  const child = fork(script, [JSON.stringify({ name, endpoints: etcd.endpoints, cluster: 'ten', leaseTtlSeconds: TTL_SECONDS })], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const entry: MeshChild = { name, process: child, port: undefined, peers: [], members: [], problems: [], exits: [], changed: [] };
  child.on('message', (message: { event: string; names?: string[]; ids?: string[]; port?: number } & Partial<Problem>) => {
    if (message.event === 'ready') entry.port = message.port;
    if (message.event === 'peers') entry.peers = message.names ?? [];
    if (message.event === 'members') entry.members = message.ids ?? [];
    if (message.event === 'gave-up' || message.event === 'failed') {
      entry.problems.push({ event: message.event, endpoint: message.endpoint as Problem['endpoint'], message: message.message ?? '' });
    }
    for (const wake of entry.changed.splice(0)) wake();
  });
  child.on('exit', (code, signal) => {
    entry.exits.push(`exited ${code ?? signal}`);
    for (const wake of entry.changed.splice(0)) wake();
  });
  children.set(name, entry);
  return entry;
}

/** Waits until `check()` holds for the child, re-checked on each of its reports; rejects at the deadline. */
async function untilChild(child: MeshChild, check: () => boolean, what: string, deadline: number): Promise<void> {
  while (!check()) {
    if (child.exits.length > 0) throw new Error(`${child.name}: ${child.exits.join('; ')} before ${what}`);
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name}: not ${what} in time; peers ${child.peers.join(',')}; members ${child.members.join(',')}; ` +
          `problems ${child.problems.map((p) => `${p.event} ${p.endpoint.name}: ${p.message}`).join('; ')}`,
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
      child.changed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Asks the child over IPC; resolves with its `{ event: answer }` reply within `timeoutMs`. */
function ask<T>(child: MeshChild, question: string, answer: string, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.process.off('message', onMessage);
      reject(new Error(`${child.name}: no ${answer} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { event?: string }): void => {
      if (message.event !== answer) return;
      clearTimeout(timer);
      child.process.off('message', onMessage);
      resolve(message as T);
    };
    child.process.on('message', onMessage);
    child.process.send({ ask: question });
  });
}

const fullMesh = (child: MeshChild): boolean => child.peers.join() === othersOf(child.name).join();

const knowsAll = (child: MeshChild): boolean => [...child.members].sort().join() === othersOf(child.name).join();

/**
 * Every node connected to every other and knowing each one as a member. The two need not come
 * together: a node may be dialed by a member before its own watch has reported that member.
 */
async function untilFullMesh(deadline: number): Promise<void> {
  for (const child of children.values()) await untilChild(child, () => fullMesh(child) && knowsAll(child), 'meshed', deadline);
}

/** One connection per pair, the two sides agreeing on who dialed it, and nothing else open. */
function expectOneConnectionPerPair(states: State[]): void {
  const byName = new Map(states.map((s) => [s.name, s]));
  for (const state of states) {
    const peerNames = state.peers.map((p) => p.name).sort();
    expect(peerNames, `${state.name}'s peers`).toEqual(othersOf(state.name));
    expect(state.stats.connectionsIn + state.stats.connectionsOut, `${state.name}'s open connections`).toBe(NODES - 1);
    for (const peer of state.peers) {
      const back = byName.get(peer.name)?.peers.find((p) => p.name === state.name);
      expect(back?.direction, `${peer.name}'s side of ${state.name}→${peer.name} (${peer.direction})`).toBe(
        peer.direction === 'out' ? 'in' : 'out',
      );
    }
  }
  const outgoing = states.reduce((sum, s) => sum + s.stats.connectionsOut, 0);
  expect(outgoing).toBe((NODES * (NODES - 1)) / 2);
}

/** Never dialed itself, by name or by its own address. */
function expectNoSelfDial(states: State[]): void {
  for (const state of states) {
    const self = state.dialed.filter((e) => e.name === state.name || (e.port === state.port && e.host === '127.0.0.1'));
    expect(self, `${state.name} dialed itself`).toEqual([]);
  }
}

async function scatterFromEach(): Promise<void> {
  const answered = new Set<string>();
  for (const child of children.values()) {
    const result = await ask<Scatter>(child, 'scatter', 'scatter');
    expect(result.outcome, `${child.name}'s scatter-gather`).toBe('complete');
    // A scatter-gather goes to the peers that handle the topic: every node but the asking one.
    expect(result.targets).toEqual(othersOf(child.name));
    expect(result.answers).toEqual(othersOf(child.name));
    for (const name of result.answers) answered.add(name);
  }
  expect([...answered].sort()).toEqual(names);
}

it(`${NODES} node processes given only the etcd address form the full mesh, one connection per pair, and all answer a scatter-gather`, async () => {
  for (const name of names) spawnMeshNode(name);
  await untilFullMesh(Date.now() + 150_000);

  const states = await Promise.all([...children.values()].map((c) => ask<State>(c, 'state', 'state')));
  for (const state of states) expect(state.members, `${state.name}'s members`).toEqual(othersOf(state.name));
  expectOneConnectionPerPair(states);
  expectNoSelfDial(states);
  // Each pair was dialed exactly once, from one side: no duplicate dial, no refusal, no failure.
  const dials = states.reduce((sum, s) => sum + s.dialed.length, 0);
  expect(dials).toBe((NODES * (NODES - 1)) / 2);
  for (const state of states) {
    expect(state.stats.connectionAttempts, `${state.name}'s dial attempts`).toBe(state.dialed.length);
    expect(state.stats.connectionFailures, `${state.name}'s failed dials`).toBe(0);
    expect(state.stats.connectionsRefused, `${state.name}'s refused connections`).toBe(0);
    expect(state.stats.handshakeFailures, `${state.name}'s failed handshakes`).toBe(0);
  }
  for (const child of children.values()) expect(child.problems, `${child.name}'s dial problems`).toEqual([]);

  await scatterFromEach();
}, 240_000);

it('a SIGKILLed node leaves every membership within its lease TTL, and the mesh is full again once it restarts under the same name', async () => {
  const victim = children.get('node-4') as MeshChild;
  expect(fullMesh(victim)).toBe(true);
  const survivors = [...children.values()].filter((c) => c !== victim);
  const oldPort = victim.port;
  for (const child of survivors) child.problems.length = 0;

  const killedAt = Date.now();
  await killChild(victim);
  // The lease is the only way out for a killed process: no revoke reached etcd.
  const leftBy = Date.now() + 60_000;
  for (const child of survivors) {
    await untilChild(child, () => !child.members.includes('node-4'), 'rid of node-4 in its membership', leftBy);
  }
  const leftMs = Date.now() - killedAt;
  expect(leftMs).toBeGreaterThan(1000);
  expect(leftMs).toBeLessThan(TTL_SECONDS * 1000 + 5000);
  for (const child of survivors) {
    await untilChild(child, () => !child.peers.includes('node-4'), 'rid of node-4 as a peer', leftBy);
  }

  children.delete('node-4');
  const again = spawnMeshNode('node-4');
  await untilFullMesh(Date.now() + 90_000);
  expect(again.port).not.toBe(oldPort);

  const states = await Promise.all([...children.values()].map((c) => ask<State>(c, 'state', 'state')));
  expectOneConnectionPerPair(states);
  expectNoSelfDial(states);
  // Redials of node-4's old address until its lease ran out may fail; nobody gave up, and nothing
  // else failed.
  for (const child of survivors) {
    const unexpected = child.problems.filter((p) => p.event !== 'failed' || p.endpoint.name !== 'node-4' || p.endpoint.port !== oldPort);
    expect(unexpected, `${child.name}'s dial problems`).toEqual([]);
  }
  expect(again.problems).toEqual([]);
  const fromVictim = await ask<Scatter>(again, 'scatter', 'scatter');
  expect(fromVictim.outcome).toBe('complete');
  expect(fromVictim.answers).toEqual(othersOf('node-4'));
}, 240_000);
