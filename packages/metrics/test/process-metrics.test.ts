import { afterEach, describe, expect, it } from 'vitest';
import { collectProcessMetrics, createRegistry, PROCESS_METRIC_NAMES, type ProcessMetrics } from '../src/index.js';
import { firstValue } from './snapshot-helpers.js';
import { validateExposition } from './exposition-validator.js';

const handles: ProcessMetrics[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.stop();
});

const value = firstValue;

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Block the event loop on purpose.
  }
}

describe('collectProcessMetrics', () => {
  it('reports heap, RSS and event-loop lag as finite numbers', () => {
    const r = createRegistry({ prefix: 'systemge_' });
    handles.push(collectProcessMetrics(r));
    const snap = r.snapshot();
    for (const name of Object.values(PROCESS_METRIC_NAMES)) {
      const v = value(snap, `systemge_${name}`);
      expect(typeof v, name).toBe('number');
      expect(Number.isFinite(v), name).toBe(true);
      expect(v as number).toBeGreaterThanOrEqual(0);
    }
    expect(value(snap, 'systemge_process_heap_used_bytes')).toBeGreaterThan(0);
    expect(value(snap, 'systemge_process_resident_memory_bytes')).toBeGreaterThan(0);
    validateExposition(r.toPrometheus());
  });

  it('sees a blocked event loop, then resets at the next read', async () => {
    const r = createRegistry();
    handles.push(collectProcessMetrics(r, { resolution: 5 }));
    r.snapshot();
    busyWait(80);
    // Let the monitor's overdue timer fire once after the block.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const blocked = r.snapshot();
    expect(value(blocked, PROCESS_METRIC_NAMES.eventLoopLagMax)).toBeGreaterThanOrEqual(40);
    const again = r.snapshot();
    expect(value(again, PROCESS_METRIC_NAMES.eventLoopLagMax)).toBeLessThan(40);
  });

  it('sees a block that starts between monitor ticks', async () => {
    const r = createRegistry();
    handles.push(collectProcessMetrics(r, { resolution: 5 }));
    r.snapshot();
    await new Promise((resolve) => setTimeout(resolve, 30));
    busyWait(80);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const lagMax = value(r.snapshot(), PROCESS_METRIC_NAMES.eventLoopLagMax) as number;
    expect(lagMax).toBeGreaterThanOrEqual(40);
    expect(lagMax).toBeLessThan(1000);
  });

  it('opens no handle that would keep the process alive', () => {
    const before = process.getActiveResourcesInfo().sort();
    const r = createRegistry();
    const h = collectProcessMetrics(r);
    r.snapshot();
    r.toPrometheus();
    expect(process.getActiveResourcesInfo().sort()).toEqual(before);
    h.stop();
    expect(process.getActiveResourcesInfo().sort()).toEqual(before);
  });

  it('stop() removes the metrics and may be called twice; collecting again works', () => {
    const r = createRegistry();
    const h = collectProcessMetrics(r);
    h.stop();
    h.stop();
    expect(r.toPrometheus()).toBe('');
    handles.push(collectProcessMetrics(r));
    expect(r.toPrometheus()).toContain(PROCESS_METRIC_NAMES.rss);
  });
});
