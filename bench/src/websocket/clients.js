/**
 * The clients of the websocket-fanout scenario, run as a child process.
 *
 *   node clients.js <url> <count>
 *
 * Opens `count` `ws` clients to `url`, at most 256 handshakes at a time, and reports
 * `{ type: 'connected', ms }` when all are open. Counts every message received (checking the
 * first one's shape); `{ type: 'count?' }` → `{ type: 'count', messages, at }` (`at`: ms, this
 * process's monotonic clock).
 */
import WebSocket from 'ws';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
const IN_FLIGHT = 256;

function fail(message) {
  process.send({ type: 'error', message });
  process.exit(1);
}

let messages = 0;
let checked = false;
const sockets = [];
const onMessage = (data) => {
  if (!checked) {
    checked = true;
    const m = JSON.parse(String(data));
    if (m.topic !== 'bench.fanout' || typeof m.payload !== 'string' || m.payload.length !== 100) fail(`unexpected message ${String(data)}`);
  }
  messages++;
};

function open() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(socket);
    socket.once('open', resolve);
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.on('message', onMessage);
    socket.on('close', (code) => {
      if (!stopping) fail(`client closed by the server (${code})`);
    });
  });
}

let stopping = false;
const t0 = performance.now();
let next = 0;
async function worker() {
  while (next < count) {
    next++;
    await open();
  }
}
try {
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
} catch (err) {
  fail(`connect: ${err.message}`);
}
process.send({ type: 'connected', ms: performance.now() - t0 });
process.on('message', (msg) => {
  if (msg.type === 'count?') process.send({ type: 'count', messages, at: performance.now() });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  stopping = true;
  process.exit(0);
});
