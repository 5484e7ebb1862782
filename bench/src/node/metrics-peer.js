/**
 * One side of the metrics-overhead scenario, run as a child process.
 *
 *   node metrics-peer.js receiver <metrics:on|off> <payloadBytes> <warmupMs> <measureMs>
 *   node metrics-peer.js sender   <metrics:on|off> <payloadBytes> <port>
 *
 * Both sides are Systemge nodes over TCP on 127.0.0.1. The receiver handles `TOPIC` async
 * messages, reports `{ type: 'listening', port }`, then from the first message waits
 * `warmupMs`, counts for `measureMs` (`{ type: 'window-start' }`) and reports
 * `{ type: 'result', messages, seconds, cpuMicros }`. The sender pushes async messages as fast
 * as `asyncMessage` accepts them, pausing on `drained()`. With metrics on, each process registers
 * its node with `nodeMetrics` (prom-client, process metrics included) and renders the Prometheus
 * text every second, as a scrape would.
 */
import { nodeMetrics } from '@systemge/metrics';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { TOPIC, textPayload } from '../payloads.js';

const [role, metricsArg, sizeArg, ...rest] = process.argv.slice(2);
const size = Number(sizeArg);

function fail(message) {
  process.send({ type: 'error', message });
  process.exit(1);
}

function bindMetrics(node) {
  if (metricsArg !== 'on') return;
  const { registry } = nodeMetrics(node);
  setInterval(() => {
    registry.metrics().then(
      (text) => {
        if (!text.includes(`systemge_messages_received_total{node="${node.name}",kind="async"}`)) fail('metrics not bound');
      },
      (error) => fail(`scrape: ${error.message}`),
    );
  }, 1000).unref();
}

if (role === 'receiver') {
  const [warmupMs, measureMs] = rest.map(Number);
  let messages = 0;
  let started = false;
  const onFirst = () => {
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
  };
  const node = createNode(
    { name: 'receiver', transport: tcpTransport() },
    {
      getAsyncMessageHandlers: () => ({
        [TOPIC]: (message) => {
          if (message.payload.length !== size) fail(`message of ${message.payload.length} bytes, expected ${size}`);
          messages++;
          if (!started) onFirst();
        },
      }),
    },
  );
  await node.start();
  bindMetrics(node);
  process.send({ type: 'listening', port: node.address.port });
} else if (role === 'sender') {
  const [port] = rest.map(Number);
  const node = createNode({ name: 'sender', transport: tcpTransport(), listen: false, endpoints: [{ host: '127.0.0.1', port }] }, {});
  await node.start();
  bindMetrics(node);
  const text = textPayload(size);
  const pump = async () => {
    for (;;) {
      let sent = 0;
      while (sent < 65536 && node.asyncMessage(TOPIC, text)) sent++;
      // Under backpressure wait for the drain; otherwise yield so I/O and IPC still get their turn.
      if (sent < 65536) await node.drained();
      else await new Promise((resolve) => setImmediate(resolve));
    }
  };
  pump().catch((err) => fail(`sender: ${err.message}`));
} else {
  fail(`unknown role ${role}`);
}
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
