import { Histogram, type MetricValueWithName, type Registry } from 'prom-client';

/** A histogram whose buckets are the node's own per-bucket counts, read at scrape time. */
export class NodeHistogram extends Histogram<string> {
  constructor(
    private readonly metricName: string,
    private readonly helpText: string,
    private readonly bounds: readonly number[],
    private readonly rows: () => Iterable<readonly [node: string, buckets: readonly number[], sum: number, count: number]>,
    registry: Registry,
  ) {
    super({ name: metricName, help: helpText, labelNames: ['node'], buckets: [...bounds], registers: [registry] });
  }

  private values(): MetricValueWithName<string>[] {
    const out: MetricValueWithName<string>[] = [];
    for (const [node, buckets, sum, count] of this.rows()) {
      if (buckets.length !== this.bounds.length + 1) continue;
      let acc = 0;
      this.bounds.forEach((bound, i) => {
        acc += buckets[i] ?? 0;
        out.push({ metricName: `${this.metricName}_bucket`, labels: { node, le: bound }, value: acc });
      });
      out.push({ metricName: `${this.metricName}_bucket`, labels: { node, le: '+Inf' }, value: count });
      out.push({ metricName: `${this.metricName}_sum`, labels: { node }, value: sum });
      out.push({ metricName: `${this.metricName}_count`, labels: { node }, value: count });
    }
    return out;
  }

  /** Used for the text exposition. */
  getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: MetricValueWithName<string>[]; aggregator: 'sum' }> {
    return Promise.resolve({ name: this.metricName, help: this.helpText, type: 'histogram', values: this.values(), aggregator: 'sum' });
  }

  override get(): ReturnType<Histogram<string>['get']> {
    return this.getForPromString() as unknown as ReturnType<Histogram<string>['get']>;
  }
}
