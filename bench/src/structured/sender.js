/**
 * Sending node of the structured-payloads scenario, run as a child process.
 *
 *   node sender.js <variant> <port>
 *
 * Dials the receiver and sends the record on `bench.record` as fast as backpressure allows: `object`
 * passes the record itself (msgpack on the wire), `json` passes `JSON.stringify(record)` made per message,
 * as an application that encodes by hand does. Each message is a fresh record (its `id` changes).
 */
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { record } from './record.js';

const [variant, portArg] = process.argv.slice(2);
const node = createNode({
  name: 'sender',
  transport: tcpTransport(),
  listen: false,
  endpoints: [{ host: '127.0.0.1', port: Number(portArg) }],
});
await node.start();
while (!node.peers().some((p) => p.asyncTopics.includes('bench.record'))) await new Promise((r) => setTimeout(r, 10));

let i = 0;
const pump = async () => {
  for (;;) {
    for (let n = 0; n < 4096; n++) {
      const value = record(i++);
      const writable = node.asyncMessage('bench.record', variant === 'object' ? value : JSON.stringify(value));
      if (!writable) break;
    }
    if (!node.writable) await node.drained();
    else await new Promise((r) => setImmediate(r));
  }
};
pump().catch((error) => {
  process.send({ type: 'error', message: String(error) });
  process.exit(1);
});
process.on('message', (msg) => {
  if (msg.type === 'cpu?') {
    const u = process.cpuUsage();
    process.send({ type: 'cpu', micros: u.user + u.system });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
