import { describe, expect, it } from 'vitest';
import { MembershipView, type MembershipEvent, staticDiscovery } from '../src/index.js';

describe('staticDiscovery', () => {
  it('lists every valid entry but this node itself, and counts the skipped ones', async () => {
    const discovery = staticDiscovery({
      members: [
        { host: '127.0.0.1', port: 60001, name: 'a' },
        { host: '127.0.0.1', port: 60002, name: 'b', topics: ['t'] },
        { host: '127.0.0.1', port: 60003 },
        { host: '127.0.0.1', port: 0, name: 'bad-port' },
        { host: '', port: 60004, name: 'bad-host' },
        { host: '127.0.0.1', port: 60005, name: 'b' },
      ],
    });
    const seen: MembershipEvent[] = [];
    discovery.subscribe((event) => seen.push(event));
    await discovery.start({ name: 'a', host: '127.0.0.1', port: 60001 });
    expect(discovery.members().map((m) => m.id)).toEqual(['b', '127.0.0.1:60003']);
    expect(discovery.members()[1]?.name).toBeUndefined();
    expect(seen.map((e) => e.type)).toEqual(['joined', 'joined']);
    expect(discovery.degraded).toBe(false);
    const skipped = discovery.skipped();
    expect(skipped.total).toBe(3);
    expect(Object.fromEntries(skipped.byReason)).toEqual({ 'invalid-port': 1, 'invalid-host': 1, duplicate: 1 });
    await discovery.close();
    await expect(discovery.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_DISCOVERY_STATE' });
  });

  it('refuses an announcement with an invalid port', async () => {
    const discovery = staticDiscovery({ members: [] });
    await expect(discovery.start({ name: 'a', host: '127.0.0.1', port: 70000 })).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_DISCOVERY_STATE',
      message: expect.stringContaining('70000'),
    });
  });
});

describe('MembershipView', () => {
  const member = (id: string, port: number, topics: string[] = []) => ({
    id,
    name: id,
    instance: undefined,
    host: '127.0.0.1',
    port,
    topics,
    metadata: Object.create(null) as Record<string, string>,
  });

  it('turns snapshots into joined, changed and left, and ignores unchanged members', () => {
    const view = new MembershipView('test');
    const seen: string[] = [];
    view.subscribe((e) =>
      seen.push(e.type === 'joined' || e.type === 'left' || e.type === 'changed' ? `${e.type}:${e.member.id}` : e.type),
    );
    view.replaceAll([member('a', 1), member('b', 2)]);
    view.replaceAll([member('a', 1), member('b', 2, ['x'])]);
    view.replaceAll([member('b', 2, ['x']), member('c', 3)]);
    expect(seen).toEqual(['joined:a', 'joined:b', 'changed:b', 'left:a', 'joined:c']);
  });

  it('reports degraded once per outage and recovered after it', () => {
    const view = new MembershipView('test');
    const seen: string[] = [];
    view.subscribe((e) => seen.push(e.type));
    view.markDegraded(new Error('down'));
    view.markDegraded(new Error('still down'));
    expect(view.degraded).toBe(true);
    view.markRecovered();
    view.markRecovered();
    expect(seen).toEqual(['degraded', 'recovered']);
    expect(view.degraded).toBe(false);
  });

  it('never lists the node itself, by name or by its address when the name is unknown', () => {
    const view = new MembershipView('test');
    view.setSelf({ name: 'me', host: '127.0.0.1', port: 5 });
    view.replaceAll([member('me', 9), { ...member('x', 5), id: '127.0.0.1:5', name: undefined }, member('other', 6)]);
    expect(view.members().map((m) => m.id)).toEqual(['other']);
  });

  it('events() yields queued events in order and ends on end() and on abort', async () => {
    const view = new MembershipView('test');
    const iterator = view.events();
    view.upsert(member('a', 1));
    view.remove('a');
    const first = await iterator.next();
    const second = await iterator.next();
    expect([first.value?.type, second.value?.type]).toEqual(['joined', 'left']);
    const pending = iterator.next();
    view.end();
    expect((await pending).done).toBe(true);

    const other = new MembershipView('test');
    const controller = new AbortController();
    const types: string[] = [];
    const loop = (async () => {
      for await (const event of other.events(controller.signal)) types.push(event.type);
    })();
    other.upsert(member('b', 2));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await loop;
    expect(types).toEqual(['joined']);
  });
});
