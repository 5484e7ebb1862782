/**
 * The real peer of the slowloris scenario, run as a child process.
 *
 *   node peer.js <port> <deadlineMs>
 *
 * Waits for `{ type: 'go' }`, then starts a Systemge node that dials 127.0.0.1:<port> with the
 * default attempt backoff (200 ms × 2^n, jitter 0.2) but no attempt limit, and sends the sync
 * request `bench.echo` as soon as it is connected. Reports `{ type: 'result', ms, attempts }`:
 * ms from 'go' to the first successful sync response (`null` if none within `deadlineMs`) and
 * the connection attempts it took (the default `maxAttempts` is 5).
 */
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const [portArg, deadlineArg] = process.argv.slice(2);
const port = Number(portArg);
const deadlineMs = Number(deadlineArg);

const node = createNode({
  name: 'peer',
  transport: tcpTransport(),
  listen: false,
  endpoints: [{ host: '127.0.0.1', port }],
  connection: { maxAttempts: 0 },
});
let attempts = 0;
node.on('connect:attempt', () => attempts++);
node.on('warning', () => {});

process.once('message', async (msg) => {
  if (msg.type !== 'go') return;
  const t0 = performance.now();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    process.send({ type: 'result', ms: null, attempts });
    node.stop().catch(() => {});
  }, deadlineMs);
  try {
    await node.start();
    const payload = await node.syncRequest('bench.echo', 'ping').first();
    if (payload !== 'ping') throw new Error(`unexpected response ${String(payload)}`);
    clearTimeout(deadline);
    process.send({ type: 'result', ms: performance.now() - t0, attempts });
    await node.stop();
  } catch (err) {
    clearTimeout(deadline);
    // Stopping the node at the deadline rejects start(); the result is already out.
    if (!timedOut) process.send({ type: 'error', message: `peer: ${err.message}` });
  }
});
process.send({ type: 'ready' });
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
