import { describe, expect, it } from 'vitest';
import type { Member } from '../../src/discovery/discovery.js';
import {
  announcedPolicy,
  CONNECT_TO_ALL_KEY,
  type DialDecision,
  type DialPolicy,
  type DialSelf,
  dialDecision,
  policyMetadata,
  policySelects,
  USES_KEY,
} from '../../src/discovery/dial-policy.js';
import { plainMetadata } from '../../src/discovery/membership.js';

const all: DialPolicy = { kind: 'all' };
const uses = (...topics: string[]): DialPolicy => ({ kind: 'uses', uses: new Set(topics) });

/** A node as it announces itself and as it decides. */
interface Side {
  name: string;
  policy: DialPolicy | undefined; // undefined: an older member that announces no policy
  topics: string[];
}

const self = (side: Side, announced = true): DialSelf => ({
  name: side.name,
  instance: `${side.name}-instance`,
  policy: side.policy ?? all,
  topics: side.topics,
  announced,
});

const member = (side: Side): Member => ({
  id: side.name,
  name: side.name,
  instance: `${side.name}-instance`,
  host: '127.0.0.1',
  port: 4000,
  topics: side.topics,
  metadata: plainMetadata(side.policy === undefined ? { zone: 'a' } : policyMetadata(side.policy)),
});

/** What each side of the pair decides: [a about b, b about a]. */
const pair = (a: Side, b: Side): [DialDecision, DialDecision] => [dialDecision(self(a), member(b)), dialDecision(self(b), member(a))];

const dialers = (a: Side, b: Side): string[] => {
  const [ab, ba] = pair(a, b);
  return [...(ab === 'dial' ? [a.name] : []), ...(ba === 'dial' ? [b.name] : [])];
};

describe('dialDecision: who dials a pair', () => {
  it('two nodes using each other: only the name sorting first dials, whichever side asks', () => {
    const orders: Side = { name: 'orders', policy: uses('stock'), topics: ['order'] };
    const stock: Side = { name: 'stock', policy: uses('order'), topics: ['stock'] };
    expect(pair(orders, stock)).toEqual(['dial', 'peer-dials']);
    expect(pair(stock, orders)).toEqual(['peer-dials', 'dial']);
  });

  it('only one side uses the other: that side dials, even when its name sorts last', () => {
    const client: Side = { name: 'z-client', policy: uses('stock'), topics: [] };
    const stock: Side = { name: 'stock', policy: uses('price'), topics: ['stock'] };
    expect(pair(client, stock)).toEqual(['dial', 'peer-uses']);
    expect(dialers(client, stock)).toEqual(['z-client']);
  });

  it("connectTo 'all' on both sides: only the name sorting first dials", () => {
    expect(dialers({ name: 'b', policy: all, topics: [] }, { name: 'a', policy: all, topics: [] })).toEqual(['a']);
  });

  it("'all' against a uses member: the name sorting first when the member uses this node, else the 'all' side", () => {
    const everyone: Side = { name: 'b-all', policy: all, topics: ['t'] };
    expect(dialers(everyone, { name: 'a-uses', policy: uses('t'), topics: [] })).toEqual(['a-uses']);
    expect(dialers(everyone, { name: 'c-uses', policy: uses('t'), topics: [] })).toEqual(['b-all']);
    expect(dialers(everyone, { name: 'a-other', policy: uses('x'), topics: [] })).toEqual(['b-all']);
  });

  it('neither side uses the other: nobody dials', () => {
    expect(pair({ name: 'a', policy: uses('x'), topics: ['a'] }, { name: 'b', policy: uses('y'), topics: ['b'] })).toEqual([
      'none',
      'none',
    ]);
  });

  it('a member announcing no policy (older node) is dialed whenever this side uses it; it may dial too', () => {
    const old: Side = { name: 'a-old', policy: undefined, topics: ['stock'] };
    const client: Side = { name: 'b-client', policy: uses('stock'), topics: ['order'] };
    expect(dialDecision(self(client), member(old))).toBe('dial');
    // This side does not use the old member: the old one dials by its own rules.
    expect(dialDecision(self({ name: 'c', policy: uses('x'), topics: ['stock'] }), member(old))).toBe('none');
  });

  it('a member known only by its address (DNS) is dialed under every policy', () => {
    const address: Member = {
      id: '127.0.0.1:4000',
      name: undefined,
      instance: undefined,
      host: '127.0.0.1',
      port: 4000,
      topics: [],
      metadata: plainMetadata(undefined),
    };
    expect(dialDecision(self({ name: 'a', policy: all, topics: [] }), address)).toBe('dial');
    expect(dialDecision(self({ name: 'a', policy: uses('x'), topics: [] }), address)).toBe('dial');
  });

  it('a node that announced nothing (it does not listen) dials, since the member cannot dial it', () => {
    const watcher: Side = { name: 'z-watcher', policy: uses('stock'), topics: ['order'] };
    const stock: Side = { name: 'a-stock', policy: uses('order'), topics: ['stock'] };
    expect(dialDecision(self(watcher, false), member(stock))).toBe('dial');
    expect(dialDecision(self(watcher, true), member(stock))).toBe('peer-dials');
  });

  it('never dials itself, by name or by instance id', () => {
    const a: Side = { name: 'a', policy: all, topics: [] };
    expect(dialDecision(self(a), member(a))).toBe('self');
    expect(dialDecision(self(a), { ...member({ name: 'renamed', policy: all, topics: [] }), instance: 'a-instance' })).toBe('self');
  });

  it('every pair of policies leaves exactly one dialer when either side wants the pair, none when neither does', () => {
    const policies = [all, uses('p'), uses('q'), uses('p', 'q'), uses()];
    const topicSets = [[], ['p'], ['q'], ['p', 'q']];
    const sides: Side[] = [];
    for (const policy of policies) for (const topics of topicSets) sides.push({ name: `n${sides.length}`, policy, topics });
    let checked = 0;
    for (const a of sides) {
      for (const b of sides) {
        if (a === b) continue;
        const wants = policySelects(a.policy as DialPolicy, b.topics) || policySelects(b.policy as DialPolicy, a.topics);
        expect(dialers(a, b), `${JSON.stringify(a)} / ${JSON.stringify(b)}`).toHaveLength(wants ? 1 : 0);
        checked++;
      }
    }
    expect(checked).toBe(20 * 19);
  });

  it('with an older member (no announcement), the pair is dialed whenever either side wants it', () => {
    const policies = [all, uses('p'), uses('q'), uses()];
    const topicSets = [[], ['p'], ['q']];
    for (const newPolicy of policies) {
      for (const oldPolicy of policies) {
        for (const newTopics of topicSets) {
          for (const oldTopics of topicSets) {
            const fresh: Side = { name: 'b-new', policy: newPolicy, topics: newTopics };
            const old: Side = { name: 'a-old', policy: undefined, topics: oldTopics };
            // The older member dials whatever its own policy selects, as before.
            const oldDials = policySelects(oldPolicy, newTopics);
            const newDials = dialDecision(self(fresh), member(old)) === 'dial';
            const wants = oldDials || policySelects(newPolicy, oldTopics);
            expect(oldDials || newDials).toBe(wants);
          }
        }
      }
    }
  });
});

describe('announcedPolicy: the dial policy a member announces in its metadata', () => {
  it('reads back what policyMetadata writes', () => {
    expect(announcedPolicy(plainMetadata(policyMetadata(all)))).toEqual({ kind: 'all' });
    expect(announcedPolicy(plainMetadata(policyMetadata(uses('b', 'a, c'))))).toEqual({ kind: 'uses', uses: new Set(['a, c', 'b']) });
    expect(policyMetadata(uses('b', 'a'))).toEqual({ [CONNECT_TO_ALL_KEY]: 'uses', [USES_KEY]: '["a","b"]' });
  });

  it('takes a missing, unknown or malformed announcement as none (the member may dial; this side dials what it uses)', () => {
    const cases: Record<string, string>[] = [
      {},
      { [CONNECT_TO_ALL_KEY]: 'some' },
      { [CONNECT_TO_ALL_KEY]: 'uses' },
      { [CONNECT_TO_ALL_KEY]: 'uses', [USES_KEY]: 'stock' },
      { [CONNECT_TO_ALL_KEY]: 'uses', [USES_KEY]: '{"0":"stock"}' },
      { [CONNECT_TO_ALL_KEY]: 'uses', [USES_KEY]: '["stock",1]' },
    ];
    for (const metadata of cases) {
      expect(announcedPolicy(plainMetadata(metadata)), JSON.stringify(metadata)).toBeUndefined();
    }
  });

  it('never reads a policy from Object.prototype', () => {
    const metadata = Object.create({ [CONNECT_TO_ALL_KEY]: 'all' }) as Record<string, string>;
    expect(announcedPolicy(metadata)).toBeUndefined();
  });
});
