import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EventLoopProbe } from '../src/index.js';

/** Keeps the event loop busy for `ms`. */
function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

/** Lets the probe's timer run late after a block, so the delay is sampled. */
async function sampled(): Promise<void> {
  await delay(30);
}

describe('EventLoopProbe', () => {
  it('reports a blocked event loop as lag, with the process memory figures', async () => {
    const probe = new EventLoopProbe();
    try {
      await sampled();
      block(250);
      await sampled();
      const reading = probe.read();
      expect(reading.pid).toBe(process.pid);
      expect(reading.heapUsedBytes).toBeGreaterThan(0);
      expect(reading.heapTotalBytes).toBeGreaterThanOrEqual(reading.heapUsedBytes);
      expect(reading.rssBytes).toBeGreaterThan(0);
      expect(reading.eventLoopLagMs.max).toBeGreaterThanOrEqual(150);
      expect(reading.eventLoopLagMs.p50).toBeLessThanOrEqual(reading.eventLoopLagMs.max);
    } finally {
      probe.stop();
    }
  });

  it('starts a new interval at every read', async () => {
    const probe = new EventLoopProbe();
    try {
      block(100);
      await sampled();
      expect(probe.read().eventLoopLagMs.max).toBeGreaterThan(0);
      expect(probe.read().eventLoopLagMs).toEqual({ p50: 0, p99: 0, max: 0 });
    } finally {
      probe.stop();
    }
  });

  it('samples nothing once stopped', async () => {
    const probe = new EventLoopProbe();
    probe.stop();
    block(100);
    await sampled();
    expect(probe.read().eventLoopLagMs).toEqual({ p50: 0, p99: 0, max: 0 });
  });
});
