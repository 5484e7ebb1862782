import type { Series } from './family.js';
import { formatValue } from './prometheus.js';
import type { GaugeSeriesSnapshot } from './snapshot.js';

/** A value that goes up and down. */
export interface Gauge {
  /** Sets the value. */
  set(value: number): void;
  /** Adds `n` (default 1). */
  inc(n?: number): void;
  /** Subtracts `n` (default 1). */
  dec(n?: number): void;
  /** The value last set, or last returned by the collect callback at the previous read. */
  readonly value: number;
}

export class GaugeSeries implements Gauge, Series {
  value = 0;

  constructor(
    private readonly labelBlock: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly collect: (() => number) | undefined,
  ) {}

  set(value: number): void {
    this.value = value;
  }

  inc(n = 1): void {
    this.value += n;
  }

  dec(n = 1): void {
    this.value -= n;
  }

  render(name: string): string {
    return `${name}${this.labelBlock} ${formatValue(this.read())}\n`;
  }

  snapshot(): GaugeSeriesSnapshot {
    const value = this.read();
    return { labels: this.labels, value: Number.isFinite(value) ? value : null };
  }

  private read(): number {
    if (this.collect !== undefined) {
      try {
        this.value = Number(this.collect());
      } catch {
        // A failing callback must not break the whole exposition; NaN shows it failed.
        this.value = NaN;
      }
    }
    return this.value;
  }
}
