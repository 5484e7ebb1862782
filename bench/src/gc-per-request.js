/**
 * Garbage collection caused by sync requests at concurrency c, requester and responder in two
 * processes on 127.0.0.1, default V8 flags: what the tail latency of a closed loop is made of.
 *
 *   node src/gc-per-request.js [seconds=3] [concurrency=100] [payloadBytes=100]
 *
 * Prints one JSON line: requests/s, p50/p99/p99.9 latency (µs) and, for each side, scavenges and
 * mark-compacts per 100 k requests, the mean scavenge pause (ms) and the share of wall time spent
 * in GC pauses. A request path whose objects die young gives cheap scavenges (well under 1 ms) and
 * almost no mark-compacts; objects kept alive past a scavenge are promoted to the old generation,
 * make every scavenge slower (the pause is mostly copying survivors) and bring mark-compacts: both
 * show at once here, long before a profile would name them.
 *
 * `latencyUs.withoutGc` is the same percentiles over the requests during which neither process
 * paused for GC, and `gcHit` the share of requests that overlapped a pause of the requester or (only)
 * of the responder: when the p99 sits in the GC-hit requests, shorter or rarer pauses move it and
 * nothing else does. (Both processes run on one machine, so their pause times share one clock.)
 */
import { fork } from 'node:child_process';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { textPayload } from './payloads.js';

const TOPIC = 'gc.sync';
const [secondsArg = '3', concurrencyArg = '100', sizeArg = '100', role = 'client'] = process.argv.slice(2);

/** Counts GC pauses by kind from `gc` performance entries, and keeps when each pause ran (epoch ms, start/end pairs). */
function gcCounter() {
  const counts = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0, otherMs: 0 };
  let pauses = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = entry.detail?.kind;
      const start = performance.timeOrigin + entry.startTime;
      if (pauses.length < 1_000_000) pauses.push(start, start + entry.duration);
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        counts.scavenges++;
        counts.scavengeMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        counts.markCompacts++;
        counts.markCompactMs += entry.duration;
      } else counts.otherMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    reset() {
      for (const key of Object.keys(counts)) counts[key] = 0;
      pauses = [];
    },
    read: () => ({ ...counts }),
    pauses: () => pauses,
  };
}

function perSide(gc, requests, wallMs) {
  return {
    scavengesPer100k: +((gc.scavenges * 100_000) / requests).toFixed(1),
    meanScavengeMs: gc.scavenges === 0 ? 0 : +(gc.scavengeMs / gc.scavenges).toFixed(2),
    markCompactsPer100k: +((gc.markCompacts * 100_000) / requests).toFixed(2),
    gcShare: +((gc.scavengeMs + gc.markCompactMs + gc.otherMs) / wallMs).toFixed(3),
  };
}

if (role === 'server') {
  const gc = gcCounter();
  const node = createNode(
    { name: 'gc-server', transport: tcpTransport(), listen: { host: '127.0.0.1', port: 0 } },
    { getSyncMessageHandlers: () => ({ [TOPIC]: (message) => message.payload }) },
  );
  await node.start();
  process.on('message', async (message) => {
    if (message === 'reset') gc.reset();
    else if (message === 'read') process.send({ type: 'gc', gc: gc.read(), pauses: gc.pauses() });
    else if (message === 'stop') {
      await node.stop();
      process.disconnect();
    }
  });
  process.send({ type: 'ready', port: node.address.port });
} else {
  await main();
}

async function main() {
  const seconds = Number(secondsArg);
  const concurrency = Number(concurrencyArg);
  const size = Number(sizeArg);
  const text = textPayload(size);
  const server = fork(new URL(import.meta.url), [secondsArg, concurrencyArg, sizeArg, 'server'], { stdio: 'inherit' });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.type !== type) return;
        server.off('message', onMessage);
        server.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code) => reject(new Error(`responder exited with ${code} before "${type}"`));
      server.on('message', onMessage);
      server.once('exit', onExit);
    });
  const { port } = await next('ready');
  const gc = gcCounter();
  const client = createNode({ name: 'gc-client', transport: tcpTransport(), listen: false, endpoints: [{ host: '127.0.0.1', port }] }, {});
  await client.start();

  const samples = new Float64Array(1 << 23);
  const starts = new Float64Array(1 << 23); // epoch ms
  let recorded = 0;
  let recording = false;
  let running = true;
  let completed = 0;
  const loop = async () => {
    while (running) {
      const t0 = performance.now();
      const response = await client.syncRequest(TOPIC, text).first();
      if (response.length !== size) throw new Error(`response of ${response.length} chars, expected ${size}`);
      if (recording) {
        if (recorded < samples.length) {
          starts[recorded] = performance.timeOrigin + t0;
          samples[recorded++] = (performance.now() - t0) * 1000;
        }
        completed++;
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up: JIT, buffers, steady heap
  gc.reset();
  server.send('reset');
  recording = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  recording = false;
  const wallMs = performance.now() - started;
  const requests = completed;
  const clientGc = gc.read();
  const clientPauses = gc.pauses();
  server.send('read');
  const { gc: serverGc, pauses: serverPauses } = await next('gc');
  running = false;
  await Promise.all(loops);
  await client.stop();
  server.send('stop');
  const sorted = samples.slice(0, recorded).sort();
  const at = (q) => Math.round(sorted[Math.min(recorded - 1, Math.floor(q * recorded))]);
  const split = splitByPauses(samples, starts, recorded, clientPauses, serverPauses);
  console.log(
    JSON.stringify({
      concurrency,
      payloadBytes: size,
      seconds,
      requestsPerSecond: Math.round((requests * 1000) / wallMs),
      latencyUs: { p50: at(0.5), p99: at(0.99), p999: at(0.999), withoutGc: split.withoutGc },
      gcHit: split.gcHit,
      requester: perSide(clientGc, requests, wallMs),
      responder: perSide(serverGc, requests, wallMs),
    }),
  );
}

/**
 * Splits the requests into those that overlapped a GC pause of the requester, of the responder (and
 * not the requester), or neither; returns the percentiles of the last group and the shares of the first two.
 */
function splitByPauses(samples, starts, count, requesterPauses, responderPauses) {
  const overlaps = (pauses, from, to) => {
    // Pauses come in time order: a binary search for the first ending after `from`.
    let lo = 0;
    let hi = pauses.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pauses[mid * 2 + 1] <= from) lo = mid + 1;
      else hi = mid;
    }
    return lo < pauses.length / 2 && pauses[lo * 2] < to;
  };
  const clean = [];
  let requester = 0;
  let responder = 0;
  for (let i = 0; i < count; i++) {
    const from = starts[i];
    const to = from + samples[i] / 1000;
    if (overlaps(requesterPauses, from, to)) requester++;
    else if (overlaps(responderPauses, from, to)) responder++;
    else clean.push(samples[i]);
  }
  clean.sort((a, b) => a - b);
  const at = (q) => (clean.length === 0 ? 0 : Math.round(clean[Math.min(clean.length - 1, Math.floor(q * clean.length))]));
  return {
    withoutGc: { p50: at(0.5), p99: at(0.99), requests: clean.length },
    gcHit: { requester: +(requester / count).toFixed(4), responder: +(responder / count).toFixed(4) },
  };
}
