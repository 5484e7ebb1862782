/**
 * The raw baseline: `node:net` with u32 length-prefixed bodies and nothing else (no topic, no
 * correlation id, no validation). The first byte of a connection says what it is for: `A` async
 * messages (counted), `S` requests (each body echoed back). Responses come back in order, so a
 * request is matched to the oldest one outstanding.
 *
 * Payloads are text, handled as the other systems handle them: the sender UTF-8-encodes the
 * string for every message, the receiver decodes every body to a string (`toString()`, without
 * the UTF-8 validation Systemge adds), and the echo server decodes the request and encodes the
 * response from that string. `options.bytes` (system `raw-bytes`) skips all of it and moves one
 * pre-encoded Buffer: the framing cost alone.
 */
import net from 'node:net';
import { rawParser, rawSender } from '../../tcp/raw-framing.js';
import { textPayload } from '../../payloads.js';
import { Fifo, HIGH_WATER_MARK } from '../fifo.js';

export async function server({ onMessage, options }) {
  const bytes = options.bytes === true;
  const sockets = new Set();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let push;
    socket.on('data', (chunk) => {
      if (push === undefined) {
        const mode = chunk[0];
        chunk = chunk.subarray(1);
        if (mode === 0x41) {
          push = bytes ? rawParser((body) => onMessage(body.length)) : rawParser((body) => onMessage(body.toString().length));
        } else {
          const uncork = () => socket.uncork();
          let corked = false;
          push = rawParser((body) => {
            if (!corked) {
              corked = true;
              socket.cork();
            }
            socket.write(bytes ? frameOf(body) : textFrame(body.toString()));
          });
          const inner = push;
          push = (c) => {
            inner(c);
            if (corked) {
              corked = false;
              process.nextTick(uncork);
            }
          };
        }
      }
      push(chunk);
    });
  });
  await new Promise((resolve) => srv.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: srv.address().port,
    connections: () => sockets.size,
    close() {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

/** `u32 length + body`, a copy of the bytes. */
function frameOf(body) {
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** `u32 length + text` UTF-8-encoded. */
function textFrame(text) {
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, 4);
  return frame;
}

function dial(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, writableHighWaterMark: HIGH_WATER_MARK }, () => resolve(socket));
    socket.once('error', reject);
  });
}

export async function client({ ports, size, fail, options }) {
  const bytes = options.bytes === true;
  const text = textPayload(size);
  const body = Buffer.from(text);
  let syncSocket;
  const pending = new Fifo();
  const frame = frameOf(body);
  let corked = false;
  const uncork = () => {
    corked = false;
    syncSocket.uncork();
  };
  return {
    async pump() {
      const socket = await dial(ports[0]);
      socket.setNoDelay(true);
      socket.on('error', (err) => fail(`raw sender: ${err.message}`));
      socket.write(Buffer.from('A'));
      rawSender(socket, bytes ? body : text).start();
    },
    async prepareSync() {
      syncSocket = await dial(ports[0]);
      syncSocket.setNoDelay(true);
      syncSocket.on('error', (err) => fail(`raw client: ${err.message}`));
      syncSocket.write(Buffer.from('S'));
      const push = bytes
        ? rawParser((response) => {
            if (response.length !== size) fail(`raw: response of ${response.length} bytes, expected ${size}`);
            pending.shift()();
          })
        : rawParser((response) => {
            const answer = response.toString();
            if (answer.length !== size) fail(`raw: response of ${answer.length} chars, expected ${size}`);
            pending.shift()();
          });
      syncSocket.on('data', push);
    },
    request() {
      return new Promise((resolve) => {
        pending.push(resolve);
        if (!corked) {
          corked = true;
          syncSocket.cork();
          process.nextTick(uncork);
        }
        syncSocket.write(bytes ? frame : textFrame(text));
      });
    },
    close() {
      syncSocket?.destroy();
    },
  };
}
