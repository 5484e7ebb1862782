/**
 * Sending side of the tcp-throughput scenario, run as a child process.
 *
 *   node sender.js <impl> <payloadBytes> <port> <highWaterMark> [tcp|tls <certDir>]
 *
 * Connects to 127.0.0.1:<port> (the Systemge impls over `tcpTransport`, or over `tlsTransport`
 * trusting `<certDir>/ca.crt` when `tls` is given) and sends async messages as fast as the connection takes
 * them, until the parent kills it. Backpressure is respected: Systemge stops when
 * `send()` returns false and resumes on `onDrain`; raw stops when `write()` returns false
 * and resumes on `'drain'`. Both use the same outgoing buffer limit, `highWaterMark` bytes.
 */
import net from 'node:net';
import { FrameKind } from '@systemge/protocol';
import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { TOPIC, textPayload } from '../payloads.js';
import { rawSender } from './raw-framing.js';

const [impl, sizeArg, portArg, hwmArg, transportArg = 'tcp', certDir] = process.argv.slice(2);
const size = Number(sizeArg);
const port = Number(portArg);
const highWaterMark = Number(hwmArg);
const text = textPayload(size);

function fail(message) {
  process.send({ type: 'error', message });
  process.exit(1);
}

if (impl === 'raw') {
  const socket = net.connect({ host: '127.0.0.1', port, writableHighWaterMark: highWaterMark });
  socket.setNoDelay(true);
  socket.on('error', (err) => fail(`raw sender: ${err.message}`));
  socket.on('connect', () => {
    if (socket.writableHighWaterMark !== highWaterMark) fail('raw sender: writableHighWaterMark not applied');
    rawSender(socket, Buffer.from(text)).start();
  });
} else if (impl === 'systemge' || impl === 'systemge-bytes') {
  const transport = transportArg === 'tls' ? tlsTransport({ caFile: `${certDir}/ca.crt` }) : tcpTransport();
  const connection = await transport.dial({ host: '127.0.0.1', port, serverName: 'localhost' }, { highWaterMark });
  const frame = {
    kind: FrameKind.AsyncMessage,
    topic: TOPIC,
    payload: impl === 'systemge' ? text : new Uint8Array(Buffer.from(text)),
    syncToken: undefined,
  };
  // Sends until backpressure; when the kernel keeps taking every batch at once, yields now and
  // then so I/O and IPC still get their turn.
  const pump = () => {
    for (let i = 0; i < 65536; i++) if (!connection.send(frame)) return;
    setImmediate(pump);
  };
  connection.setHandlers({
    onFrame() {},
    onDrain: pump,
    onError: (error) => fail(`${impl} sender: ${error.message}`),
  });
  pump();
} else {
  fail(`unknown impl ${impl}`);
}
// The parent asks at the start and end of the receiver's window: CPU time spent sending.
process.on('message', (msg) => {
  if (msg.type === 'cpu?') process.send({ type: 'cpu', micros: cpuMicros() });
});
function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}
process.on('disconnect', () => process.exit(0));
// A normal exit lets --cpu-prof write its profile.
process.on('SIGTERM', () => process.exit(0));
