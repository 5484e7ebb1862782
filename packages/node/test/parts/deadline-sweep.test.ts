import { describe, expect, it } from 'vitest';
import { DeadlineSweep, type Expiring, SWEEP_RESOLUTION_MS, smallInteger } from '../../src/messaging/deadline-sweep.js';
import { FakeClock } from './fakes.js';

interface Item extends Expiring {
  id: number;
  expiredAt: number | undefined;
}

function setup() {
  const clock = new FakeClock();
  const sweep = new DeadlineSweep(clock);
  const t0 = clock.now();
  const expired: Item[] = [];
  const item = (id: number): Item => {
    const it: Item = {
      id,
      sweepIndex: -1,
      sweepAt: 0,
      expiredAt: undefined,
      expire() {
        if (it.expiredAt !== undefined) throw new Error(`item ${id} expired twice`);
        it.expiredAt = clock.now();
        expired.push(it);
      },
    };
    return it;
  };
  return { clock, sweep, t0, expired, item };
}

describe('DeadlineSweep (one timer for every deadline, on a fake clock)', () => {
  it('expires a lone item exactly at its deadline, not a millisecond before', async () => {
    const s = setup();
    const a = s.item(1);
    s.sweep.add(a, s.t0 + 500);
    await s.clock.advance(499);
    expect(a.expiredAt).toBeUndefined();
    await s.clock.advance(1);
    expect(a.expiredAt).toBe(s.t0 + 500);
    expect(s.sweep.size).toBe(0);
    expect(s.clock.pending).toBe(0);
  });

  it("keeps each deadline as a small integer counted from the sweep's start (no boxed clock time per item)", () => {
    const s = setup();
    const a = s.item(1);
    s.sweep.add(a, s.t0 + 5000);
    expect(a.sweepAt).toBe(5000);
    expect(s.sweep.deadlineOf(a)).toBe(s.t0 + 5000);
  });

  it('smallInteger changes no value: integers in the int32 range come back equal, anything else as it was', () => {
    for (const n of [0, 1, -1, 5000, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2 ** 40), 1.5, -0.25, Number.MAX_SAFE_INTEGER]) {
      expect(smallInteger(n)).toBe(n);
    }
    expect(smallInteger(1795818895747 - 1795818890747)).toBe(5000);
    expect(smallInteger(Number.NaN)).toBeNaN();
    expect(smallInteger(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });

  it('never expires early and at most the resolution late, with one timer however many items', async () => {
    const s = setup();
    const items = Array.from({ length: 500 }, (_, i) => s.item(i));
    // Deadlines spread over 0..249 ms after t0 + 100, added in a scrambled order.
    for (const it of items) s.sweep.add(it, s.t0 + 100 + ((it.id * 37) % 250));
    expect(s.clock.pending).toBe(1);
    await s.clock.advance(400);
    expect(s.expired).toHaveLength(500);
    for (const it of items) {
      const late = (it.expiredAt as number) - s.sweep.deadlineOf(it);
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThanOrEqual(SWEEP_RESOLUTION_MS);
    }
    // Coalesced: far fewer timer firings than distinct deadlines (250).
    const firings = new Set(items.map((it) => it.expiredAt)).size;
    expect(firings).toBeLessThanOrEqual(Math.ceil(250 / SWEEP_RESOLUTION_MS) + 1);
    expect(s.clock.pending).toBe(0);
  });

  it('re-arms for a deadline well before the armed one, and not for one within the resolution', () => {
    const s = setup();
    s.sweep.add(s.item(1), s.t0 + 1000);
    expect(s.clock.delays()).toEqual([1000]);
    s.sweep.add(s.item(2), s.t0 + 995);
    expect(s.clock.delays()).toEqual([1000]);
    s.sweep.add(s.item(3), s.t0 + 200);
    expect(s.clock.delays()).toEqual([200]);
  });

  it('a removed item never expires; removing from the middle keeps the order of the rest', async () => {
    const s = setup();
    const items = Array.from({ length: 200 }, (_, i) => s.item(i));
    for (const it of items) s.sweep.add(it, s.t0 + 1 + ((it.id * 7919) % 1000));
    const removed = items.filter((it) => it.id % 3 === 0);
    for (const it of removed) s.sweep.remove(it);
    s.sweep.remove(removed[0] as Item); // twice: nothing happens
    expect(s.sweep.size).toBe(200 - removed.length);
    await s.clock.advance(1100);
    expect(removed.every((it) => it.expiredAt === undefined)).toBe(true);
    const kept = s.expired;
    expect(kept).toHaveLength(200 - removed.length);
    for (let i = 1; i < kept.length; i++) {
      expect((kept[i] as Item).sweepAt).toBeGreaterThanOrEqual((kept[i - 1] as Item).sweepAt);
    }
  });

  it('the timer outlives the last removal once (one timer per span, not per item), then stops', async () => {
    const s = setup();
    for (let i = 0; i < 50; i++) {
      const it = s.item(i);
      s.sweep.add(it, s.clock.now() + 1000);
      await s.clock.advance(1);
      s.sweep.remove(it);
    }
    expect(s.clock.pending).toBe(1);
    await s.clock.advance(1000);
    expect(s.expired).toHaveLength(0);
    expect(s.clock.pending).toBe(0);
    expect(s.sweep.armed).toBe(false);
  });

  it('an item added while expiring others is scheduled, and clear() drops everything and the timer', async () => {
    const s = setup();
    const late = s.item(2);
    const first = s.item(1);
    first.expire = () => {
      first.expiredAt = s.clock.now();
      s.sweep.add(late, s.clock.now() + 300);
    };
    s.sweep.add(first, s.t0 + 100);
    await s.clock.advance(100);
    expect(first.expiredAt).toBe(s.t0 + 100);
    expect(s.sweep.size).toBe(1);
    await s.clock.advance(300);
    expect(late.expiredAt).toBe(s.t0 + 400);

    s.sweep.add(s.item(3), s.clock.now() + 10);
    s.sweep.clear();
    expect(s.sweep.size).toBe(0);
    expect(s.clock.pending).toBe(0);
    await s.clock.advance(100);
    expect(s.expired.map((it) => it.id)).toEqual([2]);
  });
});
