/**
 * The longest delay a Node.js timer can wait, ms (2^31 - 1, about 24.8 days). A longer delay, or a
 * non-finite one, makes `setTimeout` fire after 1 ms instead, so every duration option is checked
 * against it.
 */
export const MAX_TIMER_MS = 0x7fff_ffff;

/** A delay that is always safe to hand to `setTimeout`: clamped to 0..MAX_TIMER_MS. */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}

/** Why `value` is not a valid duration from `min` to MAX_TIMER_MS ms, or undefined when it is. */
export function invalidDuration(value: unknown, min: number): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    const shown = typeof value === 'number' ? String(value) : typeof value;
    return `expected an integer from ${min} to ${MAX_TIMER_MS} ms (the Node.js timer maximum), got ${shown}`;
  }
  return undefined;
}
