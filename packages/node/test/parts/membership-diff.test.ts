import { describe, expect, it } from 'vitest';
import type { Member, MembershipEvent } from '../../src/discovery/discovery.js';
import { MembershipView, plainMetadata } from '../../src/discovery/membership.js';

function member(id: string, fields: Partial<Omit<Member, 'id'>> = {}): Member {
  return {
    id,
    name: id,
    instance: undefined,
    host: '127.0.0.1',
    port: 60000,
    topics: [],
    metadata: plainMetadata(undefined),
    ...fields,
  };
}

/** A view and the events it emitted, as `type:id`. */
function watched(): { view: MembershipView; seen: string[]; events: MembershipEvent[] } {
  const view = new MembershipView('test');
  const seen: string[] = [];
  const events: MembershipEvent[] = [];
  view.subscribe((event) => {
    events.push(event);
    seen.push('member' in event ? `${event.type}:${event.member.id}` : event.type);
  });
  return { view, seen, events };
}

describe('MembershipView.replaceAll (the membership diff of every discovery)', () => {
  it('emits joined for each new id, in snapshot order', () => {
    const { view, seen } = watched();
    view.replaceAll([member('b'), member('a'), member('c')]);
    expect(seen).toEqual(['joined:b', 'joined:a', 'joined:c']);
    expect(view.members().map((m) => m.id)).toEqual(['b', 'a', 'c']);
  });

  it('emits left for each id the snapshot lacks, carrying the member as it was listed', () => {
    const { view, seen, events } = watched();
    const a = member('a', { port: 1 });
    view.replaceAll([a, member('b')]);
    seen.length = 0;
    view.replaceAll([member('b')]);
    expect(seen).toEqual(['left:a']);
    expect(events.at(-1)).toEqual({ type: 'left', member: a });
    expect(view.get('a')).toBeUndefined();
  });

  const changes: [string, Partial<Omit<Member, 'id'>>, Partial<Omit<Member, 'id'>>][] = [
    ['name', { name: 'a' }, { name: 'a2' }],
    ['name (known, then unknown)', { name: 'a' }, { name: undefined }],
    ['instance', { instance: 'i1' }, { instance: 'i2' }],
    ['instance (unknown, then known)', { instance: undefined }, { instance: 'i1' }],
    ['host', { host: '127.0.0.1' }, { host: '127.0.0.2' }],
    ['port', { port: 60001 }, { port: 60002 }],
    ['topics (one added)', { topics: ['t1'] }, { topics: ['t1', 't2'] }],
    ['topics (one removed)', { topics: ['t1', 't2'] }, { topics: ['t1'] }],
    ['topics (order)', { topics: ['t1', 't2'] }, { topics: ['t2', 't1'] }],
    ['metadata (a value)', { metadata: plainMetadata({ zone: 'a' }) }, { metadata: plainMetadata({ zone: 'b' }) }],
    ['metadata (a key added)', { metadata: plainMetadata({ zone: 'a' }) }, { metadata: plainMetadata({ zone: 'a', rack: '1' }) }],
    ['metadata (a key removed)', { metadata: plainMetadata({ zone: 'a', rack: '1' }) }, { metadata: plainMetadata({ zone: 'a' }) }],
    ['metadata (a key renamed)', { metadata: plainMetadata({ zone: 'a' }) }, { metadata: plainMetadata({ area: 'a' }) }],
  ];
  for (const [field, before, after] of changes) {
    it(`emits changed, with the previous record, when ${field} differs`, () => {
      const { view, seen, events } = watched();
      const previous = member('a', before);
      const next = member('a', after);
      view.replaceAll([previous]);
      view.replaceAll([next]);
      expect(seen).toEqual(['joined:a', 'changed:a']);
      expect(events[1]).toEqual({ type: 'changed', member: next, previous });
      expect(view.get('a')).toBe(next);
    });
  }

  it('emits nothing for a member whose record is equal, though a new object (metadata keys in another order)', () => {
    const { view, seen } = watched();
    const fields = { instance: 'i1', topics: ['t1', 't2'], metadata: plainMetadata({ zone: 'a', rack: '1' }) };
    view.replaceAll([member('a', fields), member('b')]);
    seen.length = 0;
    view.replaceAll([
      member('a', { ...fields, topics: [...fields.topics], metadata: plainMetadata({ rack: '1', zone: 'a' }) }),
      member('b'),
    ]);
    view.replaceAll([member('b'), member('a', fields)]);
    expect(seen).toEqual([]);
    expect(view.members().map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('emits left before joined and changed: left in the order the members joined, then the snapshot in its order', () => {
    const { view, seen } = watched();
    view.replaceAll([member('a'), member('b'), member('c'), member('d')]);
    seen.length = 0;
    view.replaceAll([member('e'), member('d', { port: 2 }), member('f'), member('b')]);
    expect(seen).toEqual(['left:a', 'left:c', 'joined:e', 'changed:d', 'joined:f']);
    // A changed member keeps its place; new members come after the ones listed before.
    expect(view.members().map((m) => m.id)).toEqual(['b', 'd', 'e', 'f']);
  });

  it('takes the last record of an id listed twice, at the place of its first', () => {
    const { view, seen, events } = watched();
    const last = member('a', { port: 2 });
    view.replaceAll([member('a', { port: 1 }), member('b'), last]);
    expect(seen).toEqual(['joined:a', 'joined:b']);
    expect(events[0]).toEqual({ type: 'joined', member: last });
    seen.length = 0;
    view.replaceAll([member('b'), member('a', { port: 3 }), member('a', { port: 2 })]);
    expect(seen).toEqual([]);
    view.replaceAll([member('a', { port: 2 }), member('a', { port: 4 })]);
    expect(seen).toEqual(['left:b', 'changed:a']);
    expect(view.get('a')?.port).toBe(4);
  });

  it('leaves this node out of every snapshot: no event for it, not listed', () => {
    const { view, seen } = watched();
    view.setSelf({ name: 'me', host: '127.0.0.1', port: 60000 });
    view.replaceAll([member('a'), member('me')]);
    view.replaceAll([member('a'), member('me', { port: 1 })]);
    view.replaceAll([member('a')]);
    expect(seen).toEqual(['joined:a']);
    expect(view.members().map((m) => m.id)).toEqual(['a']);
  });

  it('an empty snapshot lists nobody, and two empty ones give no event', () => {
    const { view, seen } = watched();
    view.replaceAll([]);
    expect(seen).toEqual([]);
    view.replaceAll([member('a'), member('b')]);
    seen.length = 0;
    view.replaceAll([]);
    view.replaceAll([]);
    expect(seen).toEqual(['left:a', 'left:b']);
    expect(view.members()).toEqual([]);
  });
});

describe('MembershipView.upsert and remove (watch events) share the diff', () => {
  it('upsert: joined for a new id, changed when a field differs, nothing when equal; remove: left once', () => {
    const { view, seen } = watched();
    view.upsert(member('a', { topics: ['t'] }));
    view.upsert(member('a', { topics: ['t'] }));
    view.upsert(member('a', { topics: ['t', 'u'] }));
    view.remove('a');
    view.remove('a');
    view.remove('never-listed');
    expect(seen).toEqual(['joined:a', 'changed:a', 'left:a']);
  });
});
