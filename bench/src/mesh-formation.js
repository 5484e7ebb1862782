/**
 * Mesh formation through etcd (standalone script, not part of `run.js`): starts one etcd, then N
 * nodes in P child processes, each node on its own loopback address (127.0.0.2, 127.0.0.3, …),
 * given only the etcd address. Measures how long until every node sees exactly the peers it
 * should, how many connections each node holds, and how many dials that took.
 *
 *   node src/mesh-formation.js [--nodes 30] [--processes 30,6] [--connect all,uses] [--services 3]
 *                              [--runs 1] [--timeout 300] [--lease-ttl 10] [--out mesh-formation] [--quick]
 *
 * Variants: `all` (`connectTo: 'all'`, the full mesh: N − 1 peers each) and `uses` (node i belongs
 * to service i mod S, answers topic `svc-<s>` and uses `svc-<s+1 mod S>`: it dials the nodes of
 * the next service and is dialed by those of the previous one). Each process layout × variant is
 * a fresh set of processes under a fresh etcd cluster name; layouts and variants are interleaved
 * when `--runs` > 1. Writes `results/<out>.{json,md}`, default `mesh-formation` (`--quick`: `results/tmp/`).
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expectMessage, spawnChild, stopAll } from './children.js';
import { BENCH_DIR, machineInfo, markdownTable, summarize, writeResults } from './harness.js';
import { etcdBinary, startEtcd } from '@systemge/discovery-etcd/testing';

const MEMBER = fileURLToPath(new URL('./mesh/member.js', import.meta.url));

/** Defaults of the full run, and of `--quick` (a smoke run of a few nodes). */
export const DEFAULTS = {
  nodes: 30,
  processes: [30],
  connect: ['all', 'uses'],
  services: 3,
  runs: 1,
  timeoutSeconds: 300,
  leaseTtlSeconds: 10,
};
const QUICK = { nodes: 6, processes: [3], timeoutSeconds: 60 };

export function parseMeshOptions(argv) {
  const opts = { ...DEFAULTS, out: 'mesh-formation', quick: false };
  const explicit = new Set();
  const positive = (flag, text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got ${text}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    explicit.add(arg);
    if (arg === '--nodes') opts.nodes = positive(arg, value());
    else if (arg === '--processes')
      opts.processes = value()
        .split(',')
        .map((p) => positive(arg, p));
    else if (arg === '--connect') {
      opts.connect = value().split(',');
      for (const c of opts.connect) if (c !== 'all' && c !== 'uses') throw new Error(`--connect takes all and/or uses, got ${c}`);
    } else if (arg === '--services') opts.services = positive(arg, value());
    else if (arg === '--runs') opts.runs = positive(arg, value());
    else if (arg === '--timeout') opts.timeoutSeconds = positive(arg, value());
    else if (arg === '--lease-ttl') opts.leaseTtlSeconds = positive(arg, value());
    else if (arg === '--out') opts.out = value();
    else if (arg === '--quick') opts.quick = true;
    else if (arg === '--help') opts.help = true;
    else throw new Error(`unknown option ${arg} (--help lists them)`);
  }
  if (opts.quick) {
    if (!explicit.has('--nodes')) opts.nodes = QUICK.nodes;
    if (!explicit.has('--processes')) opts.processes = QUICK.processes;
    if (!explicit.has('--timeout')) opts.timeoutSeconds = QUICK.timeoutSeconds;
  }
  if (!/^[\w.-]+$/.test(opts.out)) throw new Error(`--out ${opts.out}: a file name (letters, digits, ".", "_", "-")`);
  if (opts.nodes + 1 > 254) throw new Error(`--nodes ${opts.nodes}: at most 253 (one loopback address each, 127.0.0.2 to 127.0.0.254)`);
  opts.processes = opts.processes.map((p) => Math.min(p, opts.nodes));
  return opts;
}

/** Binds port 0 on each host for a moment; resolves with the hosts that could not be bound. */
async function unbindable(hosts) {
  const failed = [];
  for (const host of hosts) {
    const ok = await new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(0, host, () => server.close(() => resolve(true)));
    });
    if (!ok) failed.push(host);
  }
  return failed;
}

/**
 * The nodes of one variant: name, address, topic served, topic used (null: connect to all) and
 * the peers the full mesh gives each (the nodes it dials and those that dial it).
 */
export function planNodes(count, connect, services, hosts) {
  const service = (i) => i % services;
  const nodes = Array.from({ length: count }, (_, i) => ({
    name: `n${String(i).padStart(3, '0')}`,
    host: hosts[i],
    serves: `svc-${service(i)}`,
    uses: connect === 'all' ? null : `svc-${(service(i) + 1) % services}`,
    expected: [],
  }));
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      const linked = connect === 'all' || a.uses === b.serves || b.uses === a.serves;
      if (linked) a.expected.push(b.name);
    }
  }
  return nodes;
}

/**
 * Starts the nodes of one variant in `processes` children, waits for the full mesh (or the
 * timeout) and returns the timings and counts. The children are ended before it returns.
 */
async function measure({ endpoint, cluster, nodes, processes, leaseTtlSeconds, timeoutSeconds, log }) {
  const groups = Array.from({ length: processes }, () => []);
  nodes.forEach((node, i) => groups[i % processes].push(node));
  const state = new Map(nodes.map((n) => [n.name, false]));
  let completeCount = nodes.filter((n) => n.expected.length === 0).length;
  const children = [];
  let full;
  let fullAt;
  const fullMesh = new Promise((resolve) => {
    full = resolve;
  });
  const onMessage = (msg) => {
    if (msg.type !== 'complete' && msg.type !== 'incomplete') return;
    const was = state.get(msg.name);
    const now = msg.type === 'complete';
    if (was === now) return;
    state.set(msg.name, now);
    completeCount += now ? 1 : -1;
    if (completeCount === nodes.length && fullAt === undefined) {
      fullAt = msg.at;
      full();
    }
  };
  try {
    const firstSpawnAt = Date.now();
    const ready = [];
    for (const group of groups) {
      const child = spawnChild(MEMBER, [JSON.stringify({ endpoint, cluster, leaseTtlSeconds, nodes: group })], {
        label: `mesh process of ${group.map((n) => n.name).join(',')}`,
      });
      child.on('message', onMessage);
      children.push(child);
      const spawnedAt = Date.now();
      ready.push(
        expectMessage(child, 'ready', timeoutSeconds * 1000).then((m) => ({
          at: m.at,
          readyMs: m.at - spawnedAt,
          loadMs: m.loadMs,
          startMs: m.startMs,
        })),
      );
    }
    const lastSpawnAt = Date.now();
    const timeout = new Promise((resolve) => setTimeout(resolve, timeoutSeconds * 1000).unref());
    const readiness = await Promise.all(ready);
    await Promise.race([fullMesh, timeout]);
    const readCounts = async () =>
      (
        await Promise.all(
          children.map((child) => {
            const reply = expectMessage(child, 'counts', 30_000);
            child.send({ type: 'counts?' });
            return reply;
          }),
        )
      ).flatMap((m) => m.nodes);
    // Where both sides of a pair dialed, each has a peer before the two agree on the connection
    // they keep: the counts are read once they agree (or after 10 s, and then say so).
    let counts = await readCounts();
    const settleBy = Date.now() + 10_000;
    while (fullAt !== undefined && mismatched(counts) > 0 && Date.now() < settleBy) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      counts = await readCounts();
    }
    if (fullAt === undefined) log(`  no full mesh within ${timeoutSeconds} s: ${completeCount} of ${nodes.length} nodes complete`);
    return { firstSpawnAt, lastSpawnAt, fullAt, completeNodes: completeCount, readiness, counts };
  } finally {
    await stopAll(children);
  }
}

/** Pairs where a's view of who dialed differs from b's. */
function mismatched(counts) {
  const byName = new Map(counts.map((c) => [c.name, c]));
  let pairs = 0;
  for (const a of counts) {
    for (const name of a.dialedPeers) if (!byName.get(name)?.acceptedPeers.includes(a.name)) pairs++;
    for (const name of a.acceptedPeers) {
      // Counted once per pair: from the side whose name sorts first, or when only this side knows it.
      const b = byName.get(name);
      if (b !== undefined && !b.dialedPeers.includes(a.name) && (a.name < name || !b.acceptedPeers.includes(a.name))) pairs++;
    }
  }
  return pairs;
}

/** The figures of one measurement: seconds to the full mesh, connections per node, dials. */
export function summarizeMeasurement(nodes, m) {
  const connections = m.counts.map((c) => c.connectionsIn + c.connectionsOut);
  const sum = (key) => m.counts.reduce((total, c) => total + c[key], 0);
  const pairs = nodes.reduce((total, n) => total + n.expected.length, 0) / 2;
  const dials = sum('dials');
  const failedDials = sum('failedDials');
  const outgoing = sum('connectionsOut');
  return {
    formed: m.fullAt !== undefined,
    completeNodes: m.completeNodes,
    firstSpawnToFullMs: m.fullAt === undefined ? null : m.fullAt - m.firstSpawnAt,
    lastSpawnToFullMs: m.fullAt === undefined ? null : m.fullAt - m.lastSpawnAt,
    // Discovery's share alone: from the moment the last process had started its nodes.
    lastReadyToFullMs: m.fullAt === undefined ? null : Math.max(0, m.fullAt - Math.max(...m.readiness.map((r) => r.at))),
    spawnToReadyMs: summarize(m.readiness.map((r) => r.readyMs)),
    // Of that: loading the modules, then starting the nodes (listen, register in etcd, first list).
    loadMs: summarize(m.readiness.map((r) => r.loadMs)),
    startMs: summarize(m.readiness.map((r) => r.startMs)),
    connectionsPerNode: summarize(connections),
    expectedPerNode: summarize(nodes.map((n) => n.expected.length)),
    pairs,
    dials,
    // A dial that ends neither in a failure nor as the kept connection lost to the pair's other dial.
    duplicateDials: dials - failedDials - outgoing,
    failedDials,
    refused: sum('refused'),
    handshakeFailures: sum('handshakeFailures'),
    gaveUp: sum('gaveUp'),
    selfDials: sum('selfDials'),
    // Pairs whose two sides do not hold the same connection: each thinks the other dialed (or both
    // think they did). One connection per pair means zero.
    mismatchedPairs: mismatched(m.counts),
    perNode: m.counts,
  };
}

/** Runs every layout × variant `runs` times (interleaved); resolves with the results object. */
export async function runMeshFormation(opts, log = (line) => process.stderr.write(`${line}\n`)) {
  const wanted = Array.from({ length: opts.nodes }, (_, i) => `127.0.0.${i + 2}`);
  const failed = await unbindable(wanted);
  const hosts = failed.length === 0 ? wanted : wanted.map(() => '127.0.0.1');
  const addressNote =
    failed.length === 0
      ? `each node on its own loopback address, 127.0.0.2 to 127.0.0.${opts.nodes + 1}`
      : `could not bind ${failed.join(', ')}: every node on 127.0.0.1`;
  log(`mesh-formation: ${opts.nodes} nodes, ${addressNote}`);
  const loadBefore = machineInfo().loadAverage;
  const etcd = await startEtcd();
  const measurements = [];
  try {
    let clusterSeq = 0;
    for (let run = 0; run < opts.runs; run++) {
      for (const processes of opts.processes) {
        for (const connect of opts.connect) {
          const nodes = planNodes(opts.nodes, connect, opts.services, hosts);
          const cluster = `bench-${process.pid}-${clusterSeq++}`;
          log(`  run ${run + 1}: ${connect}, ${opts.nodes} nodes in ${processes} processes`);
          const m = await measure({
            endpoint: etcd.endpoint,
            cluster,
            nodes,
            processes,
            leaseTtlSeconds: opts.leaseTtlSeconds,
            timeoutSeconds: opts.timeoutSeconds,
            log,
          });
          const figures = summarizeMeasurement(nodes, m);
          log(
            `    full mesh ${figures.formed ? `${figures.firstSpawnToFullMs} ms after the first spawn` : 'not formed'}, ` +
              `connections/node ${figures.connectionsPerNode.min}–${figures.connectionsPerNode.max}, ` +
              `${figures.dials} dials for ${figures.pairs} pairs`,
          );
          measurements.push({ run, connect, processes, nodes: opts.nodes, services: opts.services, ...figures });
        }
      }
    }
  } finally {
    await etcd.remove();
  }
  return {
    machine: machineInfo(),
    loadAverageBefore: loadBefore,
    options: { ...opts },
    addresses: addressNote,
    measurements,
  };
}

const seconds = (ms) => (ms === null ? 'not formed' : (ms / 1000).toFixed(2));
const spread = (s) => `${s.min} / ${s.median} / ${s.max}`;

/** The markdown report of a results object. */
export function meshFormationMarkdown(results) {
  const { machine, options } = results;
  const columns = [
    { key: 'variant', title: 'variant' },
    { key: 'layout', title: 'nodes × processes' },
    { key: 'first', title: 'first spawn → full mesh, s', align: 'right' },
    { key: 'last', title: 'last spawn → full mesh, s', align: 'right' },
    { key: 'lastReady', title: 'last process ready → full mesh, s', align: 'right' },
    { key: 'ready', title: 'spawn → process ready, s (median / max)', align: 'right' },
    { key: 'start', title: 'of which node.start(), s (median / max)', align: 'right' },
    { key: 'connections', title: 'connections/node min / median / max (expected)', align: 'right' },
    { key: 'dials', title: 'dials / pairs', align: 'right' },
    { key: 'problems', title: 'duplicate / failed / refused / self dials', align: 'right' },
    { key: 'split', title: 'split pairs', align: 'right' },
  ];
  const rows = results.measurements.map((m) => ({
    variant:
      m.connect === 'all'
        ? "`connectTo: 'all'`"
        : `\`uses\` (${m.services} services, ${m.services === 2 ? 'each uses the other' : 'each uses the next'})`,
    layout: `${m.nodes} in ${m.processes}`,
    first: seconds(m.firstSpawnToFullMs),
    last: seconds(m.lastSpawnToFullMs),
    lastReady: seconds(m.lastReadyToFullMs),
    ready: `${(m.spawnToReadyMs.median / 1000).toFixed(2)} / ${(m.spawnToReadyMs.max / 1000).toFixed(2)}`,
    start: `${(m.startMs.median / 1000).toFixed(2)} / ${(m.startMs.max / 1000).toFixed(2)}`,
    connections: `${spread(m.connectionsPerNode)} (${m.expectedPerNode.min === m.expectedPerNode.max ? m.expectedPerNode.min : spread(m.expectedPerNode)})`,
    dials: `${m.dials} / ${m.pairs}`,
    problems: `${m.duplicateDials} / ${m.failedDials} / ${m.refused} / ${m.selfDials}`,
    split: String(m.mismatchedPairs),
  }));
  return [
    '# mesh-formation',
    '',
    `\`node src/mesh-formation.js --nodes ${options.nodes} --processes ${options.processes.join(',')} --connect ${options.connect.join(',')} --services ${options.services} --runs ${options.runs}${options.out === 'mesh-formation' ? '' : ` --out ${options.out}`}\``,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.date}. ` +
      `Load average (1/5/15 min) ${results.loadAverageBefore.join(' / ')} before, ${machine.loadAverage.join(' / ')} after. ` +
      `One etcd, nodes given only its address, lease TTL ${options.leaseTtlSeconds} s; ${results.addresses}.`,
    '',
    markdownTable(columns, rows),
    '',
    'Full mesh: every node has exactly the peers it should (all others, or the nodes it uses and those that use it). ' +
      'Dials: connection attempts of all nodes; a duplicate dial is one that ended neither failed nor as the kept connection. ' +
      'Refused: incoming connections refused by a node. Split pairs: pairs whose two sides do not hold the same ' +
      'connection when the counts were read (once they agree, at most 10 s after the full mesh).',
    '',
  ].join('\n');
}

async function main() {
  const opts = parseMeshOptions(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(
      `${fileURLToPath(import.meta.url)
        .split('/')
        .pop()} [--nodes ${DEFAULTS.nodes}] [--processes ${DEFAULTS.processes.join(',')}] ` +
        `[--connect all,uses] [--services ${DEFAULTS.services}] [--runs 1] [--timeout ${DEFAULTS.timeoutSeconds}] ` +
        `[--lease-ttl ${DEFAULTS.leaseTtlSeconds}] [--out mesh-formation] [--quick]\n`,
    );
    return;
  }
  if (etcdBinary() === undefined) throw new Error('etcd not found: apt-get install -y etcd-server, or set SYSTEMGE_ETCD');
  const results = await runMeshFormation(opts);
  const jsonFile = await writeResults(opts.out, { quick: opts.quick }, results);
  const mdFile = path.join(path.dirname(jsonFile), `${opts.out}.md`);
  const markdown = meshFormationMarkdown(results);
  await writeFile(mdFile, markdown);
  process.stdout.write(`${markdown}\n`);
  process.stderr.write(`wrote ${path.relative(BENCH_DIR, jsonFile)} and ${path.relative(BENCH_DIR, mdFile)}\n`);
  if (results.measurements.some((m) => !m.formed)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
}
