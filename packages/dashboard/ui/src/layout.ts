// Pure layout arithmetic of the page (no DOM): chart y scales and topology label clearance.

/** How a chart's y steps are chosen: `bytes` in powers of 1024, `integer` whole, `decimal` ≥ `minStep`. */
export interface StepRule {
  steps: 'bytes' | 'integer' | 'decimal';
  /** Smallest y step, so that no two tick labels read the same once formatted. */
  minStep: number;
}

/** Y intervals drawn in a chart 130 px high (a tick label needs about 28 px). */
const Y_INTERVALS = 3;

/**
 * A round y step for values up to `max`: 1, 2 or 5 times a power of ten (of 1024 for bytes first),
 * never below `minStep`. The y scale ends on a multiple of it, so the top gridline is the top of the
 * plot and no line runs above it.
 */
export function yStep(max: number, def: StepRule): number {
  const raw = max > 0 ? (max * 1.05) / Y_INTERVALS : 0;
  if (!(raw > 0) || !Number.isFinite(raw)) return def.minStep;
  let base = 1;
  if (def.steps === 'bytes') while (raw >= 1024 * base) base *= 1024;
  const r = raw / base;
  const magnitude = 10 ** Math.floor(Math.log10(r));
  const multiple = [1, 2, 5, 10].find((m) => m * magnitude >= r * (1 - 1e-9)) ?? 10;
  return Math.max(def.minStep, multiple * magnitude * base);
}

/** Tick labels with any repeat blanked: a last guard against `1 B/s`, `1 B/s`. */
export function uniqueLabels(values: number[], format: (v: number) => string): string[] {
  const seen = new Set<string>();
  return values.map((v) => {
    const label = format(v);
    if (seen.has(label)) return '';
    seen.add(label);
    return label;
  });
}

/** Vertex circle radius in the topology drawing. */
export const RADIUS = 20;
/** Label text: 12 px; width estimated per character (the SVG is laid out before any text is measured). */
export const LABEL_HEIGHT = 14;
export const CHAR_WIDTH = 7.2;
/** Gap between the circle and its label, and kept free around a label. */
export const LABEL_GAP = 6;

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * How far from a vertex's centre, along the unit vector (ux, uy), a line must stop to stay clear of
 * its circle and of its label (a box relative to the centre): the arrowhead never sits on the name.
 */
export function clearance(ux: number, uy: number, label: Box): number {
  let near = -Infinity;
  let far = Infinity;
  for (const [u, lo, hi] of [
    [ux, label.x0 - LABEL_GAP / 2, label.x1 + LABEL_GAP / 2],
    [uy, label.y0 - LABEL_GAP / 2, label.y1 + LABEL_GAP / 2],
  ] as const) {
    if (Math.abs(u) < 1e-9) {
      if (lo > 0 || hi < 0) return RADIUS + 4;
      continue;
    }
    const a = lo / u;
    const b = hi / u;
    near = Math.max(near, Math.min(a, b));
    far = Math.min(far, Math.max(a, b));
  }
  const crosses = far >= Math.max(near, 0);
  return Math.max(RADIUS + 4, crosses ? far + 2 : 0);
}
