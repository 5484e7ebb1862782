import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { memberFromRecord, type SystemgeNode } from '../src/index.js';
import { MemoryRegistry } from './fixtures/memory-discovery.js';
import { nextEvent, startNode, until } from './helpers.js';

// A node dials a discovered member for as long as it is a member, whatever `connection.maxAttempts`
// says: a member that is slow to come up, or that crashed and whose lease has not run out yet, gives
// no `connect:gave-up` and no pair is left unconnected for good; a member that left is not dialed.

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
const FAST_RETRIES = { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 100, jitter: 0 };

/** Resolves at the first `connect:failed` whose attempt number is at least `attempt`. */
async function failedAttempt(node: SystemgeNode, attempt: number): Promise<void> {
  for (;;) {
    const [, n, , retryInMs] = await nextEvent<[unknown, number, unknown, number | undefined]>(node, 'connect:failed', 10_000);
    // Every failure announces a next attempt: there is no last one.
    expect(retryInMs).toBeGreaterThan(0);
    if (n >= attempt) return;
  }
}

it('a discovered member unreachable for longer than maxAttempts is connected once it answers, without connect:gave-up', async () => {
  const registry = new MemoryRegistry();
  const port = await freePort();
  // "b" is announced but not reachable yet (its process is still starting, or starved of CPU).
  registry.put(memberFromRecord({ name: 'b', host: '127.0.0.1', port }));
  const a = await startNode(
    { name: 'a', listen: { host: '127.0.0.1', port: 0 }, connection: FAST_RETRIES },
    {},
    { discovery: { source: registry.discovery() } },
  );
  const gaveUp: unknown[] = [];
  a.on('connect:gave-up', (endpoint) => gaveUp.push(endpoint));
  await failedAttempt(a, FAST_RETRIES.maxAttempts + 2);
  const b = await startNode({ name: 'b', listen: { host: '127.0.0.1', port } });
  await until(() => names(a).join() === 'b' && names(b).join() === 'a', 10_000, 'a connected to b');
  expect(a.peers()[0]?.direction).toBe('out');
  expect(gaveUp).toEqual([]);
});

it('a connected member that went away is redialed past maxAttempts while it stays a member, and reconnected when back', async () => {
  const registry = new MemoryRegistry();
  const port = await freePort();
  registry.put(memberFromRecord({ name: 'b', host: '127.0.0.1', port }));
  const a = await startNode(
    { name: 'a', listen: { host: '127.0.0.1', port: 0 }, connection: FAST_RETRIES },
    {},
    { discovery: { source: registry.discovery() } },
  );
  const gaveUp: unknown[] = [];
  a.on('connect:gave-up', (endpoint) => gaveUp.push(endpoint));
  const b = await startNode({ name: 'b', listen: { host: '127.0.0.1', port } });
  await until(() => names(a).join() === 'b', 10_000, 'a connected to b');
  // b crashes; its record stays until its lease runs out.
  await b.stop();
  await failedAttempt(a, FAST_RETRIES.maxAttempts + 2);
  const back = await startNode({ name: 'b', listen: { host: '127.0.0.1', port } });
  await until(() => names(a).join() === 'b' && names(back).join() === 'a', 10_000, 'a reconnected to b');
  expect(gaveUp).toEqual([]);
});

it('a member that left is not dialed any more', async () => {
  const registry = new MemoryRegistry();
  const port = await freePort();
  registry.put(memberFromRecord({ name: 'b', host: '127.0.0.1', port }));
  const a = await startNode(
    { name: 'a', listen: { host: '127.0.0.1', port: 0 }, connection: FAST_RETRIES },
    {},
    { discovery: { source: registry.discovery() } },
  );
  await failedAttempt(a, 2);
  registry.remove('b');
  const attempts = a.stats.connectionAttempts;
  // Something answers there now, but "b" is no member any more: "a" must not dial it. Nothing can
  // be awaited for a dial that must not happen: the window is nine times the longest retry delay.
  const b = await startNode({ name: 'b', listen: { host: '127.0.0.1', port } });
  await new Promise<void>((resolve) => setTimeout(resolve, 900));
  expect(a.stats.connectionAttempts).toBe(attempts);
  expect(names(a)).toEqual([]);
  expect(names(b)).toEqual([]);
});
