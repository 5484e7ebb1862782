import { describe, expect, it } from 'vitest';
import { forkNode } from './child-node.js';
import { startNode, until } from './helpers.js';

const heartbeat = { intervalMs: 200, timeoutMs: 1000 };

describe('heartbeats with a peer whose event loop is busy', () => {
  it('do not declare a peer dead that blocks its event loop for less than the timeout', async () => {
    const busy = await forkNode({ name: 'busy', heartbeat }, { app: 'worker' });
    const client = await startNode({ name: 'client', listen: false, endpoints: [busy.endpoint], heartbeat });
    const dead: string[] = [];
    client.on('peer:dead', (p) => dead.push(p.name));
    client.on('peer:disconnected', (p) => dead.push(`disconnected ${p.name}`));

    // Idle first, so probes are what keep the connection alive...
    const idleFrom = client.peers()[0]?.framesIn ?? 0;
    await until(() => (client.peers()[0]?.framesIn ?? 0) >= idleFrom + 3, 3000, 'heartbeat traffic on an idle connection');
    // ...then a 600 ms busy-wait in the peer (60% of the timeout, three probe intervals).
    await client.syncRequest('echo', '').first();
    const t0 = Date.now();
    expect(await client.syncRequest('busy', '600').first()).toBe('done');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    // Watch for a full timeout plus two intervals after the block started.
    await until(() => Date.now() - t0 > heartbeat.timeoutMs + 2 * heartbeat.intervalMs, 3000, 'the observation window');
    expect(dead).toEqual([]);
    expect(client.stats.heartbeatTimeouts).toBe(0);
    expect(busy.events.filter((e) => e.event === 'peer:dead' || e.event === 'peer:disconnected')).toEqual([]);
    expect(await client.syncRequest('echo', 'still here').first()).toBe('still here');

    // Control: blocking for longer than the timeout is detected.
    const request = client.syncRequest('busy', '1500', { timeoutMs: 5000 });
    await until(() => dead.includes('busy'), 3000, 'peer:dead for a peer blocked past the timeout');
    await expect(request.first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
    expect(client.stats.heartbeatTimeouts).toBe(1);
  }, 15_000);
});
