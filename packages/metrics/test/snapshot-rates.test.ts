import { describe, expect, it } from 'vitest';
import { createRegistry, type HistogramSnapshot } from '../src/index.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('snapshot', () => {
  it('computes counter rates per second over the interval since the previous snapshot', () => {
    const c = clock();
    const r = createRegistry({ now: c.now, constLabels: { node: 'alpha' } });
    const sent = r.counter('messages_sent_total', 'Sent.');

    sent.inc(10);
    c.advance(2000);
    const first = r.snapshot();
    expect(first.timestamp).toBe(1_002_000);
    expect(first.intervalMs).toBe(2000);
    expect(first.constLabels).toEqual({ node: 'alpha' });
    expect(first.metrics.messages_sent_total).toEqual({
      type: 'counter',
      help: 'Sent.',
      series: [{ labels: {}, value: 10, rate: 5 }],
    });

    sent.inc(3);
    c.advance(500);
    const second = r.snapshot();
    expect(second.intervalMs).toBe(500);
    expect(second.metrics.messages_sent_total?.series[0]).toEqual({ labels: {}, value: 13, rate: 6 });
  });

  it('gives rate 0 for an empty interval instead of dividing by zero', () => {
    const c = clock();
    const r = createRegistry({ now: c.now });
    r.counter('x_total', 'X.').inc(5);
    r.snapshot();
    const again = r.snapshot();
    expect(again.intervalMs).toBe(0);
    expect(again.metrics.x_total?.series[0]).toMatchObject({ value: 5, rate: 0 });
  });

  it('does not let toPrometheus() move the snapshot interval', () => {
    const c = clock();
    const r = createRegistry({ now: c.now });
    const x = r.counter('x_total', 'X.');
    x.inc(4);
    c.advance(1000);
    r.toPrometheus();
    c.advance(1000);
    expect(r.snapshot().metrics.x_total?.series[0]).toMatchObject({ value: 4, rate: 2 });
  });

  it('reports histogram count rate and quantiles of the last interval next to cumulative ones', () => {
    const c = clock();
    const r = createRegistry({ now: c.now });
    const h = r.histogram('sync_latency_ms', 'Sync latency.', { buckets: [1, 10, 100, 1000] });

    for (let i = 0; i < 100; i++) h.observe(0.5);
    c.advance(1000);
    const first = r.snapshot().metrics.sync_latency_ms as HistogramSnapshot;
    expect(first.buckets).toEqual([1, 10, 100, 1000]);
    expect(first.series[0]).toMatchObject({ count: 100, rate: 100, interval: { count: 100 } });
    expect(first.series[0]?.p99).toBeLessThanOrEqual(1);

    for (let i = 0; i < 50; i++) h.observe(500);
    c.advance(2000);
    const s = (r.snapshot().metrics.sync_latency_ms as HistogramSnapshot).series[0]!;
    expect(s.count).toBe(150);
    expect(s.sum).toBe(50 + 25_000);
    expect(s.rate).toBe(25);
    expect(s.interval.count).toBe(50);
    expect(s.interval.sum).toBe(25_000);
    // The last interval saw only ~500 ms values; cumulatively two thirds were 0.5 ms.
    expect(s.interval.p50).toBeGreaterThan(100);
    expect(s.interval.p50).toBeLessThanOrEqual(1000);
    expect(s.interval.p99).toBeGreaterThan(100);
    expect(s.p50).toBeLessThanOrEqual(1);
    expect(s.p99).toBeGreaterThan(100);

    c.advance(1000);
    const idle = (r.snapshot().metrics.sync_latency_ms as HistogramSnapshot).series[0]!;
    expect(idle.rate).toBe(0);
    expect(idle.interval).toEqual({ count: 0, sum: 0, p50: null, p90: null, p99: null });
    expect(idle.count).toBe(150);
  });

  it('survives a JSON round trip unchanged', () => {
    const c = clock();
    const r = createRegistry({ now: c.now, prefix: 'systemge_' });
    r.counterFamily('bytes_sent_total', 'B.', ['kind']).labels('async').inc(100);
    r.gauge('connections', 'C.').set(3);
    r.histogram('lag_ms', 'L.', { buckets: [1, 2] });
    c.advance(1000);
    const snap = r.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(Object.keys(snap.metrics)).toEqual([
      'systemge_metrics_series_overflow_total',
      'systemge_bytes_sent_total',
      'systemge_connections',
      'systemge_lag_ms',
    ]);
  });
});
