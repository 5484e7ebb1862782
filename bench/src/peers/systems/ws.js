/**
 * Plain `ws` (no compression). A connection to `/async` sends text messages the server counts,
 * at most 1 MiB of them not yet written (send callbacks); a connection to `/sync` sends text
 * requests the server echoes, matched to the oldest one outstanding (the server answers in order).
 * Text on both sides: strings are sent, every received message is decoded to a string, and the
 * echo is sent from that string.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { textPayload } from '../../payloads.js';
import { Fifo, HIGH_WATER_MARK } from '../fifo.js';

export async function server({ onMessage }) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    if (req.url === '/async') {
      ws.on('message', (data) => onMessage(data.toString().length));
    } else {
      ws.on('message', (data) => ws.send(data.toString()));
    }
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  return {
    port: wss.address().port,
    connections: () => wss.clients.size,
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export async function client({ ports, size, fail }) {
  const text = textPayload(size);
  let syncWs;
  const pending = new Fifo();
  return {
    async pump() {
      const ws = await open(`ws://127.0.0.1:${ports[0]}/async`);
      ws.on('error', (err) => fail(`ws sender: ${err.message}`));
      const window = Math.max(1, Math.floor(HIGH_WATER_MARK / size));
      let inFlight = 0;
      const onSent = (err) => {
        if (err) return fail(`ws send: ${err.message}`);
        inFlight--;
        // Refill from the event loop, not from this callback: a chain of synchronous write
        // callbacks would otherwise never let I/O (and the parent's IPC) in.
        if (inFlight === window >> 1) setImmediate(fill);
      };
      const fill = () => {
        while (inFlight < window) {
          inFlight++;
          ws.send(text, onSent);
        }
      };
      fill();
    },
    async prepareSync() {
      syncWs = await open(`ws://127.0.0.1:${ports[0]}/sync`);
      syncWs.on('error', (err) => fail(`ws client: ${err.message}`));
      syncWs.on('message', (data) => {
        const text = data.toString();
        if (text.length !== size) fail(`ws: response of ${text.length} chars, expected ${size}`);
        pending.shift()();
      });
    },
    request() {
      return new Promise((resolve) => {
        pending.push(resolve);
        syncWs.send(text);
      });
    },
    close() {
      syncWs?.terminate();
    },
  };
}
