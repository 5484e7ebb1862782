/**
 * The attacker of the slowloris scenario, run as a child process.
 *
 *   node silent-sockets.js <port> <count> <deadlineMs>
 *
 * Opens `count` TCP connections to 127.0.0.1:<port> at once and never writes a byte. It does read
 * (and drop) what the node sends, so it sees the node's FIN and closes its side at once. Reports
 * `{ type: 'connected', connected, failed, ms }` once every socket has connected or failed, then
 * `{ type: 'result', closes, open }` when every socket is closed or `deadlineMs` after that:
 * `closes` lists, per socket the server closed, ms from its 'connect' to its 'close'; `open` is
 * how many were still open at the deadline (those are then destroyed).
 */
import net from 'node:net';

const [portArg, countArg, deadlineArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const deadlineMs = Number(deadlineArg);

const sockets = [];
const closes = [];
let settled = 0;
let connected = 0;
let failed = 0;
let open = 0;
const t0 = performance.now();

function onSettled() {
  if (++settled < count) return;
  process.send({ type: 'connected', connected, failed, ms: performance.now() - t0 });
  const deadline = setTimeout(finish, deadlineMs);
  function finish() {
    clearTimeout(deadline);
    process.send({ type: 'result', closes, open });
    for (const s of sockets) s.destroy();
  }
  if (open === 0) finish();
  else checkDone = () => open === 0 && finish();
}
let checkDone = () => {};

for (let i = 0; i < count; i++) {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let connectedAt;
  socket.on('connect', () => {
    connectedAt = performance.now();
    connected++;
    open++;
    onSettled();
  });
  socket.on('error', () => {});
  socket.resume();
  socket.on('close', () => {
    if (connectedAt === undefined) {
      failed++;
      onSettled();
      return;
    }
    open--;
    closes.push(performance.now() - connectedAt);
    checkDone();
  });
}
if (count === 0) onSettled();
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
