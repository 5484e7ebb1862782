import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach } from 'vitest';
import { createNode, type Application, type NodeConfig, type NodeOptions, type SystemgeNode } from '../src/index.js';

const created: SystemgeNode[] = [];

afterEach(async () => {
  await Promise.all(created.splice(0).map((n) => n.stop().catch(() => {})));
});

/** A started node on 127.0.0.1:0 over TCP, stopped after the test. */
export async function startNode(
  config: Partial<NodeConfig> & { name: string },
  application: Application = {},
  options?: NodeOptions,
): Promise<SystemgeNode> {
  const node = createNode({ transport: tcpTransport(), ...config }, application, options);
  created.push(node as SystemgeNode);
  await node.start();
  return node;
}

export function endpointOf(node: SystemgeNode, name?: string): { host: string; port: number; name?: string } {
  const address = node.address;
  if (address === undefined) throw new Error(`${node.name} is not listening`);
  return name === undefined ? { host: address.host, port: address.port } : { host: address.host, port: address.port, name };
}

/** Resolves when `predicate` holds, checking after each event-loop turn; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Resolves with the arguments of the next `event` emitted by `node`, or rejects after `timeoutMs`. */
export function nextEvent<A extends unknown[]>(
  node: SystemgeNode,
  event: Parameters<SystemgeNode['once']>[0],
  timeoutMs = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    node.once(event, ((...args: A) => {
      clearTimeout(timer);
      resolve(args);
    }) as never);
  });
}
