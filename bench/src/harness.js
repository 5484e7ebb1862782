/**
 * The shared bench harness. A scenario is a module that exports
 *
 *   export const scenario = {
 *     name: 'codec',                  // used by --only and as the results file name
 *     description: 'one line',
 *     async run(ctx) { ... return { columns, rows, notes } },
 *   };
 *
 * and is listed in `run.js`. `ctx` carries the parsed options
 * ({ runs, seconds, warmupSeconds, quick }) and `ctx.log(text)` for progress lines (stderr).
 * `run` returns a table: `columns` is a list of { key, title, align? } and `rows` a list of
 * plain objects; numbers are formatted by `formatNumber` unless already strings. `notes`
 * (optional) are lines printed under the table. `run.js` prints the table as markdown
 * and writes `results/<name>.json` with the rows and the machine info (`resultsName`, when
 * returned, replaces the scenario's name in that file name).
 *
 * Helpers here: `repeat` (run a measurement N times), `summarize` (median/min/max),
 * `timeLoop` (ops/s of a synchronous function), `markdownTable`, `machineInfo`, `writeResults`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Parses `--runs N --seconds S --only NAME --quick --rates LIST`. Quick mode: 1 run of 0.25 s,
 * short warmup. `--rates` (offered requests/s, comma-separated) is for the latency scenario.
 */
export function parseOptions(argv) {
  const opts = { runs: 3, seconds: 3, warmupSeconds: 0.5, only: undefined, quick: false, rates: undefined };
  const explicit = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--runs':
        opts.runs = positiveNumber(arg, value(), true);
        explicit.add('runs');
        break;
      case '--seconds':
        opts.seconds = positiveNumber(arg, value(), false);
        explicit.add('seconds');
        break;
      case '--only':
        opts.only = value();
        break;
      case '--quick':
        opts.quick = true;
        break;
      case '--rates':
        opts.rates = value()
          .split(',')
          .map((r) => positiveNumber(arg, r.trim(), false));
        break;
      case '--help':
      case '-h':
        opts.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (opts.quick) {
    if (!explicit.has('runs')) opts.runs = 1;
    if (!explicit.has('seconds')) opts.seconds = 0.25;
    opts.warmupSeconds = 0.1;
  }
  return opts;
}

function positiveNumber(flag, text, integer) {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${text}`);
  }
  return n;
}

/** Median, min and max of a list of numbers. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], values };
}

/**
 * Runs each variant `runs` times, interleaved (A B A B ...) so drift on the machine hits
 * every variant alike. `measure(variant, runIndex)` resolves to a number (e.g. ops/s).
 * Returns a Map variant → summarize(...) of the values.
 */
export async function repeat(variants, runs, measure) {
  const values = new Map(variants.map((v) => [v, []]));
  for (let r = 0; r < runs; r++) {
    for (const v of variants) values.get(v).push(await measure(v, r));
  }
  return new Map([...values].map(([v, list]) => [v, summarize(list)]));
}

/**
 * Calls `fn(batch)` repeatedly for `seconds` (after `warmupSeconds` of the same) and returns
 * operations per second, where one call performs `batch` operations. Synchronous work only.
 * `clock: 'cpu'` counts this process's CPU time (user + system) instead of wall time, so time
 * spent descheduled while other work runs on the machine does not count; `'wall'` is the default.
 */
export function timeLoop(fn, batch, seconds, warmupSeconds = 0, clock = 'wall') {
  const now = clock === 'cpu' ? cpuNanos : wallNanos;
  const spin = (s) => {
    const budget = s * 1e9;
    const start = now();
    let ops = 0;
    let elapsed = 0;
    while (elapsed < budget) {
      fn(batch);
      ops += batch;
      elapsed = now() - start;
    }
    return ops / (elapsed / 1e9);
  };
  if (warmupSeconds > 0) spin(warmupSeconds);
  return spin(seconds);
}

function wallNanos() {
  return Number(process.hrtime.bigint());
}

function cpuNanos() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** 1234567 → "1.23 M", 0.5 → "0.50". */
export function formatNumber(n) {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  if (abs >= 100) return n.toFixed(0);
  return n.toFixed(2);
}

/** "median (min–max)" of a summary. */
export function formatSummary(s, format = formatNumber) {
  return s.values.length === 1 ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(columns, rows) {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const v = row[c.key];
      return typeof v === 'number' ? formatNumber(v) : String(v ?? '');
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.title.length, 3, ...cells.map((r) => r[i].length)));
  const line = (values) =>
    `| ${values.map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${columns.map((c, i) => (c.align === 'right' ? `${'-'.repeat(widths[i] + 1)}:` : '-'.repeat(widths[i] + 2))).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n');
}

/** What the numbers depend on. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString(),
    /** 1, 5 and 15 minute load averages: other work on the machine skews every number. */
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Writes `results/<name>.json` (quick runs go to `results/tmp/`, which is not kept). Returns the path. */
export async function writeResults(name, options, data) {
  const dir = options.quick ? path.join(BENCH_DIR, 'results', 'tmp') : path.join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const { runs, seconds, warmupSeconds, quick } = options;
  const body = { name, machine: machineInfo(), options: { runs, seconds, warmupSeconds, quick }, ...data };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
