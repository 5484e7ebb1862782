/**
 * Receiving node of the structured-payloads scenario, run as a child process.
 *
 *   node receiver.js <variant> <warmupMs> <measureMs>
 *
 * A node on 127.0.0.1:0 (TCP) handling async topic `bench.record`. `object`: the payload arrives as the
 * record; `json`: as a string the handler `JSON.parse`s. Either way the handler reads fields of the record.
 * Reports `{ type: 'listening', port }`, then, from the first message, waits `warmupMs`, counts messages for
 * `measureMs` and reports `{ type: 'result', messages, seconds, cpuMicros }`.
 */
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { check } from './record.js';

const [variant, warmupArg, measureArg] = process.argv.slice(2);
const warmupMs = Number(warmupArg);
const measureMs = Number(measureArg);
let messages = 0;
let started = false;

function fail(message) {
  process.send({ type: 'error', message });
  process.exit(1);
}

function onFirst() {
  started = true;
  setTimeout(() => {
    const m0 = messages;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    process.send({ type: 'window-start' });
    setTimeout(() => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      process.send({ type: 'result', messages: messages - m0, seconds, cpuMicros: cpu.user + cpu.system });
    }, measureMs);
  }, warmupMs);
}

const handler =
  variant === 'object'
    ? (m) => {
        if (!check(m.payload)) fail('object: unexpected payload');
        if (!started) onFirst();
        messages++;
      }
    : (m) => {
        if (!check(JSON.parse(m.payload))) fail('json: unexpected payload');
        if (!started) onFirst();
        messages++;
      };

const node = createNode(
  { name: 'receiver', transport: tcpTransport(), listen: { host: '127.0.0.1', port: 0 } },
  { getAsyncMessageHandlers: () => ({ 'bench.record': handler }) },
);
await node.start();
process.send({ type: 'listening', port: node.address.port });
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
