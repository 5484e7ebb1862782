#!/usr/bin/env node
/**
 * Soak test: two processes at a steady sync-request load for N minutes, the responder restarted
 * every minute (alternately killed with SIGKILL and stopped gracefully with SIGTERM) on the same port.
 * Prints requests sent / acknowledged / lost, refusals while the responder was away, and RSS at
 * start and end. Not part of the test run.
 *
 *   node bench/soak.js [--minutes 10] [--rate 2000] [--restart-seconds 60]
 *
 * Uses the built packages: run `pnpm -r build` first.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    'restart-seconds': { type: 'string', default: '60' },
    role: { type: 'string', default: 'sender' },
    port: { type: 'string', default: '0' },
  },
});

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

if (values.role === 'responder') {
  // The responder: answers `echo`, reports its port and RSS, stops gracefully on SIGTERM.
  const node = createNode(
    { name: 'responder', transport: tcpTransport(), listen: { host: '127.0.0.1', port: Number(values.port) } },
    { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }) },
  );
  const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  process.once('SIGTERM', () => {
    say({ event: 'stopping', rss: process.memoryUsage().rss });
    node.stop('responder restarting').catch(() => {});
  });
  await node.start();
  say({ event: 'started', port: node.address.port, rss: process.memoryUsage().rss });
} else {
  await sender();
}

function startResponder(port) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', 'responder', '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (line.event === 'started') resolve({ child, exited, port: line.port, rss: line.rss });
      }
    });
    child.once('exit', () => reject(new Error('responder exited before it started')));
  });
}

async function sender() {
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  const restartMs = Number(values['restart-seconds']) * 1000;
  const durationMs = minutes * 60_000;
  const rssStart = process.memoryUsage().rss;

  let responder = await startResponder(0);
  const port = responder.port;
  const responderRssFirst = responder.rss;
  const node = createNode({
    name: 'sender',
    transport: tcpTransport(),
    listen: false,
    endpoints: [{ host: '127.0.0.1', port, name: 'responder' }],
    connection: { maxAttempts: 0, initialDelayMs: 20, maxDelayMs: 200 },
    heartbeat: { intervalMs: 1000, timeoutMs: 3000 },
    sync: { timeoutMs: 5000 },
  });
  await node.start();

  const counts = { sent: 0, acknowledged: 0, lost: 0, refused: 0, inFlight: 0, maxSettleMs: 0 };
  const lostBy = {};
  const payload = 'x'.repeat(64);
  const issue = () => {
    const t = performance.now();
    const request = node.syncRequest('echo', payload);
    if (request.outcome === 'failed') {
      // Not sent: nobody handles the topic while the responder is away.
      counts.refused++;
      request.first().catch(() => {});
      return;
    }
    counts.sent++;
    counts.inFlight++;
    request
      .first()
      .then(
        () => {
          counts.acknowledged++;
        },
        (error) => {
          counts.lost++;
          lostBy[error.code] = (lostBy[error.code] ?? 0) + 1;
        },
      )
      .finally(() => {
        counts.inFlight--;
        counts.maxSettleMs = Math.max(counts.maxSettleMs, performance.now() - t);
      });
  };

  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const load = setInterval(() => {
    for (let i = 0; i < perTick && counts.inFlight < 10_000; i++) issue();
  }, tickMs);

  const startedAt = Date.now();
  let restarts = 0;
  const progress = setInterval(() => {
    const s = Math.round((Date.now() - startedAt) / 1000);
    console.log(
      `[${s}s] sent ${counts.sent} acknowledged ${counts.acknowledged} lost ${counts.lost} refused ${counts.refused} ` +
        `restarts ${restarts} rss ${mib(process.memoryUsage().rss)}`,
    );
  }, 10_000);

  while (Date.now() - startedAt + restartMs <= durationMs) {
    await new Promise((resolve) => setTimeout(resolve, restartMs));
    const graceful = restarts % 2 === 1;
    const back = new Promise((resolve) => node.once('reconnected', resolve));
    responder.child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
    await responder.exited;
    responder = await startResponder(port);
    await back;
    restarts++;
  }
  const remaining = durationMs - (Date.now() - startedAt);
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));

  clearInterval(load);
  clearInterval(progress);
  const settleDeadline = Date.now() + 10_000;
  while (counts.inFlight > 0 && Date.now() < settleDeadline) await new Promise((resolve) => setTimeout(resolve, 10));
  const responderRssLast = await responderRss(responder);
  const rssEnd = process.memoryUsage().rss;
  const stats = node.stats;
  await node.stop('soak done');
  responder.child.kill('SIGTERM');
  await responder.exited;

  const unaccounted = counts.sent - counts.acknowledged - counts.lost;
  console.log(`
soak: ${minutes} min at ${rate} requests/s, responder restarted ${restarts} times (SIGKILL and SIGTERM alternately)
  sent            ${counts.sent}
  acknowledged    ${counts.acknowledged}
  lost            ${counts.lost}  ${JSON.stringify(lostBy)}
  unaccounted     ${unaccounted}  (sent - acknowledged - lost; must be 0)
  refused         ${counts.refused}  (not sent: no route while the responder was away)
  slowest settle  ${counts.maxSettleMs.toFixed(1)} ms
  node stats      connectionsLost ${stats.connectionsLost}, reconnects ${stats.reconnects}, attempts ${stats.connectionAttempts}, failures ${stats.connectionFailures}, syncTimeouts ${stats.syncTimeouts}
  sender RSS      ${mib(rssStart)} at start, ${mib(rssEnd)} at end
  responder RSS   ${mib(responderRssFirst)} first start, ${mib(responderRssLast)} last generation at end`);
  process.exitCode = unaccounted === 0 && counts.inFlight === 0 ? 0 : 1;
}

/** The responder's RSS, read from /proc (Linux) without disturbing it; its start figure elsewhere. */
async function responderRss(responder) {
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${responder.child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb * 1024 : responder.rss;
  } catch {
    return responder.rss;
  }
}
