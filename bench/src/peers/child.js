/**
 * A process of the peers scenario.
 *
 *   node child.js <role> <system> <json config>
 *
 * system: `raw`, `systemge`, `moleculer`, `nats` or `ws` (modules in ./systems/). Roles:
 *
 * A client's `request()` and `balanced()` return the system's own promise of a response, as an
 * application would await it (no wrapper function of ours per request); a system whose parser does
 * not check each response's size gives a `check(response)` that the loop calls after the await.
 *
 * - `server`: starts `config.count` servers (responders) of the system, reports
 *   `{ type: 'ready', ports }`, counts async messages (checking each one's size) and answers
 *   `count` with `{ messages, ns, cpuMicros }`.
 * - `client`: connects to `config.ports`; `async` starts pushing messages as fast as the system's
 *   backpressure allows; `sync { concurrency, scatter, balanced }` starts that many request loops
 *   (each awaits one response, or `scatter` responses, before the next request; `balanced`: a
 *   request to one of the servers, picked by the system's balancer); `mark` starts a window
 *   (counts and latency samples reset), `result` ends it with `{ completed, ns, cpuMicros, p50, p99 }`.
 *   `open { rate, warmupSeconds, seconds, drainSeconds, maxInFlight }` runs an open-loop schedule of
 *   requests (../latency/open-loop.js) and answers with its latency percentiles (ns).
 * - `memory-server` / `memory-client`: one server, and `config.connections` idle connections to it
 *   (`systemge`: one node each; `raw`: one socket each); `measure` reports the server's RSS and
 *   heap once every connection is up, after garbage collection (run with --expose-gc).
 *
 * Any failure is reported as `{ type: 'error', message }` and ends the process.
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from './latency.js';
import { openLoop } from '../latency/open-loop.js';

const [role, system, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);

function fail(message) {
  if (process.connected) process.send({ type: 'error', message: String(message) });
  setTimeout(() => process.exit(1), 50);
}
process.on('uncaughtException', (err) => fail(`uncaught: ${err.stack ?? err}`));
process.on('unhandledRejection', (err) => fail(`unhandled rejection: ${err?.stack ?? err}`));
process.on('disconnect', () => process.exit(0));
// A normal exit lets --cpu-prof write its profile.
process.on('SIGTERM', () => process.exit(0));

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const now = () => Number(process.hrtime.bigint());
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const adapter = await import(`./systems/${system}.js`);
const common = { size: config.size, group: config.group, tls: config.tls, natsUrl: config.natsUrl, options: config.options ?? {}, fail };

const handlers = new Map();
process.on('message', (msg) => {
  const handler = handlers.get(msg.type);
  if (handler === undefined) return fail(`${role}: unknown request ${msg.type}`);
  Promise.resolve(handler(msg)).then(
    (reply) => process.send({ type: `${msg.type}:ok`, ...reply }),
    (err) => fail(`${role} ${msg.type}: ${err?.stack ?? err}`),
  );
});

function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

if (role === 'server') {
  let messages = 0;
  const onMessage = (length) => {
    if (length !== config.size) fail(`${system}: message of ${length}, expected ${config.size}`);
    messages++;
  };
  const ports = [];
  for (let i = 0; i < (config.count ?? 1); i++) {
    const s = await adapter.server({ ...common, onMessage, index: i });
    ports.push(s.port);
  }
  handlers.set('count', () => ({ messages, ns: now(), cpuMicros: cpuMicros() }));
  process.send({ type: 'ready', ports });
} else if (role === 'client') {
  const client = await adapter.client({ ...common, ports: config.ports });
  const recorder = new LatencyRecorder();
  let completed = 0;
  handlers.set('async', () => client.pump());
  let running = false;
  let loops = [];
  let prepared = false;
  handlers.set('sync', async ({ concurrency, scatter, balanced }) => {
    if (!prepared) await client.prepareSync();
    prepared = true;
    running = true;
    const op = balanced ? () => client.balanced() : scatter > 0 ? () => client.scatter(scatter) : () => client.request();
    // A system that checks its responses outside its parser checks them here (scatter checks its own).
    const check = scatter > 0 ? undefined : client.check;
    const loop = async () => {
      while (running) {
        const t0 = performance.now();
        const response = await op();
        if (check !== undefined) check(response);
        recorder.add(performance.now() - t0);
        completed++;
      }
    };
    loops = Array.from({ length: concurrency }, () =>
      loop().catch((err) => fail(`${system} request: ${err?.code ?? ''} ${err?.message ?? err}`)),
    );
  });
  handlers.set('open', async (schedule) => {
    if (!prepared) await client.prepareSync();
    prepared = true;
    const request = () => client.request();
    return openLoop({ ...schedule, request, check: client.check });
  });
  // Ends the request loops: each finishes the request it is waiting for.
  handlers.set('halt', async () => {
    running = false;
    await Promise.all(loops);
  });
  handlers.set('mark', () => {
    completed = 0;
    recorder.reset();
    return { ns: now(), cpuMicros: cpuMicros() };
  });
  handlers.set('result', () => ({ completed, ns: now(), cpuMicros: cpuMicros(), ...recorder.percentiles() }));
  process.send({ type: 'ready' });
} else if (role === 'memory-server') {
  const s = await adapter.server({ ...common, onMessage: () => {} });
  await sleep(200);
  const baseline = memory();
  handlers.set('measure', async ({ expected, timeoutMs }) => {
    const deadline = Date.now() + timeoutMs;
    while (s.connections() < expected) {
      if (Date.now() > deadline) throw new Error(`${s.connections()} of ${expected} connections after ${timeoutMs} ms`);
      await sleep(50);
    }
    await sleep(1000);
    return { connections: s.connections(), ...memory() };
  });
  process.send({ type: 'ready', ports: [s.port], baseline });
} else if (role === 'memory-client') {
  const baseline = memory();
  const open = [];
  const batch = 50;
  for (let i = 0; i < config.connections; i += batch) {
    const n = Math.min(batch, config.connections - i);
    const opened = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        system === 'raw' ? rawIdleSocket(config.ports[0]) : adapter.client({ ...common, ports: config.ports, name: `client-${i + k}` }),
      ),
    );
    open.push(...opened);
  }
  await sleep(500);
  process.send({ type: 'ready', baseline, after: memory(), connections: open.length });
} else {
  fail(`unknown role ${role}`);
}

async function rawIdleSocket(port) {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write('A');
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
