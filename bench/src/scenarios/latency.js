/**
 * Open-loop latency: requests sent at a fixed offered rate, each one's latency measured from the
 * time it was due (../latency/open-loop.js), for raw node:net, Systemge over TCP and TLS, NATS,
 * Moleculer's TCP transporter and plain ws, between two processes on 127.0.0.1 (NATS through a
 * third, nats-server), 100 B text payloads echoed by the server.
 *
 * The offered rates are 25 %, 50 % and 75 % of raw's closed-loop maximum (sync, c = 100) measured
 * at the start of the same run, or the list given with `--rates`. Each system gets a fresh client
 * and server per run; the rates run in ascending order on that pair, each after its own warmup.
 * Rows are medians over the runs. Writes results/latency.json (via run.js), results/latency.md and
 * results/latency.svg (with --rates: results/latency-rates.*). BENCH_LATENCY=raw,systemge-tcp,… picks systems; quick mode: raw and
 * Systemge TCP.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BENCH_DIR, formatNumber, machineInfo, markdownTable, summarize } from '../harness.js';
import { makeCertificates } from '../peers/certs.js';
import { groupedBarChart } from '../peers/chart.js';
import { natsServerAvailable, startNatsServer } from '../peers/nats-server.js';
import { failureOf, stopAll } from '../children.js';
import { ask } from '../peers/processes.js';
import { measureSync, opensslVersion, OWN, packageVersion, startPair, SYSTEMS as PEER_SYSTEMS } from './peers.js';

const SIZE = 100;
const FRACTIONS = [0.25, 0.5, 0.75];
const IDS = ['raw', 'systemge-tcp', 'systemge-tls', 'nats', 'moleculer-json', 'ws'];
const QUICK_IDS = ['raw', 'systemge-tcp'];
const LABELS = { 'moleculer-json': 'Moleculer TCP' };
const SYSTEMS = IDS.map((id) => {
  const s = PEER_SYSTEMS.find((x) => x.id === id);
  return { ...s, label: LABELS[id] ?? s.label };
});
/** Outstanding requests at most; more wait for a free slot and their wait counts as latency. */
const MAX_IN_FLIGHT = 1000;
/** The goal of the measurement, reported as information: Systemge p99.9 at 50 % of raw's max rate. */
const GOAL = { fraction: 0.5, factor: 2 };

const us = (ns) => ns / 1000;
function fmtUs(ns) {
  const v = us(ns);
  if (v >= 10_000) return formatNumber(Math.round(v));
  if (v >= 100) return String(Math.round(v));
  return v.toFixed(1);
}

/** Runs one client/server pair through every rate; resolves with a Map rate → open-loop result. */
async function measurePair(system, env, rates, schedule) {
  const { client, children } = await startPair(system, env, SIZE);
  const perRate = (schedule.warmupSeconds + schedule.seconds + schedule.drainSeconds) * 1000 + 30_000;
  try {
    const failed = failureOf(children, rates.length * perRate);
    const out = new Map();
    for (const rate of rates) {
      out.set(rate, await Promise.race([ask(client, 'open', { rate, ...schedule }, 'open:ok', perRate), failed]));
    }
    return out;
  } finally {
    await stopAll(children);
  }
}

export const scenario = {
  name: 'latency',
  description: 'open-loop latency at fixed offered rates (from intended send time), 100 B request/response between two processes',
  async run(ctx) {
    const { options } = ctx;
    const picked =
      process.env.BENCH_LATENCY?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? (options.quick ? QUICK_IDS : IDS);
    const unknown = picked.filter((id) => !IDS.includes(id));
    if (unknown.length > 0) throw new Error(`BENCH_LATENCY: unknown system(s) ${unknown.join(', ')}; known: ${IDS.join(', ')}`);
    const systems = SYSTEMS.filter((s) => picked.includes(s.id));
    const schedule = {
      warmupSeconds: options.warmupSeconds,
      seconds: options.seconds,
      drainSeconds: options.quick ? 0.5 : 2,
      maxInFlight: MAX_IN_FLIGHT,
    };
    const skipped = new Map();
    const failures = [];
    const env = {};
    const versions = {
      node: process.version,
      '@systemge/node': await packageVersion('@systemge/node'),
      moleculer: await packageVersion('moleculer'),
      nats: await packageVersion('nats'),
      ws: await packageVersion('ws'),
    };
    try {
      if (systems.some((s) => s.tls)) {
        try {
          env.tls = await makeCertificates();
          versions.openssl = await opensslVersion();
        } catch (err) {
          for (const s of systems.filter((x) => x.tls)) skipped.set(s.id, `no test certificates (openssl: ${err.message.split('\n')[0]})`);
        }
      }
      if (systems.some((s) => s.nats)) {
        const available = await natsServerAvailable();
        if (available.missing) {
          for (const s of systems.filter((x) => x.nats)) skipped.set(s.id, available.missing);
          ctx.log(`latency: skipping NATS: ${available.missing}`);
        } else {
          versions['nats-server'] = available.version;
          env.nats = await startNatsServer();
        }
      }

      // The reference: raw's closed-loop maximum (sync, c = 100), unless rates are given.
      let maxRate;
      let rates = options.rates;
      if (rates === undefined) {
        const raw = PEER_SYSTEMS.find((s) => s.id === 'raw');
        const list = [];
        for (let r = 0; r < options.runs; r++) {
          ctx.log(`latency: raw closed-loop maximum, run ${r + 1}/${options.runs}`);
          const m = await measureSync(raw, env, SIZE, options, [100], false);
          list.push(m.get(100).perSecond);
        }
        maxRate = summarize(list);
        rates = FRACTIONS.map((f) => Math.max(1, Math.round(f * maxRate.median)));
      }
      rates = [...rates].sort((a, b) => a - b);

      const measurements = new Map(); // `${id} ${rate}` → [result]
      for (let r = 0; r < options.runs; r++) {
        for (const system of systems) {
          if (skipped.has(system.id)) continue;
          ctx.log(`latency run ${r + 1}/${options.runs}: ${system.id} at ${rates.map((x) => formatNumber(x)).join(', ')} req/s`);
          try {
            const m = await measurePair(system, env, rates, schedule);
            for (const [rate, v] of m) {
              const key = `${system.id} ${rate}`;
              if (!measurements.has(key)) measurements.set(key, []);
              measurements.get(key).push(v);
            }
          } catch (err) {
            if (OWN.has(system.id)) throw err;
            const reason = `failed: ${err.message.split('\n')[0]}`;
            ctx.log(`latency: ${system.id} ${reason}`);
            skipped.set(system.id, reason);
            failures.push({ system: system.id, error: err.message });
          }
        }
      }

      const results = [];
      for (const rate of rates) {
        const fraction = maxRate === undefined ? undefined : rate / maxRate.median;
        for (const system of systems) {
          const row = { system: system.id, label: system.label, rate, fraction };
          const list = measurements.get(`${system.id} ${rate}`);
          if (skipped.has(system.id) || list === undefined) {
            row.skipped = skipped.get(system.id) ?? 'not measured';
            results.push(row);
            continue;
          }
          const pick = (f) => summarize(list.map(f));
          row.ns = {
            p50: pick((v) => v.ns.p50),
            p90: pick((v) => v.ns.p90),
            p99: pick((v) => v.ns.p99),
            p999: pick((v) => v.ns.p999),
            max: pick((v) => v.ns.max),
          };
          row.completedShare = pick((v) => v.completed / v.requests);
          row.incomplete = list.map((v) => v.incomplete);
          row.maxSendLagNs = pick((v) => v.maxSendLagNs);
          row.clientCpuNsPerRequest = pick((v) => v.clientCpuNsPerRequest).median;
          row.runs = list;
          results.push(row);
        }
      }

      const goal = options.quick ? undefined : computeGoal(results, rates, maxRate);
      // Given rates are another experiment than the default one: their files sit beside it.
      const name = options.rates === undefined ? 'latency' : 'latency-rates';
      const report = renderReport({ name, results, rates, maxRate, goal, versions, options, schedule, failures });
      const dir = options.quick ? path.join(BENCH_DIR, 'results', 'tmp') : path.join(BENCH_DIR, 'results');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, `${name}.md`), report.markdown);
      await writeFile(path.join(dir, `${name}.svg`), renderChart(results, rates, maxRate, systems, options));
      return {
        resultsName: name,
        columns: report.columns,
        rows: report.rows,
        results: { maxRate, rates, schedule, latency: results, goal, versions, failures },
        notes: report.notes,
      };
    } finally {
      await env.nats?.stop();
      await env.tls?.remove();
    }
  },
};

/** Systemge's p99.9 over raw's at the rate nearest 50 % of raw's maximum: information, not a check. */
function computeGoal(results, rates, maxRate) {
  if (maxRate === undefined) return undefined;
  const rate = rates.reduce((best, r) =>
    Math.abs(r / maxRate.median - GOAL.fraction) < Math.abs(best / maxRate.median - GOAL.fraction) ? r : best,
  );
  const at = (id) => results.find((r) => r.system === id && r.rate === rate && r.skipped === undefined);
  const raw = at('raw');
  const out = { rate, fraction: rate / maxRate.median, factor: GOAL.factor, ratios: {} };
  for (const id of ['systemge-tcp', 'systemge-tls']) {
    const s = at(id);
    if (raw && s) out.ratios[id] = s.ns.p999.median / raw.ns.p999.median;
  }
  return out;
}

function rateLabel(rate, maxRate) {
  const abs = `${formatNumber(rate)}/s`;
  return maxRate === undefined ? abs : `${Math.round((rate / maxRate.median) * 100)} % (${abs})`;
}

function renderReport({ name, results, rates, maxRate, goal, versions, options, schedule, failures }) {
  const columns = [
    { key: 'rate', title: 'offered rate' },
    { key: 'system', title: 'system' },
    { key: 'p50', title: 'p50 µs', align: 'right' },
    { key: 'p99', title: 'p99 µs', align: 'right' },
    { key: 'p999', title: 'p99.9 µs', align: 'right' },
    { key: 'max', title: 'max µs', align: 'right' },
    { key: 'done', title: 'answered in window + drain', align: 'right' },
  ];
  const rows = results.map((r) => {
    if (r.skipped !== undefined)
      return { rate: rateLabel(r.rate, maxRate), system: r.label, p50: `skipped: ${r.skipped}`, p99: '', p999: '', max: '', done: '' };
    const saturated = r.incomplete.some((n) => n > 0);
    const mark = saturated ? '≥ ' : '';
    return {
      rate: rateLabel(r.rate, maxRate),
      system: r.label,
      p50: mark + fmtUs(r.ns.p50.median),
      p99: mark + fmtUs(r.ns.p99.median),
      p999: mark + fmtUs(r.ns.p999.median),
      max: mark + fmtUs(r.ns.max.median),
      done: `${(r.completedShare.median * 100).toFixed(r.completedShare.median === 1 ? 0 : 1)} %`,
    };
  });
  const m = machineInfo();
  const notes = [];
  notes.push(
    `${m.cpuModel}, ${m.cores} cores, ${m.platform}, Node ${m.node}; ${options.runs} run(s) per row, each ${schedule.seconds} s after a ${schedule.warmupSeconds} s warmup; medians over the runs. Load average at the end ${m.loadAverage.join(' ')}: the machine is shared with other work, which shows in the tails.`,
  );
  if (maxRate !== undefined) {
    notes.push(
      `Offered rates: 25 %, 50 % and 75 % of raw node:net's closed-loop maximum in this run, ${formatNumber(maxRate.median)} req/s${maxRate.values.length > 1 ? ` (median of ${maxRate.values.length}: ${maxRate.values.map((v) => formatNumber(v)).join(', ')})` : ''} (sync, 100 requests outstanding on one connection).`,
    );
  } else {
    notes.push(`Offered rates: ${rates.map((r) => `${formatNumber(r)}/s`).join(', ')} (given with --rates).`);
  }
  notes.push(
    `Open loop: request i is due at start + i / rate and sent when due, whether or not earlier ones were answered; its latency runs from when it was due to its response, so a sender held up (busy event loop, garbage collection, more than ${MAX_IN_FLIGHT.toLocaleString('en-US')} outstanding) adds the delay to every request it held up. Recorded in an HdrHistogram (node:perf_hooks createHistogram, 3 significant digits). A request due in the window that is still unanswered ${schedule.drainSeconds} s after the window ends (never sent, or in flight) counts with the time it had waited by then: such rows say "≥" (the system did not keep up with the offered rate, so its latency grows with the length of the window).`,
  );
  notes.push(
    'Payload 100 B of text, echoed by the server; both sides handle it as a string (encode on send, decode on receipt). Raw node:net and ws match responses by order (no correlation id); Systemge: `syncRequest(...).first()`; NATS: `request` / `msg.respond` through nats-server; Moleculer: `broker.call` over its TCP transporter, JSON serializer.',
  );
  notes.push(
    `Versions: ${Object.entries(versions)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  if (goal !== undefined) {
    const line = (id, label) =>
      goal.ratios[id] === undefined
        ? `${label}: not measured`
        : `${label} ${goal.ratios[id].toFixed(2)}× raw's p99.9 (${goal.ratios[id] <= goal.factor ? 'within' : 'above'} ${goal.factor}×)`;
    notes.push(
      `Goal (information): open loop at ${Math.round(goal.fraction * 100)} % of raw's maximum rate, Systemge p99.9 ≤ ${goal.factor}× raw's. Measured: ${line('systemge-tcp', 'Systemge TCP')}; ${line('systemge-tls', 'Systemge TLS')}.`,
    );
  }
  if (failures.length > 0) notes.push(`Failures: ${failures.map((f) => `${f.system}: ${f.error.split('\n')[0]}`).join('; ')}`);
  const markdown = [
    '# Open-loop latency',
    '',
    markdownTable(columns, rows),
    '',
    ...notes.flatMap((n) => [n, '']),
    `![chart](${name}.svg)`,
    '',
  ].join('\n');
  return { columns, rows, notes, markdown };
}

function renderChart(results, rates, maxRate, systems, options) {
  const measured = results.filter((r) => r.skipped === undefined);
  const groups = [];
  const short = (rate) => (maxRate === undefined ? `${formatNumber(rate)}/s` : `${Math.round((rate / maxRate.median) * 100)} %`);
  for (const rate of rates) {
    for (const [key, name] of [
      ['p50', 'p50'],
      ['p99', 'p99'],
      ['p999', 'p99.9'],
    ]) {
      groups.push({
        label: `${name} @ ${short(rate)}`,
        values: new Map(
          systems.map((s) => [s.label, us(measured.find((r) => r.system === s.id && r.rate === rate)?.ns[key].median ?? NaN) || undefined]),
        ),
      });
    }
  }
  const m = machineInfo();
  return groupedBarChart({
    title: 'Open-loop latency, 100 B request/response (µs, log scale, lower is better)',
    subtitle: `${maxRate ? `offered rate as a share of raw's closed-loop max (${formatNumber(maxRate.median)} req/s)` : 'offered rates given with --rates'}; two processes on 127.0.0.1, ${m.cores} cores (shared), Node ${m.node}, medians of ${options.runs} run(s) × ${options.seconds} s`,
    yLabel: 'latency from intended send time, µs',
    unit: ' µs',
    groups,
    systems: systems.map((s) => s.label),
  });
}
