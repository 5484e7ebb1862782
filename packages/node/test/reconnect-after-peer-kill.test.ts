import { describe, expect, it } from 'vitest';
import { forkNode } from './child-node.js';
import { nextEvent, startNode, until } from './helpers.js';

interface Outcome {
  ok: boolean;
  code: string | undefined;
  ms: number;
}

describe('a responder process killed with SIGKILL in the middle of a stream of sync requests', () => {
  it('settles every request fast with a typed error, then restores routing when it restarts on the same port', async () => {
    const responder = await forkNode({ name: 'responder' }, { app: 'worker' });
    const port = responder.endpoint.port;
    const client = await startNode({
      name: 'client',
      listen: false,
      endpoints: [{ host: '127.0.0.1', port, name: 'responder' }],
      connection: { maxAttempts: 0, initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
      sync: { timeoutMs: 5000 },
    });
    const attempts: number[] = [];
    client.on('connect:attempt', (_e, n) => attempts.push(n));

    const outcomes: Outcome[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const t = performance.now();
        try {
          await client.syncRequest('echo', 'ping').first();
          outcomes.push({ ok: true, code: undefined, ms: performance.now() - t });
        } catch (error) {
          outcomes.push({ ok: false, code: (error as { code?: string }).code, ms: performance.now() - t });
          // Refusals settle at once; let the event loop run between them.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await until(() => outcomes.filter((o) => o.ok).length >= 200, 10_000, '200 answered requests');

    const lost = nextEvent<[unknown, { code: string; initiator: string }]>(client, 'peer:disconnected', 5000);
    responder.process.kill('SIGKILL');
    const [, info] = await lost;
    expect(info.initiator).toBe('remote');
    // Its topics left the routing table at once.
    expect(client.peers()).toEqual([]);
    await expect(client.syncRequest('echo', 'x').first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NO_ROUTE' });
    const afterLoss = outcomes.length;
    await until(() => outcomes.length >= afterLoss + 50, 5000, 'requests after the loss');
    running = false;
    await Promise.all(workers);

    // Every request settled, ok or with a typed error, far below the 5000 ms timeout.
    const failures = outcomes.filter((o) => !o.ok);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(['SYSTEMGE_ERR_PEER_LOST', 'SYSTEMGE_ERR_NO_ROUTE']));
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(1000);
    expect(client.stats.syncTimeouts).toBe(0);
    expect(client.stats.syncPeerLost).toBeGreaterThanOrEqual(1);

    const reconnected = nextEvent<[{ name: string }]>(client, 'reconnected', 10_000);
    const restarted = await forkNode({ name: 'responder', listen: { host: '127.0.0.1', port } }, { app: 'worker' });
    expect(restarted.endpoint.port).toBe(port);
    const [peer] = await reconnected;
    expect(peer.name).toBe('responder');
    expect(client.peers().map((p) => p.syncTopics)).toEqual([['busy', 'echo']]);
    expect(await client.syncRequest('echo', 'back').first()).toBe('back');

    expect(client.stats).toMatchObject({ connectionsLost: 1, reconnects: 1, connectionsOut: 1 });
    expect(client.stats.connectionFailures).toBeGreaterThanOrEqual(1);
    expect(client.stats.connectionAttempts).toBe(1 + attempts.length);
    // The redial counts its own attempts from 1; all but the last failed.
    expect(attempts.at(-1)).toBe(client.stats.connectionFailures + 1);
  }, 20_000);
});
