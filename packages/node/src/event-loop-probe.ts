import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Process figures of the process a node runs in. */
export interface ProcessDescription {
  pid: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  rssBytes: number;
  /** Event-loop delay since the previous read, ms. */
  eventLoopLagMs: { p50: number; p99: number; max: number };
}

/**
 * Event-loop delay sampling and memory figures for the current process, reset at every `read()`.
 * One probe serves any number of readers of one process (the dashboard link, `nodeMetrics`);
 * `stop()` ends the sampling.
 */
export class EventLoopProbe {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  /** The figures since the previous read (or since the probe was made), then starts a new interval. */
  read(): ProcessDescription {
    const h = this.histogram;
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - 10) : 0);
    const lag = h.count === 0 ? { p50: 0, p99: 0, max: 0 } : { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
    const memory = process.memoryUsage();
    return {
      pid: process.pid,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      rssBytes: memory.rss,
      eventLoopLagMs: lag,
    };
  }

  stop(): void {
    this.histogram.disable();
  }
}
