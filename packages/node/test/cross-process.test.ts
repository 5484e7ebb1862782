import { MemoryNetwork, memoryTransport } from '@systemge/transport-memory';
import { describe, expect, it } from 'vitest';
import type { EndpointConfig, SystemgeNode } from '../src/index.js';
import { forkNode } from './child-node.js';
import { responderApp } from './fixtures/apps.js';
import { startNode, until } from './helpers.js';

/**
 * F20: the same scenarios, word for word, with responders in this process, in child processes,
 * and in this process over the in-memory transport. Only how a responder comes to life differs.
 */
interface Setup {
  /** Starts a responder (fixtures/apps.ts) and returns where to dial it. */
  responder(name: string): Promise<EndpointConfig>;
  /** Starts the requester dialing `endpoints`, handling `echoed` with `onEchoed`. */
  requester(endpoints: EndpointConfig[], onEchoed: (payload: string) => void): Promise<SystemgeNode>;
}

// Responders' `hang` handler never finishes; do not let it hold up their stop.
const responderConfig = (name: string) => ({ name, shutdownTimeoutMs: 50 });
const requesterApp = (onEchoed: (payload: string) => void) => ({
  getAsyncMessageHandlers: () => ({ echoed: (m: { payload: unknown }) => onEchoed(String(m.payload)) }),
});

const setups: [string, () => Setup][] = [
  [
    'in-process over TCP',
    () => ({
      responder: async (name) => {
        const node = await startNode(responderConfig(name), responderApp());
        return { ...node.address!, name };
      },
      requester: (endpoints, onEchoed) => startNode({ name: 'requester', endpoints }, requesterApp(onEchoed)),
    }),
  ],
  [
    'cross-process over TCP',
    () => ({
      responder: async (name) => (await forkNode(responderConfig(name))).endpoint,
      requester: (endpoints, onEchoed) => startNode({ name: 'requester', endpoints }, requesterApp(onEchoed)),
    }),
  ],
  [
    'in-process over the memory transport',
    () => {
      const network = new MemoryNetwork();
      return {
        responder: async (name) => {
          const node = await startNode({ ...responderConfig(name), transport: memoryTransport({ network }) }, responderApp());
          return { ...node.address!, name };
        },
        requester: (endpoints, onEchoed) =>
          startNode({ name: 'requester', endpoints, transport: memoryTransport({ network }) }, requesterApp(onEchoed)),
      };
    },
  ],
];

describe.each(setups)('responders %s', (_label, makeSetup) => {
  it('two nodes: async messages keep their order, sync requests answer, silence times out', async () => {
    const setup = makeSetup();
    const echoed: string[] = [];
    const requester = await setup.requester([await setup.responder('r1')], (p) => echoed.push(p));
    expect(requester.peers().map((p) => [p.name, p.syncTopics])).toEqual([['r1', ['hang', 'inspect', 'upper']]]);

    const count = 200;
    for (let i = 0; i < count; i++) requester.asyncMessage('echo', String(i));
    await until(() => echoed.length === count, 10_000, 'echoes');
    expect(echoed).toEqual(Array.from({ length: count }, (_, i) => `r1:${i}`));

    expect(await requester.syncRequest('upper', 'hello').first()).toBe('HELLO@r1');
    expect(await requester.syncRequest('upper', 'named', { to: 'r1' }).all()).toEqual([{ origin: 'r1', ok: true, payload: 'NAMED@r1' }]);
    const silent = requester.syncRequest('hang', '', { timeoutMs: 150 });
    expect(await silent.all()).toEqual([]);
    expect([silent.outcome, silent.missing]).toEqual(['timeout', ['r1']]);
  }, 20_000);

  it('three nodes: one request gathers both answers, one async message reaches both', async () => {
    const setup = makeSetup();
    const echoed: string[] = [];
    const endpoints = await Promise.all([setup.responder('r1'), setup.responder('r2')]);
    const requester = await setup.requester(endpoints, (p) => echoed.push(p));
    expect(
      requester
        .peers()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['r1', 'r2']);

    const responses = await requester.syncRequest('upper', 'all').all();
    expect(responses.map((r) => (r.ok ? r.payload : r.error)).sort()).toEqual(['ALL@r1', 'ALL@r2']);

    const partial = requester.syncRequest('upper', 'one', { maxResponses: 1 });
    expect(await partial.all()).toHaveLength(1);
    expect(partial.outcome).toBe('max-responses');

    expect(requester.asyncMessage('echo', 'both')).toBe(true);
    await until(() => echoed.length === 2, 10_000, 'two echoes');
    expect(echoed.sort()).toEqual(['r1:both', 'r2:both']);
    expect(requester.stats.asyncSent).toBe(1 * 2);
  }, 20_000);
});
