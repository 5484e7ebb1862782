// `pnpm start` here: a mesh of node processes that find each other through etcd, watched on the dashboard.
//
// 1. etcd: the endpoints in ETCD_ENDPOINTS, else a local etcd started from PATH (temporary data dir).
// 2. The dashboard process (`systemge start` of a generated file): the dashboard and the `traffic` node,
//    which sends balanced `order` requests to the orders nodes and prints who answered.
// 3. MESH_NODES (default 6) node processes, each `systemge start` of its own generated file that names
//    only etcd: orders-1, catalog-1, stock-1, orders-2, … Orders nodes use `price` and `stock`;
//    catalog and stock nodes use nothing, so they dial no one and are dialed by the orders nodes only.
//
// Ctrl+C (or SIGTERM) stops every process and the local etcd.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const systemge = join(dirname(createRequire(import.meta.url).resolve('@systemge/cli/package.json')), 'bin', 'systemge.js');
const SERVICES = ['orders', 'catalog', 'stock'];
const USES = { orders: ['price', 'stock'], catalog: [], stock: [] };
const CLUSTER = 'mesh';
const LEASE_TTL_SECONDS = 5;

const count = Number(process.env.MESH_NODES ?? 6);
const dashboardPort = Number(process.env.MESH_DASHBOARD_PORT ?? 7080);
const summaryMs = Number(process.env.MESH_SUMMARY_MS ?? 5000);
if (!Number.isInteger(count) || count < 3 || count > 60) {
  console.error(`MESH_NODES is ${process.env.MESH_NODES}; give an integer from 3 to 60`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'systemge-mesh-'));
/** @type {Set<import('node:child_process').ChildProcess & { stage: string }>} */
const children = new Set();
let stopping = false;
/** The traffic summaries are shown once the mesh has formed (before, orders have no route yet). */
let formed = false;

/** The path of `command` on PATH, or undefined. */
function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const full = join(dir, command);
    if (dir !== '' && existsSync(full)) return full;
  }
  return undefined;
}

/** A port that was free a moment ago on 127.0.0.1 (etcd takes its ports on the command line). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Starts a child of a stop stage; `onLine` sees each stdout line. Its stderr goes to ours. */
function launch(name, stage, command, args, onLine) {
  const child = Object.assign(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), { stage });
  children.add(child);
  let rest = '';
  child.stdout.on('data', (chunk) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', (chunk) => process.stderr.write(chunk));
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) console.log(`${name} exited (${signal ?? `code ${code}`})`);
  });
  return child;
}

/** Resolves with the first match of `pattern` in the child's stdout; rejects when it exits first or after `timeoutMs`. */
function waitFor(child, lines, pattern, what, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within ${timeoutMs} ms`)), timeoutMs);
    const check = () => {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match);
          return true;
        }
      }
      return false;
    };
    if (check()) return;
    child.stdout.on('data', () => setImmediate(check));
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${what} exited before it was ready`));
    });
  });
}

/** Starts etcd from PATH on free loopback ports; resolves with its client URL once healthy. */
async function startEtcd(binary) {
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  let log = '';
  const child = spawn(
    binary,
    [
      '--name',
      'mesh',
      '--data-dir',
      join(work, 'etcd'),
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `mesh=${peer}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const tracked = Object.assign(child, { stage: 'etcd' });
  children.add(tracked);
  child.once('exit', () => children.delete(tracked));
  const append = (chunk) => {
    log = (log + chunk.toString('utf8')).slice(-5000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited before it was healthy:\n${log}`);
    try {
      const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
      const body = /** @type {{ health?: string }} */ (await res.json());
      if (body.health === 'true') return client;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd not healthy within 30 s:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The names registered under the mesh's prefix in etcd. */
async function registered(endpoints) {
  const prefix = `/systemge/${CLUSTER}/members/`;
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
  for (const endpoint of endpoints) {
    try {
      const res = await fetch(`${endpoint}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from(prefix).toString('base64'), range_end: end.toString('base64'), keys_only: true }),
        signal: AbortSignal.timeout(2000),
      });
      const body = /** @type {{ kvs?: { key: string }[] }} */ (await res.json());
      return (body.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString().slice(prefix.length));
    } catch {
      // next endpoint
    }
  }
  return [];
}

// Children run in their own process groups: a Ctrl+C or SIGINT sent to the whole group of this
// process reaches only this process, which stops them in order. Whatever is left when it exits is killed.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** SIGTERMs the children of one stage and waits for their exit. */
async function stopStage(stage) {
  const running = [...children].filter((child) => child.stage === stage);
  const exits = running.map(
    (child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve))),
  );
  for (const child of running) child.kill('SIGTERM');
  await Promise.all(exits);
}

/**
 * Stops in the reverse order of the start: the orders nodes (which dial), then the nodes they
 * dialed, each withdrawing its etcd record, then the dashboard the nodes link to, then etcd.
 */
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const stage of ['dialers', 'backends', 'dashboard', 'etcd']) await stopStage(stage);
  rmSync(work, { recursive: true, force: true });
  console.log('mesh: stopped');
  process.exit(code);
}

async function main() {
  let endpoints = (process.env.ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length > 0) {
    console.log(`etcd: ${endpoints.join(', ')} (from ETCD_ENDPOINTS)`);
  } else {
    const binary = onPath('etcd');
    if (binary === undefined) {
      console.error(
        'mesh: etcd is not on PATH and ETCD_ENDPOINTS is not set.\n' +
          '  Install etcd (Debian/Ubuntu: apt-get install etcd-server; others: https://etcd.io/docs/latest/install/)\n' +
          '  or point the example at a running etcd: ETCD_ENDPOINTS=http://127.0.0.1:2379 pnpm start',
      );
      rmSync(work, { recursive: true, force: true });
      process.exit(1);
    }
    endpoints = [await startEtcd(binary)];
    console.log(`etcd: ${endpoints[0]} (started here from ${binary})`);
  }
  const etcd = (uses) => ({
    kind: 'etcd',
    endpoints,
    cluster: CLUSTER,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
    connectTo: { uses },
  });

  // The dashboard UI is bundled from its sources, so this works right after `pnpm install`.
  const buildUI = fileURLToPath(new URL('../../packages/dashboard/scripts/build-ui.mjs', import.meta.url));
  if (existsSync(buildUI)) spawnSync(process.execPath, [buildUI, '--quiet'], { stdio: 'inherit' });

  const hubFile = join(work, 'dashboard.json');
  writeFileSync(
    hubFile,
    JSON.stringify({
      dashboard: { host: '127.0.0.1', port: dashboardPort, systemge: { host: '127.0.0.1', port: 0 } },
      nodes: [
        {
          name: 'traffic',
          application: join(here, 'traffic.js'),
          options: { summaryMs },
          listen: false,
          discovery: etcd(['order']),
        },
      ],
    }),
  );
  const hubLines = [];
  const hub = launch('dashboard', 'dashboard', process.execPath, [systemge, 'start', hubFile, '--log-level', 'warn'], (line) => {
    hubLines.push(line);
    if (formed && line.startsWith('traffic:')) console.log(line);
  });
  const [, dashboardURL] = await waitFor(hub, hubLines, /^dashboard: (\S+)/, 'the dashboard');
  const [, linkHost, linkPort] = await waitFor(hub, hubLines, /join the dashboard over Systemge at (\S+):(\d+)$/, 'the dashboard');

  const started = Date.now();
  /** Writes the node's file and starts `systemge start` on it; resolves once it printed its address. */
  const startNode = async ({ service, name }) => {
    const file = join(work, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          {
            name,
            application: join(here, 'service.js'),
            options: { service },
            commands: { remote: true },
            discovery: etcd(USES[service]),
            dashboard: { host: linkHost, port: Number(linkPort) },
          },
        ],
      }),
    );
    const lines = [];
    const child = launch(
      name,
      service === 'orders' ? 'dialers' : 'backends',
      process.execPath,
      [systemge, 'start', file, '--log-level', 'warn'],
      (line) => lines.push(line),
    );
    const [, address] = await waitFor(child, lines, new RegExp(`^ {2}${name} {2}systemge (\\S+)`), name);
    return { name, service, child, address };
  };
  const planned = Array.from({ length: count }, (_, i) => ({
    service: SERVICES[i % SERVICES.length],
    name: `${SERVICES[i % SERVICES.length]}-${Math.floor(i / SERVICES.length) + 1}`,
  }));
  // The services orders nodes use start first, so the first orders find their price and stock.
  const backends = await Promise.all(planned.filter((n) => n.service !== 'orders').map(startNode));
  const orders = await Promise.all(planned.filter((n) => n.service === 'orders').map(startNode));
  const nodes = planned.flatMap((p) => [...backends, ...orders].filter((n) => n.name === p.name));
  for (const { name, service, child, address } of nodes) {
    const uses = USES[service].length === 0 ? 'nothing' : USES[service].join(', ');
    console.log(`  ${name.padEnd(11)} pid ${String(child.pid).padEnd(7)} systemge ${address.padEnd(16)} uses ${uses}`);
  }
  for (;;) {
    const members = await registered(endpoints);
    if (nodes.every((n) => members.includes(n.name))) break;
    if (Date.now() - started > 120_000) throw new Error(`only ${members.length} of ${count} nodes registered in etcd within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`mesh: ${count} nodes registered in etcd after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`dashboard: ${dashboardURL}`);
  console.log('Ctrl+C stops everything.');
  formed = true;
}

process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));
// On a terminal, Ctrl+C is read as a key (a real SIGINT would also reach pnpm, which then reports a failure).
const tty = process.stdin.isTTY ? process.stdin : undefined;
if (tty !== undefined) {
  tty.setRawMode(true);
  tty.on('data', (bytes) => {
    if (bytes.includes(0x03) || bytes.includes(0x04)) void stopAll(0);
  });
}
main().catch((error) => {
  console.error(`mesh: ${error.message}`);
  void stopAll(1);
});
