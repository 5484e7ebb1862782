import { Counter, Registry } from 'prom-client';
import { createNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { nodeMetrics } from '../src/index.js';

// The application's own registry and metric, with Systemge's beside them.
const registry = new Registry();
const orders = new Counter({ name: 'shop_orders_total', help: 'Orders placed.', registers: [registry] });

const alpha = createNode({ name: 'alpha', transport: tcpTransport() }, { getAsyncMessageHandlers: () => ({ chat: () => orders.inc() }) });
await alpha.start();
const beta = createNode({ name: 'beta', transport: tcpTransport(), endpoints: [alpha.address!] });
await beta.start();

// Values are read from the nodes when the registry is scraped.
const metrics = nodeMetrics([alpha, beta], { registry });

beta.asyncMessage('chat', 'hello');
while (alpha.stats.asyncReceived === 0) await new Promise((resolve) => setImmediate(resolve));

const text = await registry.metrics(); // serve this at GET /metrics, type registry.contentType
console.log(text.split('\n').find((line) => line.startsWith('systemge_messages_received_total{node="alpha",kind="async"}')));
console.log(text.includes('shop_orders_total 1'));

metrics.stop();
await beta.stop();
await alpha.stop();
