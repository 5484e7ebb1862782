import { createNode, type NodeConfig, type NodePlugin, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach } from 'vitest';

const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup();
});

/** Runs `cleanup` after the current test, last registered first. */
export function onTeardown(cleanup: () => Promise<unknown> | unknown): void {
  cleanups.push(cleanup);
}

/** A started node on 127.0.0.1:0 over TCP with the given plugins, stopped after the test. */
export async function startNode(
  config: Partial<NodeConfig> & { name: string },
  application: object = {},
  plugins: NodePlugin[] = [],
): Promise<SystemgeNode> {
  const node = createNode({ transport: tcpTransport(), ...config }, application, { plugins });
  onTeardown(() => node.stop());
  await node.start();
  return node;
}

export function endpointOf(node: SystemgeNode): { host: string; port: number } {
  const address = node.address;
  if (address === undefined) throw new Error(`${node.name} is not listening`);
  return { host: address.host, port: address.port };
}

/** `http_requests_total` samples of `getMetrics()` as `{ 'GET /a/:id 2xx': count }`. */
export function routeCounts(http: {
  getMetrics(): { name: string; labels?: Record<string, string>; value: number }[];
}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of http.getMetrics()) {
    if (m.name === 'http_requests_total') out[`${m.labels?.['route']} ${m.labels?.['status']}`] = m.value;
  }
  return out;
}
