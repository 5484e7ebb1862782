/**
 * Systemge node to node, over TCP (`tcpTransport`) or TLS (`tlsTransport`, certificates made at
 * run time). Async: `asyncMessage` until it returns false, then `await node.drained()`.
 * Sync: `syncRequest(...).first()`; scatter-gather: `syncRequest(...).all()` over every peer;
 * balanced (one of the servers, round-robin): `request(...)`.
 */
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { tlsTransport } from '@systemge/transport-tls';
import { textPayload } from '../../payloads.js';
import { HIGH_WATER_MARK } from '../fifo.js';

export const ASYNC_TOPIC = 'bench.async';
export const SYNC_TOPIC = 'bench.sync';

function transport(tls, side) {
  if (tls === undefined) return tcpTransport();
  return side === 'server' ? tlsTransport({ certFile: tls.certFile, keyFile: tls.keyFile }) : tlsTransport({ caFile: tls.caFile });
}

export async function server({ onMessage, tls, group = 0, index = 0 }) {
  const node = createNode(
    { name: `server-${group}-${index}`, transport: transport(tls, 'server'), listen: { host: '127.0.0.1', port: 0 } },
    {
      getAsyncMessageHandlers: () => ({
        [ASYNC_TOPIC]: (message) => onMessage(message.payload.length),
      }),
      getSyncMessageHandlers: () => ({
        [SYNC_TOPIC]: (message) => message.payload,
      }),
    },
  );
  await node.start();
  return {
    port: node.address.port,
    connections: () => node.peers().length,
    close: () => node.stop(),
  };
}

export async function client({ ports, size, tls, fail, name = 'client' }) {
  const text = textPayload(size);
  const node = createNode(
    {
      name,
      transport: transport(tls, 'client'),
      listen: false,
      endpoints: ports.map((port) => ({ host: '127.0.0.1', port, serverName: 'localhost' })),
      connection: { maxAttempts: 3, onFailure: 'stop' },
    },
    {},
  );
  await node.start();
  return {
    async pump() {
      // 1 MiB of messages per burst: when the kernel takes every batch at once, asyncMessage
      // never returns false, and a loop without a break would never let I/O (or IPC) in.
      const burst = Math.max(1, Math.floor(HIGH_WATER_MARK / size));
      const loop = async () => {
        for (;;) {
          let ok = true;
          for (let i = 0; i < burst && ok; i++) ok = node.asyncMessage(ASYNC_TOPIC, text);
          if (ok) await new Promise(setImmediate);
          else await node.drained();
        }
      };
      loop().catch((err) => fail(`systemge sender: ${err.code ?? ''} ${err.message}`));
    },
    async prepareSync() {},
    request: () => node.syncRequest(SYNC_TOPIC, text).first(),
    balanced: () => node.request(SYNC_TOPIC, text),
    check(response) {
      if (response.length !== size) fail(`systemge: response of ${response.length} chars, expected ${size}`);
    },
    async scatter(expected) {
      const responses = await node.syncRequest(SYNC_TOPIC, text).all();
      if (responses.length !== expected || !responses.every((r) => r.ok)) {
        fail(`systemge scatter: ${responses.filter((r) => r.ok).length} ok responses of ${responses.length}, expected ${expected}`);
      }
    },
    close: () => node.stop(),
  };
}
