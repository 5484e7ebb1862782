/**
 * NATS via nats.js against a local nats-server. Async: publish to a subject one subscriber
 * process counts, with at most two flushes (PING/PONG round trips) of 1 MiB of payload each
 * outstanding. Sync: `request` to a subject whose subscriber responds with the request's data;
 * scatter-gather: `requestMany` with the count strategy over several subscriber connections;
 * balanced: `request` to a subject every server subscribes to in one queue group (`bench`), so
 * nats-server hands each request to one of them.
 * Payloads are text on both sides: published as a string (nats.js encodes it), read with
 * `msg.string()`; the responder decodes the request and responds with that string.
 */
import { connect, RequestStrategy } from 'nats';
import { textPayload } from '../../payloads.js';
import { HIGH_WATER_MARK } from '../fifo.js';

const ASYNC_SUBJECT = 'bench.async';
const SYNC_SUBJECT = 'bench.sync';
const BALANCED_SUBJECT = 'bench.balanced';
const QUEUE = 'bench';

export async function server({ onMessage, natsUrl, fail }) {
  const nc = await connect({ servers: natsUrl, name: 'bench-server' });
  nc.subscribe(ASYNC_SUBJECT, {
    callback: (err, msg) => {
      if (err) fail(`nats subscriber: ${err.message}`);
      else onMessage(msg.string().length);
    },
  });
  nc.subscribe(SYNC_SUBJECT, {
    callback: (err, msg) => {
      if (err) fail(`nats responder: ${err.message}`);
      else msg.respond(msg.string());
    },
  });
  nc.subscribe(BALANCED_SUBJECT, {
    queue: QUEUE,
    callback: (err, msg) => {
      if (err) fail(`nats queue responder: ${err.message}`);
      else msg.respond(msg.string());
    },
  });
  await nc.flush();
  nc.closed().then((err) => {
    if (err) fail(`nats server connection closed: ${err.message}`);
  });
  return { port: 0, connections: () => 0, close: () => nc.close() };
}

export async function client({ size, natsUrl, fail }) {
  const data = textPayload(size);
  const nc = await connect({ servers: natsUrl, name: 'bench-client' });
  return {
    async pump() {
      const perFlush = Math.max(1, Math.floor(HIGH_WATER_MARK / size));
      const loop = async () => {
        let previous = Promise.resolve();
        for (;;) {
          for (let i = 0; i < perFlush; i++) nc.publish(ASYNC_SUBJECT, data);
          const flushed = nc.flush();
          await previous;
          previous = flushed;
        }
      };
      loop().catch((err) => fail(`nats publisher: ${err.message}`));
    },
    async prepareSync() {},
    request: () => nc.request(SYNC_SUBJECT, data, { timeout: 10_000 }),
    balanced: () => nc.request(BALANCED_SUBJECT, data, { timeout: 10_000 }),
    check(msg) {
      const text = msg.string();
      if (text.length !== size) fail(`nats: response of ${text.length} chars, expected ${size}`);
    },
    async scatter(expected) {
      const replies = await nc.requestMany(SYNC_SUBJECT, data, {
        strategy: RequestStrategy.Count,
        maxMessages: expected,
        maxWait: 10_000,
      });
      let n = 0;
      for await (const msg of replies) {
        if (msg.string().length !== size) fail(`nats scatter: response of ${msg.data.length} bytes`);
        n++;
      }
      if (n !== expected) fail(`nats scatter: ${n} responses, expected ${expected}`);
    },
    close: () => nc.close(),
  };
}
