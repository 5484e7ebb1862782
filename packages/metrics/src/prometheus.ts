import type { Registry } from './registry.js';

/** `Content-Type` of the Prometheus text exposition format this package writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Escapes a HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return /[\\\n]/.test(text) ? text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : text;
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : value;
}

/** Formats a sample value the way Prometheus parses it (`NaN`, `+Inf`, `-Inf`). */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

/** `name="value",…` without braces; constant labels first. */
export function renderLabelPairs(names: readonly string[], values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ',';
    out += `${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  }
  return out;
}

interface FamilyText {
  help: string | undefined;
  type: string | undefined;
  samples: string[];
  seen: Set<string>;
}

const SAMPLE_SUFFIXES = ['_bucket', '_sum', '_count', '_created', '_total', '_info', '_gcount', '_gsum'];

/**
 * Merges several text expositions (each valid on its own) into one: every
 * metric family appears once, with one HELP and one TYPE line (the first seen)
 * and the samples of every input grouped under it. A sample whose name and
 * labels already appeared is dropped, and so are the samples of a family whose
 * TYPE contradicts the first one seen, since Prometheus rejects both.
 * Give each source distinct constant labels (e.g. `node`) so their series differ.
 */
export function mergePrometheus(texts: readonly string[]): string {
  const families = new Map<string, FamilyText>();
  const family = (name: string): FamilyText => {
    let f = families.get(name);
    if (f === undefined) {
      f = { help: undefined, type: undefined, samples: [], seen: new Set() };
      families.set(name, f);
    }
    return f;
  };

  for (const text of texts) {
    let currentName: string | undefined;
    let current: FamilyText | undefined;
    // A family whose TYPE disagrees with the merged one: its samples are skipped.
    let skipping: string | undefined;
    for (const rawLine of text.split('\n')) {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (line.trim() === '') continue;
      if (line.startsWith('#')) {
        const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
        if (m === null) continue;
        const [, keyword, name = '', rest = ''] = m;
        if (name !== currentName) skipping = undefined;
        currentName = name;
        current = family(name);
        if (keyword === 'HELP') {
          current.help ??= rest;
        } else {
          const type = rest.trim();
          if (current.type === undefined) current.type = type;
          else if (current.type !== type) skipping = name;
        }
        continue;
      }
      const id = seriesId(line);
      const sampleName = id.name;
      let target: FamilyText;
      if (currentName !== undefined && current !== undefined && belongsTo(sampleName, currentName)) {
        if (skipping === currentName) continue;
        target = current;
      } else {
        currentName = undefined;
        current = undefined;
        target = family(sampleName);
      }
      if (target.seen.has(id.key)) continue;
      target.seen.add(id.key);
      target.samples.push(line);
    }
  }

  let out = '';
  for (const [name, f] of families) {
    if (f.help !== undefined) out += `# HELP ${name} ${f.help}\n`;
    if (f.type !== undefined) out += `# TYPE ${name} ${f.type}\n`;
    for (const s of f.samples) out += `${s}\n`;
  }
  return out;
}

/**
 * Renders several registries (e.g. one per node, told apart by a `node`
 * constant label) as one exposition without duplicate HELP/TYPE lines.
 */
export function renderPrometheus(registries: readonly Pick<Registry, 'toPrometheus'>[]): string {
  return mergePrometheus(registries.map((r) => r.toPrometheus()));
}

function belongsTo(sampleName: string, familyName: string): boolean {
  if (sampleName === familyName) return true;
  if (!sampleName.startsWith(familyName)) return false;
  return SAMPLE_SUFFIXES.includes(sampleName.slice(familyName.length));
}

/** The sample's metric name, and its identity: name plus the label block, without value or timestamp. */
function seriesId(line: string): { name: string; key: string } {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
  const name = line.slice(0, i);
  if (line[i] !== '{') return { name, key: name };
  // Walk the label block honouring quoted values and escapes, so `}` inside a value does not end it.
  let inQuotes = false;
  let j = i + 1;
  for (; j < line.length; j++) {
    const c = line[j];
    if (inQuotes) {
      if (c === '\\') j++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') {
      inQuotes = true;
    } else if (c === '}') {
      break;
    }
  }
  return { name, key: line.slice(0, j + 1) };
}
