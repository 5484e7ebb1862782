/**
 * Systemge against its peers, in one run on one machine, between separate processes on
 * 127.0.0.1: raw node:net framing, Systemge over TCP and TLS, Moleculer's TCP transporter (JSON
 * and CBOR serializers), NATS (nats.js + a local nats-server) and plain ws. For 100 B and 1 KiB
 * payloads: async messages/s over one connection, sync requests/s at concurrency 1 and 100 with
 * p50/p99 latency; then a scatter-gather (1 request → 8 responders in 2 processes, Systemge vs
 * NATS requestMany) and the server's RSS per idle connection (1,000 connections).
 *
 * Writes results/peers.json (via run.js), results/peers.md and results/peers.svg.
 * BENCH_PEERS=raw,systemge-tcp,… picks systems. Quick mode: raw and Systemge over TCP, 100 B.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { BENCH_DIR, formatNumber, machineInfo, markdownTable, summarize } from '../harness.js';
import { PAYLOAD_SIZES, sizeLabel } from '../payloads.js';
import { makeCertificates } from '../peers/certs.js';
import { groupedBarChart } from '../peers/chart.js';
import { freePort, natsServerAvailable, startNatsServer } from '../peers/nats-server.js';
import { expectMessage, failureOf, sleep, stopAll } from '../children.js';
import { ask, spawnPeer } from '../peers/processes.js';

export const SYSTEMS = [
  { id: 'raw', label: 'raw node:net', adapter: 'raw' },
  { id: 'raw-bytes', label: 'raw node:net bytes', adapter: 'raw', options: { bytes: true }, optional: true },
  { id: 'systemge-tcp', label: 'Systemge TCP', adapter: 'systemge' },
  { id: 'systemge-tls', label: 'Systemge TLS', adapter: 'systemge', tls: true },
  { id: 'moleculer-json', label: 'Moleculer TCP JSON', adapter: 'moleculer', serializer: 'JSON' },
  { id: 'moleculer-cbor', label: 'Moleculer TCP CBOR', adapter: 'moleculer', serializer: 'CBOR' },
  { id: 'nats', label: 'NATS', adapter: 'nats', nats: true },
  { id: 'ws', label: 'ws', adapter: 'ws' },
];
/** Systems whose failure fails the scenario; a peer framework that fails is reported and skipped. */
export const OWN = new Set(['raw', 'raw-bytes', 'systemge-tcp', 'systemge-tls']);
const QUICK_SYSTEMS = ['raw', 'systemge-tcp'];
const CONCURRENCY = [1, 100];
const SCATTER = { responders: 8, processes: 2, concurrency: [1, 100], size: 100 };
const SCATTER_SYSTEMS = ['systemge-tcp', 'nats'];
const MEMORY_SYSTEMS = ['systemge-tcp', 'raw'];
const run = promisify(execFile);

export async function packageVersion(name) {
  try {
    return JSON.parse(await readFile(path.join(BENCH_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export async function opensslVersion() {
  try {
    return (await run('openssl', ['version'], { timeout: 5000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

/** Prepares what a system needs (certificates, nats-server, ports); `undefined` config = skipped with `reason`. */
function childConfig(system, env, size) {
  const config = { size };
  if (system.tls) config.tls = env.tls;
  if (system.nats) config.natsUrl = env.nats.url;
  return config;
}

async function moleculerOptions(system) {
  const serverPort = await freePort();
  const clientPort = await freePort();
  const urls = [`127.0.0.1:${serverPort}/server`, `127.0.0.1:${clientPort}/client`];
  return {
    server: { serializer: system.serializer, moleculerPort: serverPort, moleculerUrls: urls },
    client: { serializer: system.serializer, moleculerPort: clientPort, moleculerUrls: urls },
  };
}

/** Starts a server child and a client child connected to it. */
export async function startPair(system, env, size, serverCount = 1, serverProcesses = 1) {
  const base = childConfig(system, env, size);
  const mol = system.adapter === 'moleculer' ? await moleculerOptions(system) : undefined;
  const children = [];
  try {
    const servers = [];
    for (let p = 0; p < serverProcesses; p++) {
      const s = spawnPeer('server', system.adapter, {
        ...base,
        group: p,
        count: serverCount,
        options: { ...system.options, ...mol?.server },
      });
      children.push(s);
      servers.push(s);
    }
    const ports = (await Promise.all(servers.map((s) => expectMessage(s, 'ready', 20_000)))).flatMap((r) => r.ports);
    const client = spawnPeer('client', system.adapter, { ...base, ports, options: { ...system.options, ...mol?.client } });
    children.push(client);
    await expectMessage(client, 'ready', 30_000);
    return { servers, client, children };
  } catch (err) {
    await stopAll(children);
    throw err;
  }
}

export async function measureAsync(system, env, size, options) {
  const { servers, client, children } = await startPair(system, env, size);
  const server = servers[0];
  try {
    const budget = (options.warmupSeconds + options.seconds) * 1000 + 20_000;
    const failed = failureOf(children, budget);
    await Promise.race([ask(client, 'async'), failed]);
    await Promise.race([sleep(options.warmupSeconds * 1000), failed]);
    const [s0, c0] = await Promise.race([Promise.all([ask(server, 'count'), ask(client, 'mark')]), failed]);
    await Promise.race([sleep(options.seconds * 1000), failed]);
    const [s1, c1] = await Promise.race([Promise.all([ask(server, 'count'), ask(client, 'result')]), failed]);
    const messages = s1.messages - s0.messages;
    if (messages === 0) throw new Error(`${system.id}: no messages received`);
    return {
      perSecond: messages / ((s1.ns - s0.ns) / 1e9),
      cpuNsPerMessage: {
        client: ((c1.cpuMicros - c0.cpuMicros) * 1000) / messages,
        server: ((s1.cpuMicros - s0.cpuMicros) * 1000) / messages,
      },
    };
  } finally {
    await stopAll(children);
  }
}

/** Sync requests at each concurrency in turn, one client process; `scatter` = responses per request. */
export async function measureSync(system, env, size, options, concurrencies, scatter) {
  const pair = scatter
    ? await startPair(system, env, size, SCATTER.responders / SCATTER.processes, SCATTER.processes)
    : await startPair(system, env, size);
  const { client, children } = pair;
  const out = new Map();
  try {
    const budget = concurrencies.length * ((options.warmupSeconds + options.seconds) * 1000 + 20_000);
    const failed = failureOf(children, budget);
    for (const concurrency of concurrencies) {
      await Promise.race([ask(client, 'sync', { concurrency, scatter: scatter ? SCATTER.responders : 0 }, 'sync:ok', 30_000), failed]);
      await Promise.race([sleep(options.warmupSeconds * 1000), failed]);
      const c0 = await Promise.race([ask(client, 'mark'), failed]);
      await Promise.race([sleep(options.seconds * 1000), failed]);
      const c1 = await Promise.race([ask(client, 'result'), failed]);
      await Promise.race([ask(client, 'halt', {}, 'halt:ok', 15_000), failed]);
      if (c1.completed === 0) throw new Error(`${system.id}: no request completed at concurrency ${concurrency}`);
      out.set(concurrency, {
        perSecond: c1.completed / ((c1.ns - c0.ns) / 1e9),
        p50: c1.p50,
        p99: c1.p99,
        clientCpuNsPerRequest: ((c1.cpuMicros - c0.cpuMicros) * 1000) / c1.completed,
      });
    }
    return out;
  } finally {
    await stopAll(children);
  }
}

async function measureMemory(system, env, connections) {
  const children = [];
  try {
    const server = spawnPeer('memory-server', system.adapter, { size: 100 }, { exposeGc: true });
    children.push(server);
    const ready = await expectMessage(server, 'ready', 20_000);
    const client = spawnPeer('memory-client', system.adapter, { size: 100, ports: ready.ports, connections }, { exposeGc: true });
    children.push(client);
    const failed = failureOf(children, 120_000);
    const clientReady = await Promise.race([expectMessage(client, 'ready', 120_000), failed]);
    const after = await Promise.race([ask(server, 'measure', { expected: connections, timeoutMs: 60_000 }, 'measure:ok', 70_000), failed]);
    return {
      connections,
      serverRssPerConnection: (after.rss - ready.baseline.rss) / connections,
      serverHeapPerConnection: (after.heapUsed - ready.baseline.heapUsed) / connections,
      clientRssPerConnection: (clientReady.after.rss - clientReady.baseline.rss) / connections,
      serverRssBaseline: ready.baseline.rss,
      serverRssAfter: after.rss,
    };
  } finally {
    await stopAll(children);
  }
}

const fmtMs = (v) => (v === undefined ? '–' : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtSummary = (s) =>
  s.values.length === 1 ? formatNumber(s.median) : `${formatNumber(s.median)} (${formatNumber(s.min)}–${formatNumber(s.max)})`;
const fmtLatency = (p50, p99) => (p50 === undefined ? '–' : `${fmtMs(p50.median)} / ${fmtMs(p99.median)}`);
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

export const scenario = {
  name: 'peers',
  description: 'Systemge vs raw node:net, Moleculer, NATS and ws between two processes on 127.0.0.1',
  async run(ctx) {
    const { options } = ctx;
    const picked =
      process.env.BENCH_PEERS?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? (options.quick ? QUICK_SYSTEMS : SYSTEMS.filter((s) => !s.optional).map((s) => s.id));
    const unknown = picked.filter((id) => !SYSTEMS.some((s) => s.id === id));
    if (unknown.length > 0)
      throw new Error(`BENCH_PEERS: unknown system(s) ${unknown.join(', ')}; known: ${SYSTEMS.map((s) => s.id).join(', ')}`);
    const systems = SYSTEMS.filter((s) => picked.includes(s.id));
    const sizes = options.quick ? [PAYLOAD_SIZES[0]] : PAYLOAD_SIZES;
    const memoryConnections = options.quick ? 50 : 1000;
    const skipped = new Map();
    const env = {};
    const versions = {
      node: process.version,
      '@systemge/node': await packageVersion('@systemge/node'),
      moleculer: await packageVersion('moleculer'),
      'cbor-x': await packageVersion('cbor-x'),
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
      if (systems.some((s) => s.nats) || (!options.quick && SCATTER_SYSTEMS.includes('nats'))) {
        const available = await natsServerAvailable();
        if (available.missing) {
          for (const s of systems.filter((x) => x.nats)) skipped.set(s.id, available.missing);
          ctx.log(`peers: skipping NATS: ${available.missing}`);
        } else {
          versions['nats-server'] = available.version;
          env.nats = await startNatsServer();
        }
      }
      const active = systems.filter((s) => !skipped.has(s.id));
      const failures = [];
      const retried = [];
      const guarded = async (system, what, fn) => {
        if (skipped.has(system.id)) return undefined;
        try {
          return await fn();
        } catch (first) {
          let err = first;
          if (OWN.has(system.id)) {
            // A baseline or Systemge measurement that fails is repeated once with fresh processes (the
            // failure is kept in the results); failing twice fails the scenario.
            ctx.log(`peers: ${system.id} ${what} failed (${first.message.split('\n')[0]}); repeating it once`);
            retried.push({ system: system.id, what, error: first.message });
            try {
              return await fn();
            } catch (second) {
              err = second;
            }
            throw err;
          }
          const reason = `failed in ${what}: ${err.message.split('\n')[0]}`;
          ctx.log(`peers: ${system.id} ${reason}`);
          skipped.set(system.id, reason);
          failures.push({ system: system.id, what, error: err.message });
          return undefined;
        }
      };

      // Throughput and latency: for each size and run, every system in turn (interleaved).
      const raw = new Map(); // `${id} ${size}` → { async: [], cpu: [], sync: Map(c → []) }
      for (const size of sizes) {
        for (const s of active) raw.set(`${s.id} ${size}`, { async: [], cpu: [], sync: new Map(CONCURRENCY.map((c) => [c, []])) });
        for (let r = 0; r < options.runs; r++) {
          for (const system of active) {
            ctx.log(`peers ${sizeLabel(size)} run ${r + 1}/${options.runs}: ${system.id}`);
            const slot = raw.get(`${system.id} ${size}`);
            const a = await guarded(system, `async ${sizeLabel(size)}`, () => measureAsync(system, env, size, options));
            if (a) {
              slot.async.push(a.perSecond);
              slot.cpu.push(a.cpuNsPerMessage);
            }
            const sync = await guarded(system, `sync ${sizeLabel(size)}`, () =>
              measureSync(system, env, size, options, CONCURRENCY, false),
            );
            if (sync) for (const [c, v] of sync) slot.sync.get(c).push(v);
          }
        }
      }

      const results = [];
      for (const size of sizes) {
        for (const system of systems) {
          const slot = raw.get(`${system.id} ${size}`);
          const row = { system: system.id, label: system.label, payload: sizeLabel(size), payloadBytes: size };
          if (skipped.has(system.id) || slot === undefined || slot.async.length === 0) {
            row.skipped = skipped.get(system.id) ?? 'not measured';
            results.push(row);
            continue;
          }
          row.asyncPerSecond = summarize(slot.async);
          row.asyncCpuNsPerMessage = {
            client: summarize(slot.cpu.map((c) => c.client)).median,
            server: summarize(slot.cpu.map((c) => c.server)).median,
          };
          row.sync = {};
          for (const c of CONCURRENCY) {
            const list = slot.sync.get(c);
            if (list.length === 0) continue;
            row.sync[c] = {
              perSecond: summarize(list.map((v) => v.perSecond)),
              p50: summarize(list.map((v) => v.p50)),
              p99: summarize(list.map((v) => v.p99)),
              clientCpuNsPerRequest: summarize(list.map((v) => v.clientCpuNsPerRequest)).median,
            };
          }
          results.push(row);
        }
      }

      // Scatter-gather: one request, 8 responders in 2 processes.
      const scatter = [];
      for (const id of SCATTER_SYSTEMS) {
        const system = SYSTEMS.find((s) => s.id === id);
        if (options.quick && id !== 'systemge-tcp') continue;
        if (id === 'nats' && env.nats === undefined) {
          scatter.push({ system: id, label: system.label, skipped: skipped.get('nats') ?? 'nats-server not available' });
          continue;
        }
        const perC = new Map(SCATTER.concurrency.map((c) => [c, []]));
        let reason;
        for (let r = 0; r < options.runs && reason === undefined; r++) {
          ctx.log(`peers scatter-gather run ${r + 1}/${options.runs}: ${id}`);
          try {
            const m = await measureSync(system, env, SCATTER.size, options, SCATTER.concurrency, true);
            for (const [c, v] of m) perC.get(c).push(v);
          } catch (err) {
            if (OWN.has(id)) throw err;
            reason = `failed: ${err.message.split('\n')[0]}`;
          }
        }
        const row = { system: id, label: system.label, responders: SCATTER.responders, processes: SCATTER.processes };
        if (reason) row.skipped = reason;
        else {
          for (const c of SCATTER.concurrency) {
            const list = perC.get(c);
            row[c] = {
              perSecond: summarize(list.map((v) => v.perSecond)),
              p50: summarize(list.map((v) => v.p50)),
              p99: summarize(list.map((v) => v.p99)),
            };
          }
        }
        scatter.push(row);
      }

      // Memory per idle connection.
      const memory = [];
      const limit = await openFileLimit();
      for (const id of options.quick ? MEMORY_SYSTEMS.slice(0, 1) : MEMORY_SYSTEMS) {
        const system = SYSTEMS.find((s) => s.id === id);
        if (limit !== undefined && limit < memoryConnections + 200) {
          memory.push({ system: id, label: system.label, skipped: `ulimit -n is ${limit}, ${memoryConnections} connections need more` });
          continue;
        }
        ctx.log(`peers memory: ${id}, ${memoryConnections} connections`);
        const list = [];
        for (let r = 0; r < options.runs; r++) list.push(await measureMemory(system, env, memoryConnections));
        memory.push({
          system: id,
          label: system.label,
          connections: memoryConnections,
          serverRssPerConnection: summarize(list.map((m) => m.serverRssPerConnection)),
          serverHeapPerConnection: summarize(list.map((m) => m.serverHeapPerConnection)),
          clientRssPerConnection: summarize(list.map((m) => m.clientRssPerConnection)),
          serverRssBaseline: summarize(list.map((m) => m.serverRssBaseline)).median,
        });
      }

      const goals = computeGoals(results, sizes);
      const report = renderReport({ results, scatter, memory, goals, versions, options, failures, retried });
      const dir = options.quick ? path.join(BENCH_DIR, 'results', 'tmp') : path.join(BENCH_DIR, 'results');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'peers.md'), report.markdown);
      await writeFile(path.join(dir, 'peers.svg'), renderChart(results, sizes, systems, options));
      return {
        columns: report.columns,
        rows: report.rows,
        results: { throughput: results, scatterGather: scatter, memory, goals, versions, failures, retried },
        notes: report.notes,
      };
    } finally {
      await env.nats?.stop();
      await env.tls?.remove();
    }
  },
};

async function openFileLimit() {
  try {
    const { stdout } = await run('sh', ['-c', 'ulimit -n'], { timeout: 5000 });
    const n = Number(stdout.trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function computeGoals(results, sizes) {
  const goals = [];
  const get = (id, size) => results.find((r) => r.system === id && r.payloadBytes === size && r.skipped === undefined);
  for (const size of sizes) {
    const sg = get('systemge-tcp', size);
    const raw = get('raw', size);
    const molecules = ['moleculer-json', 'moleculer-cbor'].map((id) => get(id, size)).filter(Boolean);
    const bestMoleculer = molecules.sort((a, b) => b.asyncPerSecond.median - a.asyncPerSecond.median)[0];
    const nats = get('nats', size);
    const label = sizeLabel(size);
    const add = (goal, value, target, compare, against) =>
      goals.push({ payload: label, goal, value, target, met: value === undefined ? undefined : compare(value, target), against });
    add('async msgs/s ≥ 60 % of raw', ratio(sg?.asyncPerSecond.median, raw?.asyncPerSecond.median), 0.6, (v, t) => v >= t, 'raw');
    add(
      'async msgs/s ≥ 3× Moleculer',
      ratio(sg?.asyncPerSecond.median, bestMoleculer?.asyncPerSecond.median),
      3,
      (v, t) => v >= t,
      bestMoleculer?.system ?? 'moleculer',
    );
    add(
      'sync req/s c=100 ≥ 50 % of raw',
      ratio(sg?.sync?.[100]?.perSecond.median, raw?.sync?.[100]?.perSecond.median),
      0.5,
      (v, t) => v >= t,
      'raw',
    );
    add(
      'sync req/s c=100 ≥ 2× NATS',
      ratio(sg?.sync?.[100]?.perSecond.median, nats?.sync?.[100]?.perSecond.median),
      2,
      (v, t) => v >= t,
      'nats',
    );
    add('p99 c=100 ≤ 2× raw', ratio(sg?.sync?.[100]?.p99.median, raw?.sync?.[100]?.p99.median), 2, (v, t) => v <= t, 'raw');
  }
  return goals;
}

function renderReport({ results, scatter, memory, goals, versions, options, failures, retried }) {
  const columns = [
    { key: 'payload', title: 'payload' },
    { key: 'system', title: 'system' },
    { key: 'async', title: 'async msgs/s', align: 'right' },
    { key: 'sync1', title: 'sync req/s c=1', align: 'right' },
    { key: 'lat1', title: 'p50 / p99 ms c=1', align: 'right' },
    { key: 'sync100', title: 'sync req/s c=100', align: 'right' },
    { key: 'lat100', title: 'p50 / p99 ms c=100', align: 'right' },
  ];
  const rows = results.map((r) =>
    r.skipped !== undefined
      ? { payload: r.payload, system: r.label, async: `skipped: ${r.skipped}`, sync1: '', lat1: '', sync100: '', lat100: '' }
      : {
          payload: r.payload,
          system: r.label,
          async: fmtSummary(r.asyncPerSecond),
          sync1: r.sync[1] ? fmtSummary(r.sync[1].perSecond) : '–',
          lat1: fmtLatency(r.sync[1]?.p50, r.sync[1]?.p99),
          sync100: r.sync[100] ? fmtSummary(r.sync[100].perSecond) : '–',
          lat100: fmtLatency(r.sync[100]?.p50, r.sync[100]?.p99),
        },
  );
  const m = machineInfo();
  const header = `${m.cpuModel}, ${m.cores} cores, ${m.platform}, ${options.runs} run(s) × ${options.seconds} s after ${options.warmupSeconds} s warmup, medians (min–max). Load average at the end ${m.loadAverage.join(' ')}: the machine is shared with other work, so absolute numbers are conservative; compare rows of one run.`;
  const versionLine = `Versions: ${Object.entries(versions)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.`;
  const scatterColumns = [
    { key: 'system', title: 'scatter-gather (1 → 8, 100 B)' },
    { key: 'c1', title: 'req/s c=1', align: 'right' },
    { key: 'l1', title: 'p50 / p99 ms c=1', align: 'right' },
    { key: 'c100', title: 'req/s c=100', align: 'right' },
    { key: 'l100', title: 'p50 / p99 ms c=100', align: 'right' },
  ];
  const scatterRows = scatter.map((r) =>
    r.skipped
      ? { system: r.label, c1: `skipped: ${r.skipped}`, l1: '', c100: '', l100: '' }
      : {
          system: r.label,
          c1: fmtSummary(r[1].perSecond),
          l1: fmtLatency(r[1].p50, r[1].p99),
          c100: fmtSummary(r[100].perSecond),
          l100: fmtLatency(r[100].p50, r[100].p99),
        },
  );
  const kib = (v) => `${(v / 1024).toFixed(1)} KiB`;
  const memoryColumns = [
    { key: 'system', title: 'idle connections' },
    { key: 'n', title: 'connections', align: 'right' },
    { key: 'rss', title: 'server RSS / connection', align: 'right' },
    { key: 'heap', title: 'server heap / connection', align: 'right' },
    { key: 'client', title: 'client RSS / connection', align: 'right' },
  ];
  const memoryRows = memory.map((r) =>
    r.skipped
      ? { system: r.label, n: '', rss: `skipped: ${r.skipped}`, heap: '', client: '' }
      : {
          system: r.label,
          n: String(r.connections),
          rss: `${kib(r.serverRssPerConnection.median)} (${kib(r.serverRssPerConnection.min)}–${kib(r.serverRssPerConnection.max)})`,
          heap: kib(r.serverHeapPerConnection.median),
          client: kib(r.clientRssPerConnection.median),
        },
  );
  const goalColumns = [
    { key: 'payload', title: 'payload' },
    { key: 'goal', title: 'goal (Systemge TCP)' },
    { key: 'value', title: 'measured', align: 'right' },
    { key: 'met', title: 'met' },
  ];
  const goalRows = goals.map((g) => ({
    payload: g.payload,
    goal: g.goal,
    value:
      g.value === undefined ? 'n/a' : g.target < 1 && g.goal.includes('%') ? `${(g.value * 100).toFixed(0)} %` : `${g.value.toFixed(2)}×`,
    met: g.met === undefined ? `n/a (${g.against} not measured)` : g.met ? 'yes' : 'no',
  }));
  const notes = [
    header,
    versionLine,
    markdownTable(scatterColumns, scatterRows),
    markdownTable(memoryColumns, memoryRows),
    // A quick run (the smoke test in `pnpm test`) measures too briefly to judge the goals.
    options.quick
      ? 'Goals: not checked in a quick run (0.25 s measurements only show that every system runs); `pnpm bench:peers` checks them.'
      : markdownTable(goalColumns, goalRows),
    "async: messages/s counted by the receiving process over one connection, the sender pushing as fast as the system's backpressure allows (1 MiB in flight). sync: requests/s of one client process with c requests outstanding over one connection, each echoed by the server; latency from request to response in the client. Raw and ws match responses by order (no correlation id): a lower bound. NATS traffic goes through nats-server (a third process).",
    'Memory: RSS of the accepting process after garbage collection with N idle connections (Systemge: handshaken peer nodes; raw: sockets) minus the same process before any connection, divided by N.',
  ];
  if (retried.length > 0)
    notes.push(`Repeated after a failure: ${retried.map((f) => `${f.system} (${f.what}): ${f.error.split('\n')[0]}`).join('; ')}`);
  if (failures.length > 0) notes.push(`Failures: ${failures.map((f) => `${f.system} (${f.what}): ${f.error.split('\n')[0]}`).join('; ')}`);
  const markdown = [
    '# Systemge vs peers',
    '',
    markdownTable(columns, rows),
    '',
    ...notes.flatMap((n) => [n, '']),
    '![chart](peers.svg)',
    '',
  ].join('\n');
  return { columns, rows, notes, markdown };
}

function renderChart(results, sizes, systems, options) {
  const measured = results.filter((r) => r.skipped === undefined);
  const groups = [];
  for (const size of sizes) {
    const at = (id) => measured.find((r) => r.system === id && r.payloadBytes === size);
    groups.push({ label: `async ${sizeLabel(size)}`, values: new Map(systems.map((s) => [s.label, at(s.id)?.asyncPerSecond.median])) });
    for (const c of CONCURRENCY) {
      groups.push({
        label: `sync c=${c} ${sizeLabel(size)}`,
        values: new Map(systems.map((s) => [s.label, at(s.id)?.sync[c]?.perSecond.median])),
      });
    }
  }
  const skippedLabels = results.filter((r) => r.skipped !== undefined).map((r) => r.label);
  const m = machineInfo();
  return groupedBarChart({
    title: 'Systemge vs peers: async msgs/s and sync req/s (log scale)',
    subtitle: `two processes on 127.0.0.1, ${m.cores} cores (shared), Node ${m.node}, medians of ${options.runs} run(s) × ${options.seconds} s${skippedLabels.length ? `; skipped: ${[...new Set(skippedLabels)].join(', ')}` : ''}`,
    yLabel: 'messages or requests per second',
    groups,
    systems: systems.map((s) => s.label),
  });
}
