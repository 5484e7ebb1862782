/**
 * Balanced request/response: one client process asks ONE of 4 responder processes per request,
 * at concurrency 1 and 100 (100 B text payload, echoed). Systemge `node.request()` (round-robin)
 * against NATS request/reply to a queue group (nats.js + a local nats-server: each request goes to
 * one subscriber of the group) and Moleculer `broker.call` with its RoundRobin strategy (TCP
 * transporter, JSON). Reports req/s and p50/p99 latency in the client.
 *
 * Writes results/balanced.json (via run.js). Quick mode: Systemge only.
 */
import { expectMessage, failureOf, sleep, stopAll } from '../children.js';
import { formatNumber, machineInfo, summarize } from '../harness.js';
import { freePort, natsServerAvailable, startNatsServer } from '../peers/nats-server.js';
import { ask, spawnPeer } from '../peers/processes.js';
import { packageVersion } from './peers.js';

const RESPONDERS = 4;
const SIZE = 100;
const CONCURRENCY = [1, 100];
const SYSTEMS = [
  { id: 'systemge-tcp', label: 'Systemge TCP `request()` round-robin', adapter: 'systemge' },
  { id: 'nats', label: 'NATS queue group request/reply', adapter: 'nats', nats: true },
  { id: 'moleculer-json', label: 'Moleculer `broker.call` RoundRobin (TCP, JSON)', adapter: 'moleculer', serializer: 'JSON' },
];
const OWN = new Set(['systemge-tcp']);

/** Per-process options: Moleculer needs every node's address up front and a nodeID per server. */
async function processOptions(system) {
  if (system.adapter !== 'moleculer') return { servers: Array.from({ length: RESPONDERS }, () => ({})), client: {} };
  const ports = await Promise.all(Array.from({ length: RESPONDERS + 1 }, () => freePort()));
  const ids = [...Array.from({ length: RESPONDERS }, (_, i) => `server-${i}`), 'client'];
  const urls = ids.map((id, i) => `127.0.0.1:${ports[i]}/${id}`);
  const base = { serializer: system.serializer, moleculerUrls: urls };
  return {
    servers: ids.slice(0, RESPONDERS).map((nodeID, i) => ({ ...base, nodeID, moleculerPort: ports[i] })),
    client: { ...base, moleculerPort: ports[RESPONDERS], servers: RESPONDERS },
  };
}

async function measure(system, env, options) {
  const config = { size: SIZE };
  if (system.nats) config.natsUrl = env.nats.url;
  const per = await processOptions(system);
  const children = [];
  try {
    const servers = per.servers.map((o, group) => {
      const s = spawnPeer('server', system.adapter, { ...config, group, count: 1, options: o });
      children.push(s);
      return s;
    });
    const ports = (await Promise.all(servers.map((s) => expectMessage(s, 'ready', 20_000)))).flatMap((r) => r.ports);
    const client = spawnPeer('client', system.adapter, { ...config, ports, options: per.client });
    children.push(client);
    await expectMessage(client, 'ready', 30_000);
    const out = new Map();
    const budget = CONCURRENCY.length * ((options.warmupSeconds + options.seconds) * 1000 + 20_000);
    const failed = failureOf(children, budget);
    for (const concurrency of CONCURRENCY) {
      await Promise.race([ask(client, 'sync', { concurrency, scatter: 0, balanced: true }, 'sync:ok', 30_000), failed]);
      await Promise.race([sleep(options.warmupSeconds * 1000), failed]);
      const c0 = await Promise.race([ask(client, 'mark'), failed]);
      await Promise.race([sleep(options.seconds * 1000), failed]);
      const c1 = await Promise.race([ask(client, 'result'), failed]);
      await Promise.race([ask(client, 'halt', {}, 'halt:ok', 15_000), failed]);
      if (c1.completed === 0) throw new Error(`${system.id}: no request completed at concurrency ${concurrency}`);
      out.set(concurrency, { perSecond: c1.completed / ((c1.ns - c0.ns) / 1e9), p50: c1.p50, p99: c1.p99 });
    }
    return out;
  } finally {
    await stopAll(children);
  }
}

const fmtMs = (v) => (v === undefined ? '–' : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtRate = (s) =>
  s.values.length === 1 ? formatNumber(s.median) : `${formatNumber(s.median)} (${formatNumber(s.min)}–${formatNumber(s.max)})`;

export const scenario = {
  name: 'balanced',
  description: `balanced request/response: one client, ${RESPONDERS} responder processes, each request answered by one of them (${SIZE} B)`,
  async run(ctx) {
    const { options } = ctx;
    const systems = options.quick ? SYSTEMS.filter((s) => OWN.has(s.id)) : SYSTEMS;
    const env = {};
    const skipped = new Map();
    const versions = {
      node: process.version,
      '@systemge/node': await packageVersion('@systemge/node'),
      nats: await packageVersion('nats'),
      moleculer: await packageVersion('moleculer'),
    };
    try {
      if (systems.some((s) => s.nats)) {
        const available = await natsServerAvailable();
        if (available.missing) skipped.set('nats', available.missing);
        else {
          versions['nats-server'] = available.version;
          env.nats = await startNatsServer();
        }
      }
      const samples = new Map(systems.map((s) => [s.id, new Map(CONCURRENCY.map((c) => [c, []]))]));
      for (let r = 0; r < options.runs; r++) {
        for (const system of systems) {
          if (skipped.has(system.id)) continue;
          ctx.log(`balanced run ${r + 1}/${options.runs}: ${system.id}`);
          try {
            const m = await measure(system, env, options);
            for (const [c, v] of m) samples.get(system.id).get(c).push(v);
          } catch (err) {
            if (OWN.has(system.id)) throw err;
            skipped.set(system.id, `failed: ${err.message.split('\n')[0]}`);
            ctx.log(`balanced: ${system.id} ${skipped.get(system.id)}`);
          }
        }
      }
      const results = systems.map((system) => {
        const row = { system: system.id, label: system.label };
        if (skipped.has(system.id)) return { ...row, skipped: skipped.get(system.id) };
        for (const c of CONCURRENCY) {
          const list = samples.get(system.id).get(c);
          row[c] = {
            perSecond: summarize(list.map((v) => v.perSecond)),
            p50: summarize(list.map((v) => v.p50)),
            p99: summarize(list.map((v) => v.p99)),
          };
        }
        return row;
      });
      const columns = [
        { key: 'system', title: `system (1 client → one of ${RESPONDERS} responder processes)` },
        { key: 'c1', title: 'req/s c=1', align: 'right' },
        { key: 'l1', title: 'p50 / p99 ms c=1', align: 'right' },
        { key: 'c100', title: 'req/s c=100', align: 'right' },
        { key: 'l100', title: 'p50 / p99 ms c=100', align: 'right' },
      ];
      const rows = results.map((r) =>
        r.skipped
          ? { system: r.label, c1: `skipped: ${r.skipped}`, l1: '', c100: '', l100: '' }
          : {
              system: r.label,
              c1: fmtRate(r[1].perSecond),
              l1: `${fmtMs(r[1].p50.median)} / ${fmtMs(r[1].p99.median)}`,
              c100: fmtRate(r[100].perSecond),
              l100: `${fmtMs(r[100].p50.median)} / ${fmtMs(r[100].p99.median)}`,
            },
      );
      const own = results.find((r) => r.system === 'systemge-tcp' && !r.skipped);
      const versus = results
        .filter((r) => r !== own && !r.skipped && own !== undefined)
        .map(
          (r) =>
            `${r.system}: ${(own[100].perSecond.median / r[100].perSecond.median).toFixed(2)}× req/s at c=100, p99 ${fmtMs(own[100].p99.median)} vs ${fmtMs(r[100].p99.median)} ms`,
        );
      const m = machineInfo();
      const notes = [
        `${m.cpuModel}, ${m.cores} cores, ${m.platform}, ${options.runs} run(s) × ${options.seconds} s after ${options.warmupSeconds} s warmup, medians (min–max). Load average at the end ${m.loadAverage.join(' ')}: the machine is shared with other work; compare rows of one run.`,
        `Versions: ${Object.entries(versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}.`,
        'Each system: 4 responder processes and 1 client process on 127.0.0.1 (NATS: plus nats-server). Latency from request to response in the client; c = requests outstanding.',
      ];
      if (versus.length > 0) notes.push(`Systemge against: ${versus.join('; ')}.`);
      return { columns, rows, notes, results: { results, versions } };
    } finally {
      await env.nats?.stop();
    }
  },
};
