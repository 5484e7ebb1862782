/**
 * JS heap bytes allocated per sync request, node to node in one process over TCP on 127.0.0.1.
 *
 *   node src/alloc-per-request.js [requests=200000] [concurrency=100] [payloadBytes=100] [form=first]
 *
 * `form` is how the client asks: `first` (`syncRequest(...).first()`, a promise per request),
 * `callback` (`syncRequest(...).onFirst(callback)`, no promise) or `request` (`request(...)`, the
 * balanced one-of-N request, here with one responder). Both nodes (requester and responder)
 * run in this process, so the figure is one whole round trip: request sent, handled, answered, settled.
 *
 * Method: V8 cannot count allocated bytes directly, but with no garbage collection in between,
 * the growth of `used_heap_size` is exactly what was allocated. The script re-runs itself with a
 * young generation large enough (`--min/--max-semi-space-size`) that a batch of requests fits
 * without a scavenge, forces a full GC (`--expose-gc`) before each batch, reads `used_heap_size`
 * before and after, and keeps only batches during which no GC ran (a `PerformanceObserver` of
 * `gc` entries says so). It prints the median over the kept batches of bytes per request as one JSON line.
 * Buffers outside the JS heap (socket reads, FrameWriter chunks) are not counted.
 */
import { fork } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { textPayload } from './payloads.js';

const SEMI_SPACE_MB = 256;
const TOPIC = 'alloc.sync';

if (typeof globalThis.gc !== 'function') {
  const child = fork(new URL(import.meta.url), process.argv.slice(2), {
    execArgv: [...process.execArgv, '--expose-gc', `--min-semi-space-size=${SEMI_SPACE_MB}`, `--max-semi-space-size=${SEMI_SPACE_MB}`],
    stdio: 'inherit',
  });
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await main();
}

async function main() {
  const [requestsArg = '200000', concurrencyArg = '100', sizeArg = '100', form = 'first'] = process.argv.slice(2);
  const requests = Number(requestsArg);
  const concurrency = Number(concurrencyArg);
  const size = Number(sizeArg);
  for (const [name, value] of [
    ['requests', requests],
    ['concurrency', concurrency],
    ['payloadBytes', size],
  ]) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${name} must be a positive integer (usage: alloc-per-request.js [requests] [concurrency] [payloadBytes] [form])`);
    }
  }
  if (form !== 'first' && form !== 'callback' && form !== 'request') {
    throw new Error(`form must be first, callback or request, got ${form}`);
  }
  const text = textPayload(size);

  const server = createNode(
    { name: 'server', transport: tcpTransport(), listen: { host: '127.0.0.1', port: 0 } },
    { getSyncMessageHandlers: () => ({ [TOPIC]: (message) => message.payload }) },
  );
  await server.start();
  const client = createNode(
    { name: 'client', transport: tcpTransport(), listen: false, endpoints: [{ host: '127.0.0.1', port: server.address.port }] },
    {},
  );
  await client.start();

  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });

  const runBatch = (count) =>
    new Promise((resolve, reject) => {
      let started = 0;
      let done = 0;
      const next = () => {
        if (started === count) return;
        started++;
        if (form === 'first') {
          client.syncRequest(TOPIC, text).first().then(onDone, reject);
        } else if (form === 'request') {
          client.request(TOPIC, text).then(onDone, reject);
        } else {
          client.syncRequest(TOPIC, text).onFirst(onFirst);
        }
      };
      const onFirst = (error, payload) => (error === undefined ? onDone(payload) : reject(error));
      const onDone = (payload) => {
        if (payload.length !== size) reject(new Error(`response of ${payload.length} chars, expected ${size}`));
        if (++done === count) resolve();
        else next();
      };
      for (let i = 0; i < concurrency; i++) next();
    });

  const settle = () => new Promise((resolve) => setImmediate(resolve));
  await runBatch(Math.min(50_000, requests)); // warm-up: JIT, buffers, maps at their steady size
  const batch = 20_000;
  const perRequest = [];
  let discarded = 0;
  for (let done = 0; done < requests; done += batch) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the forced GC's own entry arrives first
    const gcsBefore = gcs;
    const before = v8.getHeapStatistics();
    await runBatch(batch);
    const after = v8.getHeapStatistics();
    await settle(); // gc entries arrive asynchronously
    if (gcs !== gcsBefore) {
      // A GC ran during the batch: the heap growth is not the allocation.
      discarded++;
      continue;
    }
    perRequest.push((after.used_heap_size - before.used_heap_size) / batch);
  }
  observer.disconnect();
  await client.stop();
  await server.stop();
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)];
  };
  console.log(
    JSON.stringify({
      form,
      requests,
      concurrency,
      payloadBytes: size,
      batches: perRequest.length,
      discardedBatches: discarded,
      heapBytesPerRequest: Math.round(median(perRequest)),
      heapBytesPerRequestMinMax: [Math.round(Math.min(...perRequest)), Math.round(Math.max(...perRequest))],
    }),
  );
}
