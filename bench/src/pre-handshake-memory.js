/**
 * RSS of a node process before, during and after many unauthenticated sockets that each declare
 * a 16 MiB first frame and send ~15 MiB of it (the pre-handshake memory bound, see
 * `limits.maxHandshakeFrameBytes` and `access.maxPendingHandshakeBytes`).
 *
 *   node src/pre-handshake-memory.js [sockets=128] [megabytesPerSocket=15] [waves=1]
 *
 * A measurement to read, not a pass/fail check. Prints one JSON line.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const sockets = Number(process.argv[2] ?? 128);
const mib = Number(process.argv[3] ?? 15);
const rounds = Number(process.argv[4] ?? 1);
const MiB = 1024 * 1024;

const child = fork(fileURLToPath(new URL('./pre-handshake/target.js', import.meta.url)), [], {
  execArgv: ['--expose-gc'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const next = (type) =>
  new Promise((resolve) =>
    child.once('message', function on(msg) {
      if (msg.type === type) resolve(msg);
      else child.once('message', on);
    }),
  );
const rss = async (gc = false) => {
  const answer = next('rss');
  child.send({ type: 'rss', gc });
  return answer;
};
const { port } = await next('ready');
await new Promise((r) => setTimeout(r, 500));
const beforeMem = await rss(true);
const before = beforeMem.rss;

const chunk = Buffer.alloc(MiB, 0x41);
const head = Buffer.alloc(5);
head.writeUInt32BE(16 * MiB, 0);
head[4] = 16;

/** One wave of sockets; resolves with the peak RSS seen while they were open and the bytes the kernel took. */
async function attack() {
  let bytesSent = 0;
  const closed = [];
  for (let i = 0; i < sockets; i++) {
    closed.push(
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        // Read (and drop) the goodbye, or 'end' never comes.
        socket.resume();
        socket.on('close', resolve);
        socket.on('connect', async () => {
          socket.write(head);
          for (let sent = 0; sent < mib && !socket.destroyed; sent++) {
            if (!socket.write(chunk) && !socket.destroyed) {
              await new Promise((r) => {
                socket.once('drain', r);
                socket.once('close', r);
              });
            }
            if (!socket.destroyed) bytesSent += MiB;
          }
          socket.end();
        });
      }),
    );
  }
  let peak = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      peak = Math.max(peak, (await rss()).rss);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all(closed);
  polling = false;
  await poller;
  return { peak, bytesSent };
}

const waves = [];
for (let i = 0; i < rounds; i++) {
  const { peak, bytesSent } = await attack();
  await new Promise((r) => setTimeout(r, 2000));
  const after = await rss();
  const afterGc = await rss(true);
  waves.push({ peak, bytesSent, after, afterGc });
}
const m = (b) => Math.round((b / MiB) * 10) / 10;
const last = waves[waves.length - 1];
console.log(
  JSON.stringify({
    sockets,
    declaredFrameMiB: 16,
    attemptedMiBPerSocket: mib,
    rssBeforeMiB: m(before),
    waves: waves.map((w) => ({
      sentMiB: m(w.bytesSent),
      rssPeakDuringMiB: m(w.peak),
      growthDuringMiB: m(w.peak - before),
      rssAfter2sMiB: m(w.after.rss),
      rssAfterGcMiB: m(w.afterGc.rss),
      heapUsedAfterGcMiB: m(w.afterGc.heapUsed),
      externalAfterGcMiB: m(w.afterGc.external),
    })),
    handshakeFailures: last.afterGc.failures,
  }),
);
child.disconnect();
child.kill();
