import { describe, expect, it } from 'vitest';
import type { SyncResponse, SystemgeNode } from '../src/index.js';
import { forkNode } from './child-node.js';
import { endpointOf, nextEvent, startNode, until } from './helpers.js';

const never = (): Promise<string> => new Promise<string>(() => {});

/** A requester dialing `count` responders named r0…; `silent` names answer `work` never. */
async function cluster(count: number, silent: string[] = []): Promise<{ requester: SystemgeNode; names: string[] }> {
  const names = Array.from({ length: count }, (_, i) => `r${i}`);
  const responders = await Promise.all(
    names.map((name) =>
      startNode(
        // A silent handler never finishes: do not let it hold up the responder's stop.
        { name, shutdownTimeoutMs: silent.includes(name) ? 20 : 5000 },
        { getSyncMessageHandlers: () => ({ work: silent.includes(name) ? never : (m) => `${String(m.payload)}@${name}` }) },
      ),
    ),
  );
  const requester = await startNode({ name: 'requester', endpoints: responders.map((r) => endpointOf(r)) });
  expect(requester.peers()).toHaveLength(count);
  return { requester, names };
}

const origins = (responses: readonly SyncResponse[]): string[] => responses.map((r) => r.origin).sort();

describe('one sync request, many responders', () => {
  it('collects one response per responder with all()', async () => {
    const { requester, names } = await cluster(5);
    const request = requester.syncRequest('work', 'job');
    expect([...request.targets].sort()).toEqual(names);
    const responses = await request.all();
    expect(origins(responses)).toEqual(names);
    for (const r of responses) expect(r).toEqual({ origin: r.origin, ok: true, payload: `job@${r.origin}` });
    expect(request.outcome).toBe('complete');
    expect(request.missing).toEqual([]);
    expect(requester.stats.syncResponsesReceived).toBe(5);
  });

  it('yields every response to for await, then ends', async () => {
    const { requester, names } = await cluster(5);
    const request = requester.syncRequest('work', 'job');
    const seen: SyncResponse[] = [];
    for await (const response of request) seen.push(response);
    expect(origins(seen)).toEqual(names);
    expect(request.outcome).toBe('complete');
  });

  it('settles after maxResponses with outcome max-responses', async () => {
    const { requester } = await cluster(5);
    const request = requester.syncRequest('work', 'job', { maxResponses: 3 });
    const responses = await request.all();
    expect(responses).toHaveLength(3);
    expect(request.outcome).toBe('max-responses');
    expect(request.missing).toHaveLength(2);
    // The two late answers arrive after settling and are counted, not delivered.
    await until(() => requester.stats.unknownTokenResponses === 2, 5000, 'late responses');
    expect(request.responses).toHaveLength(3);
  });

  it('settles at the timeout with the answers it has and names the silent responder', async () => {
    const { requester } = await cluster(5, ['r3']);
    const timeoutMs = 300;
    const startedAt = performance.now();
    const request = requester.syncRequest('work', 'job', { timeoutMs });
    const responses = await request.all();
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(origins(responses)).toEqual(['r0', 'r1', 'r2', 'r4']);
    expect(request.outcome).toBe('timeout');
    expect(request.missing).toEqual(['r3']);
    expect(requester.stats.syncTimeouts).toBe(1);
  });

  it('settles early with a peer-lost entry when a responder process is killed mid-request', async () => {
    const requester = await startNode({ name: 'requester' });
    for (const name of ['r0', 'r1']) {
      await startNode({ name, endpoints: [endpointOf(requester)] }, { getSyncMessageHandlers: () => ({ hang: () => `done@${name}` }) });
    }
    // The child's `hang` handler never answers.
    const connected = nextEvent(requester, 'peer:connected', 10_000);
    const victim = await forkNode({ name: 'victim', endpoints: [endpointOf(requester)] });
    await connected;
    await until(() => requester.peers().length === 3, 5000, 'three peers');

    const timeoutMs = 20_000;
    const request = requester.syncRequest('hang', 'x', { timeoutMs });
    await until(() => request.responses.length === 2, 5000, 'the two in-process answers');
    expect(request.outcome).toBeUndefined();

    const killedAt = performance.now();
    await victim.kill('SIGKILL');
    const responses = await request.all();
    expect(performance.now() - killedAt).toBeLessThan(3000);
    expect(responses).toHaveLength(3);
    expect(responses.find((r) => r.origin === 'victim')).toMatchObject({ ok: false, code: 'SYSTEMGE_ERR_PEER_LOST' });
    expect(
      responses
        .filter((r) => r.ok)
        .map((r) => r.origin)
        .sort(),
    ).toEqual(['r0', 'r1']);
    expect(request.missing).toEqual([]);
    expect(request.outcome).toBe('complete');
    expect(requester.stats.syncPeerLost).toBe(1);
    expect(requester.stats.syncTimeouts).toBe(0);
  }, 20_000);

  it('counts a lost responder toward maxResponses and settles with max-responses while one is still missing', async () => {
    const requester = await startNode({ name: 'requester' });
    const responders = new Map<string, SystemgeNode>();
    for (const name of ['r0', 'r1', 'r2']) {
      const handler = name === 'r0' ? () => 'done' : never;
      const node = await startNode(
        { name, shutdownTimeoutMs: 20, endpoints: [endpointOf(requester)] },
        { getSyncMessageHandlers: () => ({ work: handler }) },
      );
      responders.set(name, node);
    }
    await until(() => requester.peers().length === 3, 5000, 'three peers');
    const request = requester.syncRequest('work', 'x', { maxResponses: 2, timeoutMs: 20_000 });
    await until(() => request.responses.length === 1, 5000, 'the answer of r0');
    await responders.get('r2')!.stop();
    const responses = await request.all();
    expect(responses.map((r) => [r.origin, r.ok])).toEqual([
      ['r0', true],
      ['r2', false],
    ]);
    expect(responses[1]).toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
    expect(request.outcome).toBe('max-responses');
    expect(request.missing).toEqual(['r1']);
  });

  it('rejects every pending request with SYSTEMGE_ERR_NODE_STOPPED when the requester stops', async () => {
    const { requester } = await cluster(2, ['r0', 'r1']);
    const viaAll = requester.syncRequest('work', 'a', { timeoutMs: 20_000 });
    const viaFirst = requester.syncRequest('work', 'b', { timeoutMs: 20_000 });
    const viaIterator = requester.syncRequest('work', 'c', { timeoutMs: 20_000 });
    const iterated = (async () => {
      for await (const _ of viaIterator) void _;
    })();
    const settled = Promise.allSettled([viaAll.all(), viaFirst.first(), iterated]);
    await requester.stop();
    const results = await settled;
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STOPPED' });
    }
    expect([viaAll.outcome, viaFirst.outcome, viaIterator.outcome]).toEqual(['failed', 'failed', 'failed']);
  });
});
