/**
 * The server of the websocket-fanout scenario, run as a child process (with --expose-gc).
 *
 *   node --expose-gc server.js <impl> <maxClients>
 *
 * impl `systemge`: a Systemge node (no transport) with `websocketComponent({ port: 0 })`,
 * broadcasting with `ws.broadcast(topic, payload)`. impl `ws`: a plain `ws` WebSocketServer on
 * 127.0.0.1 port 0, path /ws, broadcasting the same JSON text `{ topic, payload }` (stringified
 * once) with a loop over `wss.clients`. Reports `{ type: 'listening', url }`. IPC:
 *
 * - `{ type: 'snapshot?' }` → `{ type: 'snapshot', rss, heapUsed, clients }` after a full GC.
 * - `{ type: 'broadcast', ms }` → broadcasts for `ms` in batches of BATCH per event-loop turn,
 *   pausing while any client has more than PAUSE_BYTES unsent (read back through each API), then
 *   `{ type: 'broadcasted', broadcasts, seconds, cpuMicros, clients }`.
 */
import { createNode } from '@systemge/node';
import { websocketComponent } from '@systemge/websocket';
import { WebSocketServer } from 'ws';
import { textPayload } from '../payloads.js';

const [impl, maxClientsArg] = process.argv.slice(2);
const TOPIC = 'bench.fanout';
const PAYLOAD = textPayload(100);
const BATCH = 10;
/** Below `websocketComponent`'s default maxBufferedBytes (4 MiB), so no client is cut off. */
const PAUSE_BYTES = 1024 * 1024;

function fail(message) {
  process.send({ type: 'error', message });
  process.exit(1);
}

let broadcast;
let maxBuffered;
let clientCount;
let url;
if (impl === 'systemge') {
  const ws = websocketComponent({ port: 0, maxClients: Number(maxClientsArg) });
  const node = createNode({ name: 'fanout', listen: false }, {}, { plugins: [ws] });
  await node.start();
  url = ws.url;
  broadcast = () => ws.broadcast(TOPIC, PAYLOAD);
  maxBuffered = () => {
    let max = 0;
    for (const id of ws.clients()) max = Math.max(max, ws.client(id)?.bufferedBytes ?? 0);
    return max;
  };
  clientCount = () => ws.clients().length;
} else if (impl === 'ws') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  url = `ws://127.0.0.1:${wss.address().port}/ws`;
  broadcast = () => {
    const data = JSON.stringify({ topic: TOPIC, payload: PAYLOAD });
    let sent = 0;
    for (const client of wss.clients) {
      if (client.readyState === 1) {
        client.send(data);
        sent++;
      }
    }
    return sent;
  };
  maxBuffered = () => {
    let max = 0;
    for (const client of wss.clients) max = Math.max(max, client.bufferedAmount);
    return max;
  };
  clientCount = () => wss.clients.size;
} else {
  fail(`unknown impl ${impl}`);
}

function runBroadcasts(ms) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  let broadcasts = 0;
  const turn = () => {
    if (performance.now() >= end) {
      const cpu = process.cpuUsage(cpu0);
      process.send({
        type: 'broadcasted',
        broadcasts,
        seconds: (performance.now() - t0) / 1000,
        cpuMicros: cpu.user + cpu.system,
        clients: clientCount(),
      });
      return;
    }
    if (maxBuffered() > PAUSE_BYTES) {
      setTimeout(turn, 1);
      return;
    }
    for (let i = 0; i < BATCH; i++) {
      if (broadcast() === 0) fail('broadcast reached no client');
      broadcasts++;
    }
    setImmediate(turn);
  };
  turn();
}

process.on('message', (msg) => {
  if (msg.type === 'snapshot?') {
    globalThis.gc?.();
    const memory = process.memoryUsage();
    process.send({ type: 'snapshot', rss: memory.rss, heapUsed: memory.heapUsed, clients: clientCount() });
  } else if (msg.type === 'broadcast') {
    runBroadcasts(msg.ms);
  }
});
process.send({ type: 'listening', url });
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
