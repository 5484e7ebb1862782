import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatMs } from '../ui/src/format.js';
import { clearance, LABEL_GAP, LABEL_HEIGHT, RADIUS, type StepRule, uniqueLabels, yStep } from '../ui/src/layout.js';

/** The y splits a chart draws for data up to `max`, as charts.ts computes them. */
function splits(max: number, rule: StepRule): { step: number; top: number; ticks: number[] } {
  const step = yStep(max, rule);
  const top = Math.max(1, Math.ceil((max * 1.05) / step - 1e-9)) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= top * (1 + 1e-9); i++) ticks.push(i * step);
  return { step, top, ticks };
}

const BYTES: StepRule = { steps: 'bytes', minStep: 1 };
const RATE: StepRule = { steps: 'decimal', minStep: 0.1 };
const MS: StepRule = { steps: 'decimal', minStep: 0.01 };
const INTEGER: StepRule = { steps: 'integer', minStep: 1 };

const maxima = [
  0, 0.01, 0.3, 0.5, 0.8, 1, 1.2, 1.9, 2.5, 3, 7, 9.9, 42, 99, 100, 640, 1000, 1023, 1024, 1500, 5000, 65_000, 1.5e6, 2.1e7, 3.3e8, 7.5e9,
];

describe('chart y ticks', () => {
  it.each([
    ['bytes/s', BYTES, (v: number) => `${formatBytes(v)}/s`],
    ['messages/s', RATE, (v: number) => `${formatCount(v)}/s`],
    ['latency', MS, formatMs],
    ['connections', INTEGER, (v: number) => formatCount(v)],
  ] as const)('%s: every tick label differs from the others, at any rate', (_name, rule, format) => {
    for (const max of maxima) {
      const labels = splits(max, rule).ticks.map(format);
      expect(new Set(labels).size, `max ${max}: ${labels.join(', ')}`).toBe(labels.length);
    }
  });

  it('ends the scale on a gridline at or above the highest value, within four intervals', () => {
    for (const rule of [BYTES, RATE, MS, INTEGER]) {
      for (const max of maxima) {
        const { top, ticks } = splits(max, rule);
        expect(top).toBeGreaterThanOrEqual(max);
        expect(ticks[ticks.length - 1]).toBeCloseTo(top, 9);
        expect(ticks.length).toBeGreaterThanOrEqual(2);
        expect(ticks.length).toBeLessThanOrEqual(5);
      }
    }
  });

  it('used to repeat "1 B/s" at low byte rates: the steps are now whole bytes', () => {
    expect(splits(1.2, BYTES).ticks.map((v) => formatBytes(v))).toEqual(['0 B', '1 B', '2 B']);
    expect(uniqueLabels([0, 0.5, 1, 1.5], (v) => `${formatBytes(v)}/s`)).toEqual(['0 B/s', '1 B/s', '', '2 B/s']);
  });
});

describe('topology label clearance', () => {
  const below = { x0: -20, x1: 20, y0: RADIUS + LABEL_GAP, y1: RADIUS + LABEL_GAP + LABEL_HEIGHT };

  it('stops a line coming from below beyond the label, not on it', () => {
    const d = clearance(0, 1, below);
    expect(d).toBeGreaterThan(below.y1 + LABEL_GAP / 2);
  });

  it('keeps the circle clearance for lines that miss the label', () => {
    expect(clearance(0, -1, below)).toBe(RADIUS + 4);
    expect(clearance(1, 0, below)).toBe(RADIUS + 4);
  });

  it('clears the label for slanted lines that cross it', () => {
    const ux = Math.cos(Math.PI / 3);
    const uy = Math.sin(Math.PI / 3);
    const d = clearance(ux, uy, below);
    const x = ux * d;
    const y = uy * d;
    const inside = x >= below.x0 - 3 && x <= below.x1 + 3 && y >= below.y0 - 3 && y <= below.y1 + 3;
    expect(inside).toBe(false);
  });
});
