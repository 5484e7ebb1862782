import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  DuplicateMetricError,
  InvalidLabelError,
  InvalidMetricNameError,
  InvalidMetricOptionError,
  type MetricsError,
} from '../src/index.js';
import { firstValue } from './snapshot-helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as MetricsError).code;
  }
  return undefined;
}

describe('registry validation', () => {
  it('rejects invalid metric names and prefixes', () => {
    const r = createRegistry();
    expect(codeOf(() => r.gauge('1abc', 'X.'))).toBe(InvalidMetricNameError.code);
    expect(codeOf(() => r.gauge('a-b', 'X.'))).toBe(InvalidMetricNameError.code);
    expect(codeOf(() => createRegistry({ prefix: 'bad-' }))).toBe(InvalidMetricNameError.code);
  });

  it('requires counter names to end in _total, prefix included', () => {
    const r = createRegistry({ prefix: 'systemge_' });
    expect(codeOf(() => r.counter('messages', 'X.'))).toBe(InvalidMetricNameError.code);
    expect(r.counter('messages_total', 'X.')).toBeDefined();
  });

  it('rejects a second metric with the same full name', () => {
    const r = createRegistry({ prefix: 'p_' });
    r.gauge('x', 'X.');
    const err = (() => {
      try {
        r.histogram('x', 'X.');
      } catch (e) {
        return e as DuplicateMetricError;
      }
      return undefined;
    })();
    expect(err?.code).toBe(DuplicateMetricError.code);
    expect(err?.message).toContain('"p_x"');
  });

  it('frees the name on unregister', () => {
    const r = createRegistry();
    r.counterFamily('x_total', 'X.', ['t']);
    expect(r.unregister('x_total')).toBe(true);
    expect(r.unregister('x_total')).toBe(false);
    expect(r.toPrometheus()).not.toContain('x_total{');
    r.counterFamily('x_total', 'X.', ['t']).labels('a').inc();
    expect(r.toPrometheus()).toContain('x_total{t="a"} 1\n');
  });

  it('rejects bad, reserved, repeated or clashing label names', () => {
    const r = createRegistry({ constLabels: { node: 'alpha' } });
    expect(codeOf(() => r.gaugeFamily('a', 'A.', ['bad-name']))).toBe(InvalidLabelError.code);
    expect(codeOf(() => r.gaugeFamily('b', 'B.', ['__reserved']))).toBe(InvalidLabelError.code);
    expect(codeOf(() => r.gaugeFamily('c', 'C.', ['x', 'x']))).toBe(InvalidLabelError.code);
    expect(codeOf(() => r.gaugeFamily('d', 'D.', ['node']))).toBe(InvalidLabelError.code);
    expect(codeOf(() => r.histogramFamily('e', 'E.', ['le']))).toBe(InvalidLabelError.code);
    expect(codeOf(() => createRegistry({ constLabels: { 'no-dash': 'x' } }))).toBe(InvalidLabelError.code);
  });

  it('rejects a maxSeries that is not a positive integer', () => {
    const r = createRegistry();
    expect(codeOf(() => r.counterFamily('a_total', 'A.', ['t'], { maxSeries: 0 }))).toBe(InvalidMetricOptionError.code);
    expect(codeOf(() => r.counterFamily('b_total', 'B.', ['t'], { maxSeries: 1.5 }))).toBe(
      InvalidMetricOptionError.code,
    );
  });

  it('runs collectors once per read, skips a throwing one, and removes them on request', () => {
    const r = createRegistry();
    const g = r.gauge('g', 'G.');
    let runs = 0;
    r.addCollector(() => {
      throw new Error('broken collector');
    });
    const remove = r.addCollector(() => g.set(++runs));
    expect(r.toPrometheus()).toContain('\ng 1\n');
    expect(firstValue(r.snapshot(), 'g')).toBe(2);
    remove();
    r.toPrometheus();
    expect(runs).toBe(2);
  });
});
