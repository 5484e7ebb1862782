import { describe, expect, it } from 'vitest';
import { type DiscoveryState, manualDiscovery } from '../src/index.js';
import { startNode } from './helpers.js';

describe('node.discoveryState()', () => {
  it('is undefined for a node without discovery', async () => {
    const node = await startNode({ name: 'plain' });
    expect(node.discoveryState()).toBeUndefined();
  });

  it('reports members, degraded reason and skipped records, and emits discovery:changed on each change', async () => {
    const source = manualDiscovery({ target: '127.0.0.1:9' });
    const node = await startNode(
      { name: 'self', listen: { host: '127.0.0.1', port: 0 } },
      {},
      { discovery: { source, connectTo: { uses: [] } } },
    );
    const events: DiscoveryState[] = [];
    node.on('discovery:changed', (state) => events.push(state));
    const started = node.discoveryState();
    expect(started).toMatchObject({ kind: 'manual', members: [], memberCount: 0, degraded: false, degradedReason: null });
    expect(started?.changedAt).toEqual(expect.any(Number));

    source.join({ name: 'b', host: '127.0.0.1', port: 1 });
    source.join({ name: 'a', host: '127.0.0.1', port: 2 });
    source.join({ host: '127.0.0.1', port: 3 });
    source.skip('malformed-json', 'not JSON');
    source.skip('malformed-json', 'not JSON either');
    source.skip('foreign-key', 'nested key');
    source.degrade('connection refused');
    const state = node.discoveryState()!;
    expect(state.members).toEqual([
      { id: '127.0.0.1:3', name: null, host: '127.0.0.1', port: 3 },
      { id: 'a', name: 'a', host: '127.0.0.1', port: 2 },
      { id: 'b', name: 'b', host: '127.0.0.1', port: 1 },
    ]);
    expect(state.memberCount).toBe(3);
    expect(state.degraded).toBe(true);
    expect(state.degradedReason).toBe('manual discovery at 127.0.0.1:9 unavailable: connection refused');
    expect(state.skipped.total).toBe(3);
    expect({ ...state.skipped.byReason }).toEqual({ 'malformed-json': 2, 'foreign-key': 1 });
    // Lookups on the counts never reach Object.prototype.
    expect(state.skipped.byReason['toString']).toBeUndefined();
    // JSON-ready: what a dashboard link sends is what the accessor returns.
    expect(JSON.parse(JSON.stringify(state))).toEqual({
      ...state,
      skipped: { total: 3, byReason: { 'malformed-json': 2, 'foreign-key': 1 } },
    });
    // Three joins and the degraded state; skipped records alone are not membership changes.
    expect(events.map((e) => [e.memberCount, e.degraded])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [3, true],
    ]);

    source.recover();
    source.leave('a');
    expect(node.discoveryState()).toMatchObject({ degraded: false, degradedReason: null, memberCount: 2 });
    expect(events.at(-1)?.members.map((m) => m.id)).toEqual(['127.0.0.1:3', 'b']);
    expect(events.at(-1)!.changedAt!).toBeGreaterThanOrEqual(started!.changedAt!);

    await node.stop();
    expect(events.at(-1)?.memberCount).toBe(0);
  });
});
