/**
 * The node under attack in the slowloris scenario, run as a child process (with --expose-gc).
 *
 *   node --expose-gc target.js <handshakeTimeoutMs> <maxPendingHandshakes | default>
 *
 * A Systemge node over TCP on 127.0.0.1 port 0 with a sync handler `bench.echo` and otherwise
 * default configuration. Reports `{ type: 'listening', port }`. Answers `{ type: 'snapshot?' }`
 * with `{ type: 'snapshot', rss, heapUsed, peakRss, lag, stats }` after a full GC: RSS and heap
 * now, the highest RSS sampled (every 20 ms) and the event-loop delay (monitorEventLoopDelay,
 * 10 ms resolution: max / p99 / mean, ms) since the previous snapshot, and the node's
 * connection counters. Each snapshot starts a new sampling period.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const [timeoutArg, pendingArg] = process.argv.slice(2);

function fail(message) {
  process.send({ type: 'error', message });
  process.exit(1);
}

const access = pendingArg === 'default' ? undefined : { maxPendingHandshakes: Number(pendingArg) };
const node = createNode(
  {
    name: 'target',
    transport: tcpTransport(),
    connection: { handshakeTimeoutMs: Number(timeoutArg) },
    ...(access === undefined ? {} : { access }),
  },
  { getSyncMessageHandlers: () => ({ 'bench.echo': (message) => message.payload }) },
);
node.on('warning', () => {});
try {
  await node.start();
} catch (err) {
  fail(`start: ${err.message}`);
}

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
let peakRss = process.memoryUsage.rss();
setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
}, 20).unref();

process.on('message', (msg) => {
  if (msg.type !== 'snapshot?') return;
  globalThis.gc?.();
  const memory = process.memoryUsage();
  const s = node.stats;
  process.send({
    type: 'snapshot',
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    peakRss: Math.max(peakRss, memory.rss),
    lag: { maxMs: lag.max / 1e6, p99Ms: lag.percentile(99) / 1e6, meanMs: lag.mean / 1e6 },
    stats: {
      connectionsAccepted: s.connectionsAccepted,
      connectionsRefused: s.connectionsRefused,
      handshakeFailures: s.handshakeFailures,
    },
  });
  lag.reset();
  peakRss = memory.rss;
});
process.send({ type: 'listening', port: node.address.port });
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
