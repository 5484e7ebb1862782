import { createNode, type Application, type NodeConfig, type NodeOptions, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach } from 'vitest';

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

/** Resolves when `predicate` holds, checking after each event-loop turn; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The value of one sample line of a text exposition, or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
