import { describe, expect, it } from 'vitest';
import {
  DiscoveryUnavailableError,
  type ManualDiscovery,
  type MembershipEvent,
  manualDiscovery,
  type PeerInfo,
  type SystemgeNode,
} from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

const self = { name: 'self', host: '127.0.0.1', port: 7001 };

/** Records every event of `discovery` from now on, as `type:id` (or the bare type). */
function record(discovery: ManualDiscovery): string[] {
  const seen: string[] = [];
  discovery.subscribe((event) => seen.push('member' in event ? `${event.type}:${event.member.id}` : event.type));
  return seen;
}

const ids = (discovery: ManualDiscovery): string[] => discovery.members().map((m) => m.id);

/** Resolves with the next event of the iterator, or rejects after `timeoutMs`. */
async function nextOf(iterator: AsyncIterator<MembershipEvent>, timeoutMs = 5000): Promise<IteratorResult<MembershipEvent>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the next `event` of `node` whose peer satisfies `match`, or rejects after `timeoutMs`. */
function peerEvent(
  node: SystemgeNode,
  event: 'peer:connected' | 'peer:disconnected',
  match: (peer: PeerInfo) => boolean,
  timeoutMs = 10_000,
): Promise<PeerInfo> {
  return new Promise((resolve, reject) => {
    const listener = (...[peer]: [PeerInfo, ...unknown[]]): void => {
      if (!match(peer)) return;
      clearTimeout(timer);
      node.off(event, listener);
      resolve(peer);
    };
    const timer = setTimeout(() => {
      node.off(event, listener);
      reject(new Error(`no ${event} on ${node.name} within ${timeoutMs} ms`));
    }, timeoutMs);
    node.on(event, listener);
  });
}

describe('manualDiscovery', () => {
  it('emits joined, changed and left as members are driven, and members() follows', async () => {
    const discovery = manualDiscovery();
    expect(discovery.kind).toBe('manual');
    const seen = record(discovery);
    await discovery.start(self);

    const orders = discovery.join({ name: 'orders', host: '127.0.0.1', port: 7002, topics: ['order'], metadata: { zone: 'a' } });
    expect(orders).toMatchObject({ id: 'orders', name: 'orders', instance: undefined, topics: ['order'] });
    // A member known only by its address (as DNS gives it) is keyed by it.
    discovery.join({ host: '127.0.0.1', port: 7003 });
    expect(ids(discovery)).toEqual(['orders', '127.0.0.1:7003']);
    expect(discovery.members()[1]?.name).toBeUndefined();
    // Metadata lookups never reach Object.prototype.
    expect(discovery.members()[0]?.metadata['toString']).toBeUndefined();

    // A `Member` as read back can be changed with a spread.
    discovery.change({ ...orders, topics: ['order', 'refund'] });
    expect(discovery.members()[0]?.topics).toEqual(['order', 'refund']);
    // The same description again is no change.
    discovery.change({ ...orders, topics: ['order', 'refund'] });

    expect(discovery.leave('127.0.0.1:7003').port).toBe(7003);
    expect(ids(discovery)).toEqual(['orders']);
    expect(seen).toEqual(['joined:orders', 'joined:127.0.0.1:7003', 'changed:orders', 'left:127.0.0.1:7003']);
  });

  it('changed carries the previous member; leave finds a member by name when its id differs', async () => {
    const discovery = manualDiscovery();
    const events: MembershipEvent[] = [];
    discovery.subscribe((event) => events.push(event));
    await discovery.start();
    discovery.join({ id: 'orders-key', name: 'orders', host: '127.0.0.1', port: 7002 });
    discovery.change({ id: 'orders-key', name: 'orders', host: '127.0.0.1', port: 7004 });
    const changed = events[1];
    expect(changed?.type === 'changed' && [changed.previous.port, changed.member.port]).toEqual([7002, 7004]);
    expect(discovery.leave('orders').id).toBe('orders-key');
    expect(events.map((e) => e.type)).toEqual(['joined', 'changed', 'left']);
    expect(discovery.members()).toEqual([]);
  });

  it('degrade emits degraded once per outage with SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE, keeps the members, and recover emits recovered', async () => {
    const discovery = manualDiscovery({ target: 'http://127.0.0.1:2379' });
    const events: MembershipEvent[] = [];
    discovery.subscribe((event) => events.push(event));
    await discovery.start(self);
    discovery.join({ name: 'orders', host: '127.0.0.1', port: 7002 });

    const error = discovery.degrade('connection refused');
    expect(discovery.degraded).toBe(true);
    expect(error).toBeInstanceOf(DiscoveryUnavailableError);
    expect(error).toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE',
      kind: 'manual',
      target: 'http://127.0.0.1:2379',
      message: 'manual discovery at http://127.0.0.1:2379 unavailable: connection refused',
    });
    expect(events.at(-1)).toEqual({ type: 'degraded', error });
    // Still down: no second event. The members stay, and the test may still drive them.
    discovery.degrade('timed out');
    expect(ids(discovery)).toEqual(['orders']);
    discovery.join({ name: 'stock', host: '127.0.0.1', port: 7003 });

    discovery.recover();
    expect(discovery.degraded).toBe(false);
    discovery.recover();
    expect(events.map((e) => e.type)).toEqual(['joined', 'degraded', 'joined', 'recovered']);

    // Any other Error is wrapped (it is the cause); an unavailable error is reported as given.
    const refused = new Error('ECONNREFUSED');
    const wrapped = discovery.degrade(refused);
    expect(wrapped).toMatchObject({ code: 'SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE', cause: refused });
    expect(wrapped.message).toBe('manual discovery at http://127.0.0.1:2379 unavailable: ECONNREFUSED');
    discovery.recover();
    const etcdDown = new DiscoveryUnavailableError('etcd', 'http://127.0.0.1:9', 'connection refused');
    expect(discovery.degrade(etcdDown)).toBe(etcdDown);
    expect(events.at(-1)).toEqual({ type: 'degraded', error: etcdDown });
  });

  it('names its default target in the degraded error', async () => {
    const discovery = manualDiscovery();
    await discovery.start();
    expect(discovery.degrade('connection refused').message).toBe('manual discovery at backend unavailable: connection refused');
  });

  it('lists the backend members on start, never this node itself, forgets them on stop without left, and lists them again on restart', async () => {
    const discovery = manualDiscovery({ members: [{ name: 'orders', host: '127.0.0.1', port: 7002 }] });
    // Members driven before start are held by the backend; nothing is listed or emitted yet.
    discovery.join({ name: 'self', host: '127.0.0.1', port: 7009 });
    discovery.join({ host: self.host, port: self.port });
    discovery.join({ name: 'stock', host: '127.0.0.1', port: 7003 });
    expect(discovery.members()).toEqual([]);
    const seen = record(discovery);

    await discovery.start(self);
    // The member named like this node and the one at its address are this node.
    expect(ids(discovery)).toEqual(['orders', 'stock']);
    expect(seen).toEqual(['joined:orders', 'joined:stock']);

    await discovery.stop();
    expect(discovery.members()).toEqual([]);
    discovery.leave('orders');
    expect(seen).toEqual(['joined:orders', 'joined:stock']);

    await discovery.start(self);
    expect(ids(discovery)).toEqual(['stock']);
    expect(seen).toEqual(['joined:orders', 'joined:stock', 'joined:stock']);
  });

  it('an outage while stopped shows from the next start on, which still resolves; recovery after a restart emits recovered', async () => {
    const discovery = manualDiscovery({ members: [{ name: 'orders', host: '127.0.0.1', port: 7002 }] });
    const seen = record(discovery);
    discovery.degrade('connection refused');
    expect(discovery.degraded).toBe(false);
    await discovery.start(self);
    expect(discovery.degraded).toBe(true);
    expect(seen).toEqual(['joined:orders', 'degraded']);
    await discovery.stop();
    discovery.recover();
    await discovery.start(self);
    expect(discovery.degraded).toBe(false);
    expect(seen).toEqual(['joined:orders', 'degraded', 'joined:orders', 'recovered']);
  });

  it('announced follows start, update and stop', async () => {
    const discovery = manualDiscovery();
    expect(discovery.announced).toBeUndefined();
    const record = { ...self, topics: ['a'], metadata: { zone: 'x' } };
    await discovery.start(record);
    expect(discovery.announced).toEqual({ ...self, topics: ['a'], metadata: { zone: 'x' } });
    // A copy: what was announced then, whatever the caller does with its object later.
    record.topics.push('b');
    expect(discovery.announced?.topics).toEqual(['a']);
    await discovery.update({ ...self, topics: ['a', 'c'] });
    expect(discovery.announced).toEqual({ ...self, topics: ['a', 'c'] });
    await discovery.stop();
    expect(discovery.announced).toBeUndefined();
    // A watching-only start announces nothing.
    await discovery.start();
    expect(discovery.announced).toBeUndefined();
  });

  it('rejects start twice, update before start or with another name, an invalid announcement, and start after close', async () => {
    const discovery = manualDiscovery();
    await expect(discovery.update(self)).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
      message: expect.stringContaining('not started'),
    });
    await expect(discovery.start({ ...self, port: 70_000 })).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
      message: expect.stringContaining('70000'),
    });
    await discovery.start(self);
    await expect(discovery.start(self)).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
      message: expect.stringContaining('already started'),
    });
    await expect(discovery.update({ ...self, name: 'other' })).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
      message: expect.stringContaining('"other"'),
    });
    await discovery.close();
    await expect(discovery.start(self)).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
      message: expect.stringContaining('closed'),
    });
    expect(() => discovery.join({ name: 'late', host: '127.0.0.1', port: 7002 })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_DISCOVERY_STATE', message: expect.stringContaining('closed') }),
    );
  });

  it('refuses a member id taken, an unknown member to change or leave, and an invalid host or port, naming the value', async () => {
    const discovery = manualDiscovery();
    const refused = (drive: () => unknown, value: string): void => {
      expect(drive).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_DISCOVERY_STATE', message: expect.stringContaining(value) }));
    };
    discovery.join({ name: 'orders', host: '127.0.0.1', port: 7002 });
    refused(() => discovery.join({ name: 'orders', host: '127.0.0.1', port: 7003 }), '"orders"');
    refused(() => discovery.change({ name: 'stock', host: '127.0.0.1', port: 7003 }), '"stock"');
    refused(() => discovery.leave('stock'), '"stock"');
    refused(() => discovery.join({ name: 'bad', host: '127.0.0.1', port: 0 }), 'is 0');
    refused(() => discovery.join({ name: 'bad', host: '', port: 7003 }), 'host ""');
    refused(() => discovery.join({ name: '', host: '127.0.0.1', port: 7003 }), 'name ""');
    expect(() => manualDiscovery({ members: [{ name: 'x', host: 'h', port: 1.5 }] })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_DISCOVERY_STATE', message: expect.stringContaining('1.5') }),
    );
  });

  it('skip counts records the backend did not take', async () => {
    const discovery = manualDiscovery();
    discovery.skip('malformed-json', 'not JSON');
    discovery.skip('malformed-json', 'not JSON either');
    discovery.skip('invalid-port', 'port 0');
    const skipped = discovery.skipped();
    expect(skipped.total).toBe(3);
    expect(Object.fromEntries(skipped.byReason)).toEqual({ 'malformed-json': 2, 'invalid-port': 1 });
  });

  it('events() yields the driven events in order and ends on close; one aborted by its signal ends alone', async () => {
    const discovery = manualDiscovery();
    const iterator = discovery.events();
    const aborted = new AbortController();
    const other = discovery.events(aborted.signal);
    aborted.abort();
    await discovery.start(self);
    discovery.join({ name: 'orders', host: '127.0.0.1', port: 7002 });
    discovery.degrade('connection refused');
    discovery.recover();
    discovery.leave('orders');
    const types: string[] = [];
    for (let i = 0; i < 4; i++) {
      const next = await nextOf(iterator);
      if (!next.done) types.push(next.value.type);
    }
    expect(types).toEqual(['joined', 'degraded', 'recovered', 'left']);

    // The aborted one saw none of them.
    expect(await nextOf(other)).toEqual({ value: undefined, done: true });

    const pending = nextOf(iterator);
    await discovery.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    // Iterators made after close are finished at once.
    expect(await nextOf(discovery.events())).toEqual({ value: undefined, done: true });
  });
});

describe('a node with a manual discovery', () => {
  it('announces itself, dials a member that joins, and drops it when it leaves (without redialing it)', { timeout: 30_000 }, async () => {
    const orders = await startNode({ name: 'orders', listen: { host: '127.0.0.1', port: 0 } });
    const stock = await startNode({ name: 'stock', listen: { host: '127.0.0.1', port: 0 } });
    const discovery = manualDiscovery();
    const node = await startNode({ name: 'client', listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: discovery } });

    expect(discovery.announced).toMatchObject({
      name: 'client',
      instance: expect.any(String),
      host: '127.0.0.1',
      port: node.address?.port,
      topics: [],
    });
    expect(discovery.announced?.metadata?.['systemge.connectTo']).toBe('all');

    const connected = peerEvent(node, 'peer:connected', (p) => p.name === 'orders');
    discovery.join({ name: 'orders', ...endpointOf(orders) });
    await connected;
    expect(node.discoveryState()).toMatchObject({ kind: 'manual', memberCount: 1, members: [{ id: 'orders', name: 'orders' }] });

    const disconnected = peerEvent(orders, 'peer:disconnected', (p) => p.name === 'client');
    discovery.leave('orders');
    await disconnected;
    await until(() => node.peers().length === 0, 10_000, 'client without peers');
    expect(node.discoveryState()?.memberCount).toBe(0);

    // A member joining later is dialed; the one that left was not dialed again meanwhile.
    const stockConnected = peerEvent(node, 'peer:connected', (p) => p.name === 'stock');
    discovery.join({ name: 'stock', ...endpointOf(stock) });
    await stockConnected;
    expect(node.peers().map((p) => p.name)).toEqual(['stock']);
    expect(node.stats.connectionAttempts).toBe(2);
  });

  it('re-announces topics added at runtime through update(), and withdraws the announcement on stop', async () => {
    const discovery = manualDiscovery();
    const node = await startNode({ name: 'stock', listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: discovery } });
    expect(discovery.announced?.topics).toEqual([]);
    node.addSyncTopic('price', () => '42');
    await until(() => discovery.announced?.topics?.includes('price') === true, 10_000, 'price announced');
    await node.stop();
    expect(discovery.announced).toBeUndefined();
  });

  it('dials a member once change() announces a topic the node uses, and shows the degraded state', { timeout: 30_000 }, async () => {
    const stock = await startNode({ name: 'stock', listen: { host: '127.0.0.1', port: 0 } });
    const discovery = manualDiscovery();
    const node = await startNode(
      { name: 'client', listen: { host: '127.0.0.1', port: 0 } },
      {},
      { discovery: { source: discovery, connectTo: { uses: ['price'] } } },
    );
    const member = discovery.join({ name: 'stock', ...endpointOf(stock), topics: [] });
    expect(node.discoveryState()?.memberCount).toBe(1);
    const connected = peerEvent(node, 'peer:connected', (p) => p.name === 'stock');
    discovery.change({ ...member, topics: ['price'] });
    await connected;
    // The member announced no topic it served before: the first dial was the one after change().
    expect(node.stats.connectionAttempts).toBe(1);

    discovery.degrade('connection refused');
    expect(node.discoveryState()).toMatchObject({
      degraded: true,
      degradedReason: 'manual discovery at backend unavailable: connection refused',
    });
    // Degraded: the node keeps its connections.
    expect(node.peers().map((p) => p.name)).toEqual(['stock']);
    discovery.recover();
    expect(node.discoveryState()).toMatchObject({ degraded: false, degradedReason: null });
  });
});
