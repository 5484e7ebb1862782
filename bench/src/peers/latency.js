/** Latency samples of one measurement window, ms; percentiles by sorting once at the end. */
export class LatencyRecorder {
  constructor() {
    this.samples = new Float64Array(1 << 16);
    this.count = 0;
  }

  add(ms) {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = ms;
  }

  reset() {
    this.count = 0;
  }

  /** `{ p50, p99 }` in ms, or undefined without samples. */
  percentiles() {
    if (this.count === 0) return undefined;
    const sorted = this.samples.slice(0, this.count).sort();
    const at = (q) => sorted[Math.min(this.count - 1, Math.floor(q * this.count))];
    return { p50: at(0.5), p99: at(0.99) };
  }
}
