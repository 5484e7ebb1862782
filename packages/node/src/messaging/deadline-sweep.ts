import type { Clock, TimerHandle } from '../context.js';

/**
 * Something with a deadline. `sweepIndex` and `sweepAt` are the sweep's bookkeeping: `sweepIndex` is
 * -1 while not scheduled; `sweepAt` is the deadline in ms since the sweep was made (a small integer,
 * which V8 keeps in the field itself, where a clock time of ~1.8e12 would be a boxed double per item).
 */
export interface Expiring {
  sweepIndex: number;
  sweepAt: number;
  /** Called once, at the deadline or up to `resolutionMs` after it. */
  expire(): void;
}

/** How late a deadline may fire, ms: timers are coalesced within this window. */
export const SWEEP_RESOLUTION_MS = 10;

/**
 * Deadlines of many items on ONE timer of the clock: a binary min-heap of the items (each knows
 * its place, so removal is O(log n) and allocates nothing) and one timer armed for the earliest.
 *
 * Precision: an item expires at its deadline or up to `resolutionMs` later (plus event-loop lag).
 * The timer is re-armed only for a deadline more than `resolutionMs` earlier than the armed one, and
 * after a sweep it waits at least `resolutionMs`, so at most one timer runs per `resolutionMs` however
 * many items there are. Removing the last item does not clear the timer (it fires once, finds nothing,
 * and stops): a caller adding and removing items one at a time creates one timer per deadline span,
 * not one per item. `clear()` drops everything and the timer.
 */
export class DeadlineSweep {
  private readonly clock: Clock;
  private readonly resolutionMs: number;
  private readonly heap: Expiring[] = [];
  /** Clock time that `sweepAt` values count from. */
  private readonly epoch: number;
  private timer: TimerHandle | undefined;
  private armedAt = 0;
  private readonly onTimer = (): void => this.sweep();

  constructor(clock: Clock, resolutionMs = SWEEP_RESOLUTION_MS) {
    this.clock = clock;
    this.resolutionMs = resolutionMs;
    this.epoch = clock.now();
  }

  /** Items waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** Whether the sweep's timer is armed (a fired or cleared timer is not). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Schedules `item` to expire at clock time `deadline` (epoch ms). The item must not be scheduled already. */
  add(item: Expiring, deadline: number): void {
    const at = smallInteger(deadline - this.epoch);
    item.sweepAt = at;
    item.sweepIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.sweepIndex);
    if (this.timer === undefined) this.arm(at);
    else if (at < this.armedAt - this.resolutionMs) {
      this.clock.clearTimeout(this.timer);
      this.arm(at);
    }
  }

  /** The clock time (epoch ms) `item` is scheduled to expire at. */
  deadlineOf(item: Expiring): number {
    return this.epoch + item.sweepAt;
  }

  /** Unschedules `item`; nothing happens when it is not scheduled. */
  remove(item: Expiring): void {
    const i = item.sweepIndex;
    if (i < 0) return;
    item.sweepIndex = -1;
    const last = this.heap.pop() as Expiring;
    if (last === item) return;
    this.heap[i] = last;
    last.sweepIndex = i;
    if (i > 0 && last.sweepAt < (this.heap[(i - 1) >> 1] as Expiring).sweepAt) this.up(i);
    else this.down(i);
  }

  /** Unschedules every item (none expires) and stops the timer. */
  clear(): void {
    for (const item of this.heap) item.sweepIndex = -1;
    this.heap.length = 0;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Arms the timer for `at` (ms since the epoch, as `sweepAt`). */
  private arm(at: number): void {
    this.armedAt = at;
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(0, at - (this.clock.now() - this.epoch)));
  }

  private sweep(): void {
    this.timer = undefined;
    const now = this.clock.now() - this.epoch;
    const heap = this.heap;
    while (heap.length > 0 && (heap[0] as Expiring).sweepAt <= now) {
      const item = heap[0] as Expiring;
      this.remove(item);
      item.expire();
    }
    // An expire() may have added items (and armed the timer).
    if (heap.length > 0 && this.timer === undefined) {
      this.arm(Math.max((heap[0] as Expiring).sweepAt, now + this.resolutionMs));
    }
  }

  private up(i: number): void {
    const heap = this.heap;
    const item = heap[i] as Expiring;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Expiring;
      if (parent.sweepAt <= item.sweepAt) break;
      heap[i] = parent;
      parent.sweepIndex = i;
      i = p;
    }
    heap[i] = item;
    item.sweepIndex = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i] as Expiring;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (heap[r] as Expiring).sweepAt < (heap[l] as Expiring).sweepAt ? r : l;
      const child = heap[c] as Expiring;
      if (child.sweepAt >= item.sweepAt) break;
      heap[i] = child;
      child.sweepIndex = i;
      i = c;
    }
    heap[i] = item;
    item.sweepIndex = i;
  }
}

/**
 * `n` itself, as a small integer (V8's Smi, stored in a field without a box) when it is an integer
 * in the int32 range: a difference of two clock times is a boxed double even when it is integral,
 * and one such value stored makes the field a boxed double for every object of its shape.
 */
export function smallInteger(n: number): number {
  return Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff ? n | 0 : n;
}
