import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { InvalidMetricOptionError } from './errors.js';
import type { Registry } from './registry.js';

/** Options of `collectProcessMetrics`. */
export interface ProcessMetricsOptions {
  /** Sampling interval of the event-loop delay monitor, ms. Default 10. */
  resolution?: number;
}

/** Handle returned by `collectProcessMetrics`. */
export interface ProcessMetrics {
  /** Stops the event-loop monitor and removes the process metrics from the registry. Idempotent. */
  stop(): void;
}

/** Names (before the registry prefix) of the gauges that `collectProcessMetrics` registers. */
export const PROCESS_METRIC_NAMES = Object.freeze({
  eventLoopLagP50: 'process_event_loop_lag_p50_ms',
  eventLoopLagP99: 'process_event_loop_lag_p99_ms',
  eventLoopLagMax: 'process_event_loop_lag_max_ms',
  heapUsed: 'process_heap_used_bytes',
  heapTotal: 'process_heap_total_bytes',
  rss: 'process_resident_memory_bytes',
} as const);

const NS_PER_MS = 1e6;

/**
 * Adds process gauges to `registry`: event-loop lag p50/p99/max in ms over
 * the interval since the previous read of the registry (the monitor is reset
 * at each read), V8 heap used/total and resident set size in bytes. Lag is
 * how late the monitor's timer fired, i.e. measured delay minus `resolution`.
 * Values are taken when the registry is read; the monitor's timer is
 * unreferenced, so nothing here keeps the process alive.
 */
export function collectProcessMetrics(registry: Registry, options: ProcessMetricsOptions = {}): ProcessMetrics {
  const resolution = options.resolution ?? 10;
  if (!(Number.isInteger(resolution) && resolution >= 1)) {
    throw new InvalidMetricOptionError('resolution', resolution, 'an integer >= 1 (ms)');
  }
  const n = PROCESS_METRIC_NAMES;
  const p50 = registry.gauge(n.eventLoopLagP50, 'Event-loop lag median since the previous read, ms.');
  const p99 = registry.gauge(n.eventLoopLagP99, 'Event-loop lag 99th percentile since the previous read, ms.');
  const max = registry.gauge(n.eventLoopLagMax, 'Event-loop lag maximum since the previous read, ms.');
  const heapUsed = registry.gauge(n.heapUsed, 'V8 heap in use, bytes.');
  const heapTotal = registry.gauge(n.heapTotal, 'V8 heap allocated, bytes.');
  const rss = registry.gauge(n.rss, 'Resident set size, bytes.');

  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution });
  delay.enable();
  let lastRead = performance.now();
  const lag = (delayNs: number): number => Math.max(0, delayNs / NS_PER_MS - resolution);

  const removeCollector = registry.addCollector(() => {
    const now = performance.now();
    const elapsed = now - lastRead;
    lastRead = now;
    const count = delay.count;
    // reset() makes the monitor drop the one tick interval that spans a read, so
    // a block right after a read would go unseen. The time its recorded ticks do
    // not cover (at most ~2 resolutions when idle) reveals such a block.
    const recorded = count > 0 ? (delay.mean * count) / NS_PER_MS : 0;
    const uncovered = Math.max(0, elapsed - recorded - 2 * resolution);
    if (count > 0) {
      p50.set(lag(delay.percentile(50)));
      p99.set(lag(delay.percentile(99)));
      max.set(Math.max(lag(delay.max), uncovered));
    } else {
      p50.set(0);
      p99.set(0);
      max.set(uncovered);
    }
    delay.reset();
    const memory = process.memoryUsage();
    heapUsed.set(memory.heapUsed);
    heapTotal.set(memory.heapTotal);
    rss.set(memory.rss);
  });

  let stopped = false;
  return {
    stop(): void {
      if (stopped) return;
      stopped = true;
      delay.disable();
      removeCollector();
      for (const name of Object.values(n)) registry.unregister(name);
    },
  };
}
