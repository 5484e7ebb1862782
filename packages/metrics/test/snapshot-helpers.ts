import type { CounterSeriesSnapshot, GaugeSeriesSnapshot, MetricsSnapshot } from '../src/index.js';

/** Series of a counter or gauge in a snapshot; throws for a histogram or a missing metric. */
export function scalarSeries(snapshot: MetricsSnapshot, name: string): (CounterSeriesSnapshot | GaugeSeriesSnapshot)[] {
  const metric = snapshot.metrics[name];
  if (metric === undefined) throw new Error(`no metric ${name} in snapshot`);
  if (metric.type === 'histogram') throw new Error(`${name} is a histogram`);
  return metric.series;
}

/** Value of the first series of a counter or gauge. */
export function firstValue(snapshot: MetricsSnapshot, name: string): number | null | undefined {
  return scalarSeries(snapshot, name)[0]?.value;
}
