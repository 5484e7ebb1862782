import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/index.js';
import { firstValue } from './snapshot-helpers.js';

describe('counter', () => {
  it('starts at zero and adds 1 by default or n', () => {
    const c = createRegistry().counter('requests_total', 'Requests.');
    expect(c.value).toBe(0);
    c.inc();
    c.inc(4);
    c.inc(0.5);
    expect(c.value).toBe(5.5);
  });

  it('ignores negative, NaN and infinite increments instead of throwing', () => {
    const c = createRegistry().counter('requests_total', 'Requests.');
    c.inc(3);
    c.inc(-1);
    c.inc(NaN);
    c.inc(Infinity);
    expect(c.value).toBe(3);
  });

  it('shows its value in the exposition', () => {
    const r = createRegistry();
    r.counter('requests_total', 'Requests.').inc(7);
    expect(r.toPrometheus()).toContain('\nrequests_total 7\n');
  });
});

describe('gauge', () => {
  it('moves with set, inc and dec', () => {
    const g = createRegistry().gauge('connections', 'Open connections.');
    g.set(10);
    g.inc();
    g.inc(5);
    g.dec();
    g.dec(3);
    expect(g.value).toBe(12);
  });

  it('evaluates its collect callback at read time, not before', () => {
    let calls = 0;
    let source = 1;
    const r = createRegistry();
    r.gauge('queue_depth', 'Queue depth.', {
      collect: () => {
        calls++;
        return source;
      },
    });
    expect(calls).toBe(0);
    source = 42;
    const snap = r.snapshot();
    expect(calls).toBe(1);
    expect(snap.metrics.queue_depth).toMatchObject({ type: 'gauge', series: [{ labels: {}, value: 42 }] });
    source = 43;
    expect(r.toPrometheus()).toContain('\nqueue_depth 43\n');
    expect(calls).toBe(2);
  });

  it('reads a throwing collect callback as NaN in the exposition and null in the snapshot', () => {
    const r = createRegistry();
    r.gauge('broken', 'Broken.', {
      collect: () => {
        throw new Error('boom');
      },
    });
    expect(r.toPrometheus()).toContain('\nbroken NaN\n');
    const snap = r.snapshot();
    expect(firstValue(snap, 'broken')).toBeNull();
    expect(() => JSON.stringify(snap)).not.toThrow();
  });
});

describe('gauge family', () => {
  it('keeps one value per label combination', () => {
    const r = createRegistry();
    const f = r.gaugeFamily('ws_group_members', 'Members per group.', ['group']);
    f.labels('a').set(3);
    f.labels('b').set(5);
    f.labels('a').inc();
    const snap = r.snapshot();
    expect(snap.metrics.ws_group_members?.series).toEqual([
      { labels: { group: 'a' }, value: 4 },
      { labels: { group: 'b' }, value: 5 },
    ]);
  });
});
