/**
 * Moleculer with its TCP transporter: static `urls` (both nodes' addresses, picked by the
 * parent), no UDP discovery, serializer `JSON` or `CBOR` (cbor-x, the fastest of its built-in
 * serializers by Moleculer's own benchmark). Async: `broker.emit` to a service event, at most
 * 1 MiB of payload in flight (an emit's promise settles once the transporter wrote the packet);
 * sync: `broker.call` of an action that returns its params. Balanced: several server nodes
 * (`nodeID` server-<group>) offer the action and `broker.call` picks one with the registry's
 * RoundRobin strategy (Moleculer's default, set explicitly).
 */
import Moleculer from 'moleculer';
import { textPayload } from '../../payloads.js';
import { HIGH_WATER_MARK } from '../fifo.js';

const { ServiceBroker } = Moleculer;

function broker(nodeID, { serializer, moleculerPort, moleculerUrls }) {
  return new ServiceBroker({
    nodeID,
    registry: { strategy: 'RoundRobin', preferLocal: true },
    namespace: 'bench',
    logger: false,
    serializer,
    transporter: {
      type: 'TCP',
      options: { udpDiscovery: false, port: moleculerPort, urls: moleculerUrls },
    },
    metrics: false,
    tracing: false,
    requestTimeout: 10_000,
  });
}

export async function server({ onMessage, options }) {
  const b = broker(options.nodeID ?? 'server', options);
  b.createService({
    name: 'bench',
    actions: {
      echo: (ctx) => ctx.params,
    },
    events: {
      'bench.async'(ctx) {
        onMessage(ctx.params.length);
      },
    },
  });
  await b.start();
  return { port: options.moleculerPort, connections: () => 0, close: () => b.stop() };
}

export async function client({ size, fail, options }) {
  const text = textPayload(size);
  const b = broker('client', options);
  await b.start();
  await b.waitForServices(['bench'], 10_000);
  return {
    async pump() {
      const window = Math.max(1, Math.floor(HIGH_WATER_MARK / size));
      let inFlight = 0;
      const onSent = () => {
        inFlight--;
        // Refill from the event loop, not from this callback: a chain of synchronous write
        // callbacks would otherwise never let I/O (and the parent's IPC) in.
        if (inFlight === window >> 1) setImmediate(fill);
      };
      const onError = (err) => fail(`moleculer emit: ${err.message}`);
      const fill = () => {
        while (inFlight < window) {
          inFlight++;
          b.emit('bench.async', text).then(onSent, onError);
        }
      };
      fill();
    },
    async prepareSync() {
      // Balanced: wait until every server node offers the action, or the first ones get it all.
      const servers = options.servers ?? 1;
      const deadline = Date.now() + 10_000;
      while (b.registry.getNodeList({ onlyAvailable: true }).filter((n) => n.id !== b.nodeID).length < servers) {
        if (Date.now() > deadline) throw new Error(`moleculer: fewer than ${servers} server nodes after 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await b.waitForServices(['bench'], 10_000);
    },
    balanced: () => b.call('bench.echo', text),
    request: () => b.call('bench.echo', text),
    check(response) {
      if (response.length !== size) fail(`moleculer: response of ${response.length} chars, expected ${size}`);
    },
    close: () => b.stop(),
  };
}
