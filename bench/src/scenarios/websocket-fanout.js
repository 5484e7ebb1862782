/**
 * WebSocket fan-out: @systemge/websocket vs a plain `ws` server, interleaved in the same run.
 * The server runs in one child process, the clients (`ws` clients) in another, so the server's
 * RSS holds only its own state.
 *
 * - broadcast: messages/s delivered to FANOUT_CLIENTS clients (broadcasts/s × clients) while the
 *   server broadcasts a 100 B text message as fast as the clients take it, counted by the clients
 *   over `--seconds` after the warmup; and the server's CPU time per delivered message.
 * - idle: server RSS and heap after a full GC with IDLE_CLIENTS idle clients connected, minus the
 *   same before any connected, per client.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ask, expectMessage, openFilesLimit, spawnChild, stopChild } from '../children.js';
import { formatNumber, formatSummary, repeat, summarize } from '../harness.js';

const SERVER = fileURLToPath(new URL('../websocket/server.js', import.meta.url));
const CLIENTS = fileURLToPath(new URL('../websocket/clients.js', import.meta.url));
const IMPLS = ['systemge', 'ws'];
const KiB = 1024;

async function withProcesses(impl, clients, fd, body) {
  const server = spawnChild(SERVER, [impl, String(clients + 10)], { fdLimit: fd.fdLimit, execArgv: ['--expose-gc'] });
  let peers;
  try {
    const { url } = await expectMessage(server, 'listening', 10_000, `${impl} server`);
    const before = await ask(server, 'snapshot?', 'snapshot', 10_000, `${impl} server`);
    peers = spawnChild(CLIENTS, [url, String(clients)], { fdLimit: fd.fdLimit });
    const connected = await expectMessage(peers, 'connected', 20_000 + clients * 10, `${impl} clients`);
    const clientsFailed = expectMessage(peers, 'never', 3_600_000, `${impl} clients`);
    clientsFailed.catch(() => {});
    return await Promise.race([body(server, peers, before, connected), clientsFailed]);
  } finally {
    await Promise.all([stopChild(peers), stopChild(server)]);
  }
}

async function measureBroadcast(impl, clients, options, fd) {
  const warmupMs = Math.round(options.warmupSeconds * 1000);
  const measureMs = Math.round(options.seconds * 1000);
  return withProcesses(impl, clients, fd, async (server, peers) => {
    const done = expectMessage(server, 'broadcasted', warmupMs + measureMs + 15_000, `${impl} server`);
    server.send({ type: 'broadcast', ms: warmupMs + measureMs + 200 });
    await sleep(warmupMs);
    const c0 = await ask(peers, 'count?', 'count', 10_000, `${impl} clients`);
    await sleep(measureMs);
    const c1 = await ask(peers, 'count?', 'count', 10_000, `${impl} clients`);
    const sent = await done;
    if (sent.clients !== clients) throw new Error(`${impl}: ${sent.clients} of ${clients} clients left during the broadcast`);
    const delivered = ((c1.messages - c0.messages) * 1000) / (c1.at - c0.at);
    if (!(delivered > 0)) throw new Error(`${impl}: no messages delivered`);
    return {
      deliveredPerSecond: delivered,
      serverCpuNsPerMessage: (sent.cpuMicros * 1000) / (sent.broadcasts * clients),
    };
  });
}

async function measureIdle(impl, clients, fd) {
  return withProcesses(impl, clients, fd, async (server, _peers, before, connected) => {
    await sleep(1000);
    const after = await ask(server, 'snapshot?', 'snapshot', 10_000, `${impl} server`);
    if (after.clients !== clients) throw new Error(`${impl}: ${after.clients} of ${clients} clients connected`);
    return {
      rssPerClientKiB: (after.rss - before.rss) / clients / KiB,
      heapPerClientKiB: (after.heapUsed - before.heapUsed) / clients / KiB,
      rssBeforeMiB: before.rss / KiB / KiB,
      rssAfterMiB: after.rss / KiB / KiB,
      connectSeconds: connected.ms / 1000,
    };
  });
}

export const scenario = {
  name: 'websocket-fanout',
  description: 'WebSocket broadcast to many clients and idle memory per client, @systemge/websocket vs a plain ws server',
  async run(ctx) {
    const { runs, quick } = ctx.options;
    const notes = [];
    let fanoutClients = quick ? 50 : 1000;
    let idleClients = quick ? 50 : 10_000;
    const fd = openFilesLimit(idleClients + 200);
    if (fd.available < idleClients + 200) {
      idleClients = Math.max(10, fd.available - 200);
      fanoutClients = Math.min(fanoutClients, idleClients);
      notes.push(`Open-files limit ${fd.available}: ${idleClients} idle clients instead of ${quick ? 50 : 10_000}.`);
    }
    if (fd.fdLimit !== undefined) notes.push(`Server and clients run with \`ulimit -n ${fd.fdLimit}\`.`);

    ctx.log(`websocket-fanout broadcast: ${runs} × ${IMPLS.join(', ')}, ${fanoutClients} clients`);
    const cpu = new Map(IMPLS.map((i) => [i, []]));
    const broadcast = await repeat(IMPLS, runs, async (impl) => {
      const m = await measureBroadcast(impl, fanoutClients, ctx.options, fd);
      cpu.get(impl).push(m.serverCpuNsPerMessage);
      return m.deliveredPerSecond;
    });
    ctx.log(`websocket-fanout idle: ${runs} × ${IMPLS.join(', ')}, ${idleClients} clients`);
    const idle = new Map(IMPLS.map((i) => [i, []]));
    const rss = await repeat(IMPLS, runs, async (impl) => {
      const m = await measureIdle(impl, idleClients, fd);
      idle.get(impl).push(m);
      return m.rssPerClientKiB;
    });

    const wsDelivered = broadcast.get('ws').median;
    const wsRss = rss.get('ws').median;
    const results = IMPLS.map((impl) => ({
      server: impl,
      fanoutClients,
      deliveredPerSecond: broadcast.get(impl),
      broadcastsPerSecond: broadcast.get(impl).median / fanoutClients,
      deliveredRatioToWs: broadcast.get(impl).median / wsDelivered,
      serverCpuNsPerMessage: summarize(cpu.get(impl)),
      idleClients,
      rssPerClientKiB: rss.get(impl),
      rssRatioToWs: rss.get(impl).median / wsRss,
      heapPerClientKiB: summarize(idle.get(impl).map((m) => m.heapPerClientKiB)),
      idleRuns: idle.get(impl),
    }));
    notes.unshift(
      `Broadcast: ${fanoutClients} clients, a 100 B text payload as JSON \`{ topic, payload }\` (encoded once per broadcast by both), 10 broadcasts per event-loop turn, paused while any client has over 1 MiB unsent. Delivered msgs/s counted by the clients; / ws = median / ws median. Server CPU: user + system time of the server process per delivered message.`,
      `Idle: ${idleClients} clients connected and idle for 1 s; (RSS after − RSS before) / clients, both after a full GC. Heap: V8 heapUsed the same way.`,
      'Both servers at their defaults (no per-message deflate); the Systemge one through a node with `websocketComponent({ port: 0 })`, i.e. Fastify + @fastify/websocket + ws with per-client ids, rate limits and liveness pings.',
    );
    return {
      columns: [
        { key: 'server', title: 'server' },
        { key: 'delivered', title: `delivered msgs/s, ${fanoutClients} clients`, align: 'right' },
        { key: 'broadcasts', title: 'broadcasts/s', align: 'right' },
        { key: 'ratio', title: '/ ws', align: 'right' },
        { key: 'cpu', title: 'server CPU ns/msg', align: 'right' },
        { key: 'rss', title: `RSS KiB/client, ${idleClients} idle`, align: 'right' },
        { key: 'heap', title: 'heap KiB/client', align: 'right' },
        { key: 'rssRatio', title: '/ ws', align: 'right' },
      ],
      rows: results.map((r) => ({
        server: r.server === 'ws' ? 'ws (plain)' : '@systemge/websocket',
        delivered: formatSummary(r.deliveredPerSecond),
        broadcasts: formatNumber(r.broadcastsPerSecond),
        ratio: `${(r.deliveredRatioToWs * 100).toFixed(0)} %`,
        cpu: r.serverCpuNsPerMessage.median.toFixed(0),
        rss: formatSummary(r.rssPerClientKiB, (n) => n.toFixed(1)),
        heap: r.heapPerClientKiB.median.toFixed(1),
        rssRatio: `${(r.rssRatioToWs * 100).toFixed(0)} %`,
      })),
      results,
      notes,
    };
  },
};
