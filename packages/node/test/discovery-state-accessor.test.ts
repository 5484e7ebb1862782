import { describe, expect, it } from 'vitest';
import {
  type Discovery,
  DiscoveryUnavailableError,
  type DiscoveryState,
  type MemberRecord,
  MembershipView,
  memberFromRecord,
} from '../src/index.js';
import { startNode } from './helpers.js';

/** A discovery whose member table the test drives directly. */
function drivenDiscovery(): { source: Discovery; view: MembershipView } {
  const view = new MembershipView('driven');
  const source: Discovery = {
    kind: 'driven',
    get degraded() {
      return view.degraded;
    },
    start: async (self?: MemberRecord) => view.setSelf(self),
    update: async (self: MemberRecord) => view.setSelf(self),
    stop: async () => view.clear(),
    close: async () => view.end(),
    members: () => view.members(),
    skipped: () => view.skipped(),
    subscribe: (listener) => view.subscribe(listener),
    events: (signal) => view.events(signal),
  };
  return { source, view };
}

describe('node.discoveryState()', () => {
  it('is undefined for a node without discovery', async () => {
    const node = await startNode({ name: 'plain' });
    expect(node.discoveryState()).toBeUndefined();
  });

  it('reports members, degraded reason and skipped records, and emits discovery:changed on each change', async () => {
    const { source, view } = drivenDiscovery();
    const node = await startNode(
      { name: 'self', listen: { host: '127.0.0.1', port: 0 } },
      {},
      { discovery: { source, connectTo: { uses: [] } } },
    );
    const events: DiscoveryState[] = [];
    node.on('discovery:changed', (state) => events.push(state));
    const started = node.discoveryState();
    expect(started).toMatchObject({ kind: 'driven', members: [], memberCount: 0, degraded: false, degradedReason: null });
    expect(started?.changedAt).toEqual(expect.any(Number));

    view.upsert(memberFromRecord({ name: 'b', host: '127.0.0.1', port: 1 }));
    view.upsert(memberFromRecord({ name: 'a', host: '127.0.0.1', port: 2 }));
    view.upsert({ id: '127.0.0.1:3', name: undefined, instance: undefined, host: '127.0.0.1', port: 3, topics: [], metadata: {} });
    view.skip('malformed-json', 'not JSON');
    view.skip('malformed-json', 'not JSON either');
    view.skip('foreign-key', 'nested key');
    view.markDegraded(new DiscoveryUnavailableError('driven', '127.0.0.1:9', 'connection refused'));
    const state = node.discoveryState()!;
    expect(state.members).toEqual([
      { id: '127.0.0.1:3', name: null, host: '127.0.0.1', port: 3 },
      { id: 'a', name: 'a', host: '127.0.0.1', port: 2 },
      { id: 'b', name: 'b', host: '127.0.0.1', port: 1 },
    ]);
    expect(state.memberCount).toBe(3);
    expect(state.degraded).toBe(true);
    expect(state.degradedReason).toBe('driven discovery at 127.0.0.1:9 unavailable: connection refused');
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

    view.markRecovered();
    view.remove('a');
    expect(node.discoveryState()).toMatchObject({ degraded: false, degradedReason: null, memberCount: 2 });
    expect(events.at(-1)?.members.map((m) => m.id)).toEqual(['127.0.0.1:3', 'b']);
    expect(events.at(-1)!.changedAt!).toBeGreaterThanOrEqual(started!.changedAt!);

    await node.stop();
    expect(events.at(-1)?.memberCount).toBe(0);
  });
});
