import { describe, expect, it } from 'vitest';
import { Balancer, rendezvousScore } from '../../src/messaging/balancer.js';

const peers = (...names: string[]) => names.map((name) => ({ name }));
const count = (picks: (string | undefined)[]) => {
  const out: Record<string, number> = {};
  for (const p of picks) out[String(p)] = (out[String(p)] ?? 0) + 1;
  return out;
};

/** A balancer over open-request counts kept here, as the node keeps them in its pending sync requests. */
function counting() {
  const open = new Map<string, number>();
  const b = new Balancer(Math.random, (name) => open.get(name) ?? 0);
  return Object.assign(b, {
    opened: (name: string) => open.set(name, (open.get(name) ?? 0) + 1),
    closed: (name: string) => open.set(name, (open.get(name) ?? 0) - 1),
  });
}

describe('Balancer', () => {
  it('round-robin takes the peers in turn, per topic, and skips excluded ones', () => {
    const b = new Balancer();
    const four = peers('a', 'b', 'c', 'd');
    expect(Array.from({ length: 8 }, () => b.pick('t', four, { strategy: 'round-robin' })?.name)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'a',
      'b',
      'c',
      'd',
    ]);
    // Another topic has its own turn; an async topic of the same name too.
    expect(b.pick('u', four, { strategy: 'round-robin' })?.name).toBe('a');
    expect(b.pick('t', four, { strategy: 'round-robin', async: true })?.name).toBe('a');
    expect(b.pick('t', four, { strategy: 'round-robin' })?.name).toBe('a');
    expect(new Balancer().pick('t', four, { strategy: 'round-robin', exclude: new Set(['a']) })?.name).toBe('b');
    expect(b.pick('t', four, { strategy: 'round-robin', exclude: new Set(['a', 'b', 'c', 'd']) })).toBeUndefined();
    expect(b.pick('t', [], { strategy: 'round-robin' })).toBeUndefined();
  });

  it('round-robin stays even while the peer list changes size', () => {
    const b = new Balancer();
    const picks: string[] = [];
    for (let i = 0; i < 300; i++) picks.push(b.pick('t', peers('a', 'b', 'c'), { strategy: 'round-robin' })?.name as string);
    expect(count(picks)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it('random picks by the random source given', () => {
    const values = [0, 0.24, 0.25, 0.999999];
    const b = new Balancer(() => values.shift() ?? 0);
    const four = peers('a', 'b', 'c', 'd');
    expect(Array.from({ length: 4 }, () => b.pick('t', four, { strategy: 'random' })?.name)).toEqual(['a', 'a', 'b', 'd']);
  });

  it('least-pending picks the peer with the fewest open requests, ties in turn', () => {
    const b = counting();
    const three = peers('a', 'b', 'c');
    b.opened('a');
    b.opened('a');
    b.opened('b');
    expect(b.pick('t', three, { strategy: 'least-pending' })?.name).toBe('c');
    b.opened('c');
    b.opened('c');
    expect(b.pick('t', three, { strategy: 'least-pending' })?.name).toBe('b');
    b.closed('a');
    b.closed('a');
    expect(b.pending('a')).toBe(0);
    expect(b.pick('t', three, { strategy: 'least-pending' })?.name).toBe('a');
    // All equal: in turn.
    const idle = new Balancer();
    expect(Array.from({ length: 6 }, () => idle.pick('t', three, { strategy: 'least-pending' })?.name)).toEqual([
      'a',
      'b',
      'c',
      'a',
      'b',
      'c',
    ]);
  });

  it('least-pending sends less to a peer that answers slowly (simulated in steps)', () => {
    const b = counting();
    const four = peers('fast1', 'fast2', 'fast3', 'slow');
    // Each step: 8 requests go out; fast peers finish theirs within the step, the slow one after 10 steps.
    const sent: Record<string, number> = { fast1: 0, fast2: 0, fast3: 0, slow: 0 };
    const slowDone: number[] = [];
    for (let step = 0; step < 1000; step++) {
      const fastOpen: string[] = [];
      for (let i = 0; i < 8; i++) {
        const name = b.pick('t', four, { strategy: 'least-pending' })?.name as string;
        b.opened(name);
        sent[name] = (sent[name] as number) + 1;
        if (name === 'slow') slowDone.push(step + 10);
        else fastOpen.push(name);
      }
      for (const name of fastOpen) b.closed(name);
      while (slowDone.length > 0 && (slowDone[0] as number) <= step) {
        slowDone.shift();
        b.closed('slow');
      }
    }
    expect(sent.slow).toBeLessThan((sent.fast1 as number) / 2);
    expect((sent.fast1 as number) + (sent.fast2 as number) + (sent.fast3 as number) + (sent.slow as number)).toBe(8000);
  });

  it('key affinity keeps a key on one peer and moves only the keys of a peer that left', () => {
    const b = new Balancer();
    const four = peers('r0', 'r1', 'r2', 'r3');
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const before = new Map(keys.map((k) => [k, b.pick('t', four, { strategy: 'key', key: k })?.name]));
    for (const k of keys) expect(b.pick('t', [...four].reverse(), { strategy: 'key', key: k })?.name).toBe(before.get(k));
    const spread = count([...before.values()]);
    for (const name of ['r0', 'r1', 'r2', 'r3']) expect(spread[name]).toBeGreaterThan(400);
    const without = peers('r0', 'r1', 'r3');
    let moved = 0;
    for (const k of keys) {
      const after = b.pick('t', without, { strategy: 'key', key: k })?.name;
      if (before.get(k) === 'r2') {
        moved++;
        expect(after).not.toBe('r2');
      } else expect(after).toBe(before.get(k));
    }
    expect(moved).toBe(spread.r2);
    // An excluded peer (already tried) is treated like one that left.
    const k = keys.find((key) => before.get(key) === 'r2') as string;
    expect(b.pick('t', four, { strategy: 'key', key: k, exclude: new Set(['r2']) })?.name).toBe(
      b.pick('t', without, { strategy: 'key', key: k })?.name,
    );
  });

  it('rendezvous scores separate key from name', () => {
    expect(rendezvousScore('ab', 'c')).not.toBe(rendezvousScore('a', 'bc'));
    expect(rendezvousScore('k', 'n')).toBe(rendezvousScore('k', 'n'));
  });
});
