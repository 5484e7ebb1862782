import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { memberFromRecord, type SystemgeNode } from '../src/index.js';
import { MemoryRegistry } from './fixtures/memory-discovery.js';
import { nextEvent, startNode, until } from './helpers.js';

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const names = (node: SystemgeNode): string[] => node.peers().map((p) => p.name);

it('a discovered member whose dial ran out of attempts is dialed again while it stays a member', { timeout: 30_000 }, async () => {
  const registry = new MemoryRegistry();
  const port = await freePort();
  // "b" is announced but not reachable yet (its process is still starting, or starved of CPU).
  registry.put(memberFromRecord({ name: 'b', host: '127.0.0.1', port }));
  const a = await startNode(
    {
      name: 'a',
      listen: { host: '127.0.0.1', port: 0 },
      connection: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 300, jitter: 0 },
    },
    {},
    { discovery: { source: registry.discovery() } },
  );
  // Both attempts fail; the last one says no retry follows.
  for (;;) {
    const [, attempt, , retryInMs] = await nextEvent<[unknown, number, unknown, number | undefined]>(a, 'connect:failed', 10_000);
    if (retryInMs === undefined) {
      expect(attempt).toBe(2);
      break;
    }
  }
  // Now "b" answers at the announced address: "a" dials it again, as it is still a member.
  const b = await startNode({ name: 'b', listen: { host: '127.0.0.1', port } });
  await until(() => names(a).join() === 'b' && names(b).join() === 'a', 10_000, 'a connected to b');
  expect(a.peers()[0]?.direction).toBe('out');
});

it('a member that left is not dialed again after its attempts ran out', { timeout: 30_000 }, async () => {
  const registry = new MemoryRegistry();
  const port = await freePort();
  registry.put(memberFromRecord({ name: 'b', host: '127.0.0.1', port }));
  const a = await startNode(
    {
      name: 'a',
      listen: { host: '127.0.0.1', port: 0 },
      connection: { maxAttempts: 1, initialDelayMs: 20, maxDelayMs: 300, jitter: 0 },
    },
    {},
    { discovery: { source: registry.discovery() } },
  );
  await nextEvent(a, 'connect:failed', 10_000);
  registry.remove('b');
  const attempts = a.stats.connectionAttempts;
  // Something answers there now, but "b" is no member any more: "a" must not dial it. Nothing can
  // be awaited for a dial that must not happen: the window is three times the redial delay.
  const b = await startNode({ name: 'b', listen: { host: '127.0.0.1', port } });
  await new Promise<void>((resolve) => setTimeout(resolve, 900));
  expect(a.stats.connectionAttempts).toBe(attempts);
  expect(names(a)).toEqual([]);
  expect(names(b)).toEqual([]);
});
