import { describe, expect, it } from 'vitest';
import type { RequestOptions, SystemgeNode } from '../src/index.js';
import { type ChildNode, forkNode } from './child-node.js';
import type { NodeProcessOptions } from './fixtures/node-process.js';
import { endpointOf, startNode, until } from './helpers.js';

const REQUESTS = 10_000;
const NAMES = ['r0', 'r1', 'r2', 'r3'];

/** Four pool responder processes (fixtures/apps.ts `poolApp`) and a requester in this process dialing them. */
async function pool(
  pools: Partial<Record<string, NodeProcessOptions['pool']>> = {},
): Promise<{ requester: SystemgeNode; children: Map<string, ChildNode> }> {
  const children = await Promise.all(
    NAMES.map((name) => forkNode({ name, shutdownTimeoutMs: 50 }, { app: 'pool', pool: pools[name] ?? {} }, 20_000)),
  );
  const requester = await startNode({
    name: 'requester',
    endpoints: children.map((c) => c.endpoint),
    // A killed responder is not redialed during the test.
    connection: { maxAttempts: 1, onFailure: 'continue' },
  });
  await until(() => requester.peers().length === NAMES.length, 10_000, 'four responders');
  return { requester, children: new Map(children.map((c) => [c.name, c])) };
}

/** Sends `count` requests with at most `window` open at once; resolves with each answer in order. */
async function run(count: number, window: number, send: (i: number) => Promise<string>): Promise<string[]> {
  const out = new Array<string>(count);
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await send(i);
    }
  };
  await Promise.all(Array.from({ length: window }, loop));
  return out;
}

function tally(answers: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) out[a] = (out[a] ?? 0) + 1;
  return out;
}

const work = (requester: SystemgeNode, options?: RequestOptions) =>
  requester.request('work', '', { timeoutMs: 60_000, ...options }) as Promise<string>;

describe('balanced requests across four responder processes', () => {
  it('round-robin spreads 10,000 requests within ±10 % per responder', async () => {
    const { requester } = await pool();
    const answers = await run(REQUESTS, 100, () => work(requester));
    const counts = tally(answers);
    expect(Object.keys(counts).sort()).toEqual(NAMES);
    for (const name of NAMES) {
      expect(counts[name]).toBeGreaterThanOrEqual((REQUESTS / 4) * 0.9);
      expect(counts[name]).toBeLessThanOrEqual((REQUESTS / 4) * 1.1);
    }
    expect(requester.stats.syncRequestsSent).toBe(REQUESTS);
  }, 120_000);

  it('least-pending sends less to a responder that is slowed down', async () => {
    // r3 blocks for 2 ms per request: its requests wait in line, so it has more of them open.
    const { requester } = await pool({ r3: { busyMs: 2 } });
    const answers = await run(REQUESTS, 32, () => work(requester, { balance: 'least-pending' }));
    const counts = tally(answers);
    const fastest = Math.min(...['r0', 'r1', 'r2'].map((n) => counts[n] ?? 0));
    expect(counts.r3 ?? 0).toBeGreaterThan(0);
    expect(counts.r3 ?? 0).toBeLessThan(REQUESTS / 4 / 2);
    expect(counts.r3 ?? 0).toBeLessThan(fastest / 2);
  }, 120_000);

  it('key affinity keeps a key on one responder and moves only the keys of a killed one', async () => {
    const { requester, children } = await pool();
    const keys = Array.from({ length: 500 }, (_, i) => `customer-${i}`);
    const placement = async (): Promise<Map<string, Set<string>>> => {
      const answers = await run(REQUESTS, 100, (i) => work(requester, { key: keys[i % keys.length] as string }));
      const byKey = new Map<string, Set<string>>();
      answers.forEach((answer, i) => {
        const key = keys[i % keys.length] as string;
        const seen = byKey.get(key) ?? new Set<string>();
        seen.add(answer);
        byKey.set(key, seen);
      });
      return byKey;
    };
    const before = await placement();
    for (const seen of before.values()) expect(seen.size).toBe(1);
    const owner = new Map([...before].map(([k, s]) => [k, [...s][0] as string]));
    const counts = tally([...owner.values()]);
    for (const name of NAMES) expect(counts[name]).toBeGreaterThan(50);

    await children.get('r2')?.kill('SIGKILL');
    await until(() => requester.peers().length === 3, 10_000, 'r2 gone');
    const after = await placement();
    let moved = 0;
    for (const [key, seen] of after) {
      expect(seen.size).toBe(1);
      const now = [...seen][0];
      if (owner.get(key) === 'r2') {
        moved++;
        expect(now).not.toBe('r2');
      } else expect(now).toBe(owner.get(key));
    }
    expect(moved).toBe(counts.r2);
  }, 120_000);

  it('retries the requests of a responder SIGKILLed mid-request on the others; each settles exactly once', async () => {
    // r1 takes its requests and never answers them.
    const { requester, children } = await pool({ r1: { silent: true } });
    const settlements = new Array<number>(REQUESTS).fill(0);
    const answers = new Array<string | undefined>(REQUESTS);
    const failures: unknown[] = [];
    let settled = 0;
    for (let i = 0; i < REQUESTS; i++) {
      work(requester).then(
        (answer) => {
          settlements[i] = (settlements[i] as number) + 1;
          answers[i] = answer;
          settled++;
        },
        (error: unknown) => {
          settlements[i] = (settlements[i] as number) + 1;
          failures.push(error);
          settled++;
        },
      );
    }
    // Round-robin: a quarter went to r1, which holds them; the rest are answered.
    await until(() => settled === REQUESTS * 0.75, 60_000, 'the answers of r0, r2 and r3');
    const pending = async () => ((await requester.command('status')) as { pendingSyncRequests: number }).pendingSyncRequests;
    expect(await pending()).toBe(REQUESTS / 4);

    await children.get('r1')?.kill('SIGKILL');
    await until(() => settled === REQUESTS, 60_000, 'every request settled');
    expect(failures).toEqual([]);
    expect(settlements.every((n) => n === 1)).toBe(true);
    const counts = tally(answers as string[]);
    expect(counts.r1).toBeUndefined();
    expect((counts.r0 ?? 0) + (counts.r2 ?? 0) + (counts.r3 ?? 0)).toBe(REQUESTS);
    expect(requester.stats.syncPeerLost).toBe(REQUESTS / 4);
    expect(requester.stats.syncRequestsSent).toBe(REQUESTS + REQUESTS / 4);
    // Nothing settles twice later either: no request is left open.
    expect(await pending()).toBe(0);
  }, 120_000);
});

describe('balanced sends between nodes in this process', () => {
  it('a balanced async message reaches one peer, in turn; a handler failure rejects request() at once, not retried', async () => {
    const got: string[] = [];
    let calls = 0;
    const workers = await Promise.all(
      ['w0', 'w1'].map((name) =>
        startNode(
          { name },
          {
            getAsyncMessageHandlers: () => ({ job: (m) => void got.push(`${name}:${String(m.payload)}`) }),
            getSyncMessageHandlers: () => ({
              fail: () => {
                calls++;
                throw new Error(`no stock at ${name}`);
              },
            }),
          },
        ),
      ),
    );
    const requester = await startNode({ name: 'requester', endpoints: workers.map((w) => endpointOf(w)) });
    await until(() => requester.peers().length === 2, 5000, 'two workers');
    for (let i = 0; i < 4; i++) expect(requester.asyncMessage('job', String(i), { balance: 'round-robin' })).toBe(true);
    await until(() => got.length === 4, 5000, 'four jobs');
    expect(got.filter((g) => g.startsWith('w0:'))).toHaveLength(2);
    expect(got.filter((g) => g.startsWith('w1:'))).toHaveLength(2);
    expect(requester.stats.asyncSent).toBe(4);

    const error = await requester.request('fail', '', { retries: 5 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_SYNC_FAILURE' });
    expect((error as Error).message).toMatch(/^w[01]: no stock at w[01]$/);
    expect(calls).toBe(1);
    await expect(requester.request('nobody', '')).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NO_ROUTE' });
  });
});
