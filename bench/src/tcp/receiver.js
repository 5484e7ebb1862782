/**
 * Receiving side of the tcp-throughput scenario, run as a child process.
 *
 *   node receiver.js <impl> <payloadBytes> <warmupMs> <measureMs> [tcp|tls <certDir>]
 *
 * impl: `systemge` (tcpTransport listener, string payloads), `systemge-bytes` (same,
 * Uint8Array payloads) or `raw` (node:net + rawParser). With `tls` the Systemge impls listen
 * on `tlsTransport` with `<certDir>/server.crt` and `server.key` instead. Listens on 127.0.0.1 port 0 and
 * reports `{ type: 'listening', port }` over IPC. From the first byte it waits `warmupMs`,
 * counts messages for `measureMs` (announced by `{ type: 'window-start' }`), then reports
 * `{ type: 'result', messages, seconds, cpuMicros }` (its own CPU time in the window).
 * Every message is checked for its size; a wrong one is reported as `{ type: 'error' }`.
 */
import net from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { rawParser } from './raw-framing.js';

const [impl, sizeArg, warmupArg, measureArg, transportArg = 'tcp', certDir] = process.argv.slice(2);
const size = Number(sizeArg);
const warmupMs = Number(warmupArg);
const measureMs = Number(measureArg);

let messages = 0;
/** Socket reads, to see how the sender's writes arrive. */
let reads = 0;
let started = false;
let done = false;

function fail(message) {
  // Once the result is out, the sender being killed mid-frame is expected.
  if (done) return;
  process.send({ type: 'error', message });
  process.exit(1);
}

function onFirstByte() {
  if (started) return;
  started = true;
  setTimeout(() => {
    const m0 = messages;
    const r0 = reads;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    process.send({ type: 'window-start' });
    setTimeout(() => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      done = true;
      process.send({ type: 'result', messages: messages - m0, seconds, cpuMicros: cpu.user + cpu.system, reads: reads - r0 });
    }, measureMs);
  }, warmupMs);
}

if (impl === 'raw') {
  const server = net.createServer((socket) => {
    const push = rawParser((body) => {
      if (body.length !== size) fail(`raw: message of ${body.length} bytes, expected ${size}`);
      messages++;
    });
    socket.on('data', (chunk) => {
      reads++;
      onFirstByte();
      push(chunk);
    });
    socket.on('error', () => {});
  });
  server.listen({ host: '127.0.0.1', port: 0 }, () => {
    process.send({ type: 'listening', port: server.address().port });
  });
} else if (impl === 'systemge' || impl === 'systemge-bytes') {
  const transport =
    transportArg === 'tls' ? tlsTransport({ certFile: `${certDir}/server.crt`, keyFile: `${certDir}/server.key` }) : tcpTransport();
  const listener = await transport.listen({
    host: '127.0.0.1',
    port: 0,
    onConnection(connection) {
      connection.setHandlers({
        onFrame(frame) {
          if (!started) onFirstByte();
          const payload = frame.payload;
          if (frame.kind !== 1 || (typeof payload === 'string' ? payload.length : payload.byteLength) !== size) {
            fail(`${impl}: unexpected frame kind ${frame.kind}`);
          }
          messages++;
        },
        onError(error) {
          fail(`${impl}: ${error.code}: ${error.message}`);
        },
      });
    },
  });
  process.send({ type: 'listening', port: listener.port });
} else {
  fail(`unknown impl ${impl}`);
}
process.on('disconnect', () => process.exit(0));
// A normal exit lets --cpu-prof write its profile.
process.on('SIGTERM', () => process.exit(0));
