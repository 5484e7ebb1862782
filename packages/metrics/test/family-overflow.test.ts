import { describe, expect, it } from 'vitest';
import { createRegistry, LabelCountError, OVERFLOW_LABEL_VALUE } from '../src/index.js';
import { firstValue, scalarSeries } from './snapshot-helpers.js';

describe('labeled family', () => {
  it('returns the same cached child for the same label values', () => {
    const f = createRegistry().counterFamily('messages_received_total', 'Messages.', ['topic']);
    const chat = f.labels('chat');
    expect(f.labels('chat')).toBe(chat);
    expect(f.labels('news')).not.toBe(chat);
    chat.inc();
    f.labels('chat').inc(2);
    expect(chat.value).toBe(3);
  });

  it('keeps label combinations apart even when values contain would-be separators', () => {
    const f = createRegistry().counterFamily('pairs_total', 'Pairs.', ['a', 'b']);
    const x = f.labels('a\u0000b', 'c');
    const y = f.labels('a', 'b\u0000c');
    const z = f.labels('1:a', '');
    const w = f.labels('', '1:a');
    expect(new Set([x, y, z, w]).size).toBe(4);
  });

  it('collapses new label values past maxSeries into __other__ and counts the overflow', () => {
    const r = createRegistry({ prefix: 'systemge_' });
    const f = r.counterFamily('messages_received_total', 'Messages.', ['topic'], { maxSeries: 2 });
    const a = f.labels('a');
    const b = f.labels('b');
    const c = f.labels('c');
    const d = f.labels('d');
    expect(c).toBe(d);
    expect(c).not.toBe(a);
    a.inc();
    b.inc();
    c.inc(5);
    d.inc();
    // Existing children stay reachable after the family is full.
    expect(f.labels('a')).toBe(a);

    const snap = r.snapshot();
    expect(scalarSeries(snap, 'systemge_messages_received_total').map((s) => [s.labels, s.value])).toEqual([
      [{ topic: 'a' }, 1],
      [{ topic: 'b' }, 1],
      [{ topic: OVERFLOW_LABEL_VALUE }, 6],
    ]);
    expect(snap.metrics.systemge_metrics_series_overflow_total?.series).toEqual([
      { labels: { metric: 'systemge_messages_received_total' }, value: 2, rate: expect.any(Number) },
    ]);
    expect(r.toPrometheus()).toContain('systemge_messages_received_total{topic="__other__"} 6\n');
  });

  it('maps an explicit __other__ to the overflow series without taking a slot or counting overflow', () => {
    const r = createRegistry();
    const f = r.counterFamily('m_total', 'M.', ['topic'], { maxSeries: 1 });
    const other = f.labels(OVERFLOW_LABEL_VALUE);
    const a = f.labels('a');
    expect(a).not.toBe(other);
    expect(f.labels('b')).toBe(other);
    expect(firstValue(r.snapshot(), 'metrics_series_overflow_total')).toBe(1);
  });

  it('overflows every label of a multi-label family together', () => {
    const r = createRegistry();
    const f = r.histogramFamily('latency_ms', 'L.', ['kind', 'topic'], { maxSeries: 1, buckets: [1] });
    f.labels('sync', 'a').observe(1);
    f.labels('async', 'b').observe(2);
    expect(r.toPrometheus()).toContain('latency_ms_count{kind="__other__",topic="__other__"} 1\n');
  });

  it('frees a slot when a child is removed', () => {
    const f = createRegistry().gaugeFamily('group_members', 'G.', ['group'], { maxSeries: 1 });
    const a = f.labels('a');
    expect(f.remove('a')).toBe(true);
    expect(f.remove('a')).toBe(false);
    const b = f.labels('b');
    expect(b.value).toBe(0);
    expect(b).not.toBe(a);
    expect(f.labels('c')).not.toBe(b);
  });

  it('throws LabelCountError when the number of values is wrong', () => {
    const f = createRegistry().counterFamily('m_total', 'M.', ['a', 'b']);
    expect(() => f.labels('x')).toThrow(expect.objectContaining({ code: LabelCountError.code, expected: 2, actual: 1 }));
    expect(() => f.remove('x', 'y', 'z')).toThrow(expect.objectContaining({ code: LabelCountError.code }));
  });

  it('adds the overflow counter with value 0 as soon as a bounded family exists', () => {
    const r = createRegistry();
    r.counterFamily('m_total', 'M.', ['topic']);
    expect(r.toPrometheus()).toContain('metrics_series_overflow_total{metric="m_total"} 0\n');
  });
});
