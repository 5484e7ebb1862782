import type { Series } from './family.js';
import { formatValue } from './prometheus.js';
import type { CounterSeriesSnapshot } from './snapshot.js';

/** A value that only goes up. */
export interface Counter {
  /**
   * Adds `n` (default 1). Counters never go down: a negative, NaN or infinite
   * `n` is ignored rather than thrown, so instrumentation cannot break a handler.
   */
  inc(n?: number): void;
  /** Total since creation. */
  readonly value: number;
}

export class CounterSeries implements Counter, Series {
  value = 0;
  private prev = 0;

  constructor(
    private readonly labelBlock: string,
    readonly labels: Readonly<Record<string, string>>,
  ) {}

  inc(n = 1): void {
    if (n > 0 && n !== Infinity) this.value += n;
  }

  render(name: string): string {
    return `${name}${this.labelBlock} ${formatValue(this.value)}\n`;
  }

  snapshot(seconds: number): CounterSeriesSnapshot {
    const value = this.value;
    const rate = seconds > 0 ? (value - this.prev) / seconds : 0;
    this.prev = value;
    return { labels: this.labels, value, rate };
  }
}
