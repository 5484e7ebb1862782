/**
 * A strict reader of Prometheus text format 0.0.4, stricter than the parser
 * used alongside it: every line must match the grammar, every family must
 * have HELP then TYPE before its samples and appear once, histogram buckets
 * must be in increasing `le` order with cumulative counts ending at `+Inf`
 * equal to `_count`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?Inf|NaN|[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}=${LABEL_VALUE})(?:,${LABEL}=${LABEL_VALUE})*)?\\})? (${VALUE})$`);
const PAIR = new RegExp(`(${LABEL})=(${LABEL_VALUE})`, 'g');
const HELP = new RegExp(`^# HELP (${NAME}) ((?:[^\\\\\\n]|\\\\[\\\\n])*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseNumber(text: string): number {
  if (text.endsWith('Inf')) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

export function validateExposition(text: string): Family[] {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const families: Family[] = [];
  const byName = new Map<string, Family>();
  let current: Family | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  const lines = text.split('\n').slice(0, -1);
  for (const [i, line] of lines.entries()) {
    const at = `line ${i + 1}: ${JSON.stringify(line)}`;
    const help = HELP.exec(line);
    if (help !== null) {
      const [, name = '', body = ''] = help;
      if (byName.has(name)) throw new Error(`${at}: family ${name} appears twice`);
      pendingHelp = { name, help: unescape(body) };
      continue;
    }
    const type = TYPE.exec(line);
    if (type !== null) {
      const [, name = '', kind = ''] = type;
      if (pendingHelp?.name !== name) throw new Error(`${at}: TYPE without a HELP right before it`);
      current = { name, help: pendingHelp.help, type: kind, samples: [] };
      pendingHelp = undefined;
      byName.set(name, current);
      families.push(current);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`${at}: unexpected comment`);
    const sample = SAMPLE.exec(line);
    if (sample === null) throw new Error(`${at}: not a valid sample line`);
    const [, name = '', pairs = '', value = ''] = sample;
    if (current === undefined) throw new Error(`${at}: sample before any HELP/TYPE`);
    const allowed =
      current.type === 'histogram'
        ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`]
        : [current.name];
    if (!allowed.includes(name)) throw new Error(`${at}: sample does not belong to family ${current.name}`);
    if (current.type === 'counter' && !current.name.endsWith('_total')) {
      throw new Error(`${at}: counter name must end in _total`);
    }
    const labels: Record<string, string> = {};
    for (const m of pairs.matchAll(PAIR)) {
      const [, label = '', quoted = ''] = m;
      if (label in labels) throw new Error(`${at}: label ${label} repeated`);
      labels[label] = unescape(quoted.slice(1, -1));
    }
    current.samples.push({ name, labels, value: parseNumber(value) });
  }
  for (const f of families) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Sample[]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const key = seriesKey(s.labels);
    let entry = series.get(key);
    if (entry === undefined) {
      entry = { buckets: [] };
      series.set(key, entry);
    }
    if (s.name.endsWith('_bucket')) {
      if (!('le' in s.labels)) throw new Error(`${f.name}: bucket without le`);
      entry.buckets.push(s);
    } else if (s.name.endsWith('_count')) entry.count = s.value;
    else entry.sum = s.value;
  }
  for (const [key, entry] of series) {
    const where = `${f.name}${key}`;
    if (entry.buckets.length === 0) throw new Error(`${where}: no buckets`);
    if (entry.count === undefined || entry.sum === undefined) throw new Error(`${where}: missing _sum or _count`);
    let prevLe = -Infinity;
    let prevCount = 0;
    for (const b of entry.buckets) {
      const le = parseNumber(b.labels.le ?? '');
      if (!(le > prevLe)) throw new Error(`${where}: le ${b.labels.le} not increasing`);
      if (b.value < prevCount) throw new Error(`${where}: bucket le=${b.labels.le} not cumulative`);
      prevLe = le;
      prevCount = b.value;
    }
    const last = entry.buckets[entry.buckets.length - 1]!;
    if (last.labels.le !== '+Inf') throw new Error(`${where}: last bucket is not le="+Inf"`);
    if (last.value !== entry.count) throw new Error(`${where}: +Inf bucket ${last.value} != _count ${entry.count}`);
  }
}
