/**
 * The node under attack in the pre-handshake memory measurement, run as a child process.
 *
 *   node --expose-gc target.js
 *
 * Starts a node (with a token) on 127.0.0.1:0 and reports `{ type: 'ready', port }`. Answers
 * `{ type: 'rss', gc }` with `{ type: 'rss', rss, pending, refused }`, running a full
 * garbage collection first when `gc` is true.
 */
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const node = createNode({ name: 'target', transport: tcpTransport(), auth: { token: 'secret' } });
node.on('warning', () => {});
await node.start();
process.on('message', async (msg) => {
  if (msg.type !== 'rss') return;
  if (msg.gc && typeof globalThis.gc === 'function') {
    // Buffer memory is released after the collection, in a later turn: collect, yield, collect.
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    globalThis.gc();
  }
  const m = process.memoryUsage();
  process.send({
    type: 'rss',
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    failures: node.stats.handshakeFailures,
  });
});
process.send({ type: 'ready', port: node.address.port });
process.on('disconnect', () => process.exit(0));
