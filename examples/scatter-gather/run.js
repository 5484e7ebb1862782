// Starts five worker processes (one of them slow), then asks them all for a price with one request
// (scatter-gather), and then asks one of them at a time (balanced requests).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const specs = [
  { name: 'worker-1', delayMs: 5, quote: 104 },
  { name: 'worker-2', delayMs: 10, quote: 99 },
  { name: 'worker-3', delayMs: 15, quote: 101 },
  { name: 'worker-4', delayMs: 20, quote: 97 },
  { name: 'worker-5', delayMs: 3000, quote: 90 }, // too slow for the first request's timeout
];
const workers = [];
for (const spec of specs) {
  const child = fork(new URL('./worker.js', import.meta.url), {
    env: { ...process.env, WORKER_NAME: spec.name, WORKER_DELAY_MS: String(spec.delayMs), WORKER_QUOTE: String(spec.quote) },
  });
  const [{ port }] = await once(child, 'message');
  workers.push({ child, port, name: spec.name });
}

/** @typedef {{ item: string; quote: number; by: string }} Quote What a worker answers: an object payload. */

const buyer = createNode({
  name: 'buyer',
  transport: tcpTransport(),
  endpoints: workers.map((w) => ({ host: '127.0.0.1', port: w.port, name: w.name })),
});
await buyer.start();
console.log(`buyer connected to ${buyer.peers().length} workers`);

// 1. Everyone, with a timeout: four answer in time, the slow one is reported missing.
const all = buyer.syncRequest('price', 'widget', { timeoutMs: 500 });
for await (const response of all) {
  console.log(
    `  ${response.origin}: ${response.ok ? `quote ${/** @type {Quote} */ (response.payload).quote}` : `failed: ${response.error}`}`,
  );
}
console.log(`request 1: outcome ${all.outcome}, ${all.responses.length} responses, missing ${all.missing.join(', ') || 'none'}`);

// 2. The first three answers are enough.
const three = buyer.syncRequest('price', 'widget', { maxResponses: 3, timeoutMs: 5000 });
const quotes = (await three.all()).map((r) => `${r.origin}=${r.ok ? /** @type {Quote} */ (r.payload).quote : `failed (${r.code})`}`);
console.log(`request 2: outcome ${three.outcome}, ${quotes.length} responses: ${quotes.join(' ')}`);

// 3. Only named workers, first answer wins.
const best = await buyer.syncRequest('price', 'widget', { to: ['worker-2', 'worker-4'] }).first();
console.log(`request 3: first answer from named workers: ${JSON.stringify(best)}`);

// 4. Balanced: each request asks ONE worker, in turn (round-robin), so five requests reach all five.
const byWorker = [];
for (let i = 0; i < specs.length; i++) {
  const quote = /** @type {Quote} */ (await buyer.request('price', 'widget', { timeoutMs: 5000 }));
  byWorker.push(quote.by);
}
console.log(`request 4: ${byWorker.length} balanced requests answered by ${[...new Set(byWorker)].sort().join(', ')}`);

// 5. Key affinity: the same key always reaches the same worker (while the workers stay the same).
const sticky = new Set();
for (let i = 0; i < 3; i++) {
  sticky.add(/** @type {Quote} */ (await buyer.request('price', 'widget', { key: 'customer-7', timeoutMs: 5000 })).by);
}
console.log(`request 5: 3 requests with key customer-7 answered by ${sticky.size} worker`);

await buyer.stop('done');
for (const w of workers) w.child.send('stop');
await Promise.all(workers.map((w) => once(w.child, 'exit')));
console.log('all processes stopped');
