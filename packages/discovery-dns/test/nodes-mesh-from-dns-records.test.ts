import { createServer } from 'node:net';
import { createNode, type SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { afterEach, expect, it } from 'vitest';
import { dnsDiscovery } from '../src/index.js';
import { startDnsmasq, type TestDNSServer } from '../src/testing.js';

const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const nodes: SystemgeNode[] = [];
let server: TestDNSServer | undefined;

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  await server?.remove();
});

/** A port free on every one of `hosts` a moment ago (A records give one port for all members). */
async function portFreeOnAll(hosts: string[]): Promise<number> {
  for (let tries = 0; tries < 20; tries += 1) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, hosts[0], () => {
        const address = s.address();
        s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const free = await Promise.all(
      hosts.map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once('error', () => resolve(false));
            s.listen(port, host, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return port;
  }
  throw new Error('no port free on all hosts');
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`not ${what} within ${timeoutMs} ms: ${nodes.map((n) => `${n.name}→${names(n)}`).join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const names = (node: SystemgeNode): string =>
  node
    .peers()
    .map((p) => p.name)
    .sort()
    .join(',');

it('nodes on the addresses of an A record set mesh by DNS alone, names from the handshake; a node added to the records joins the mesh', async () => {
  const port = await portFreeOnAll(HOSTS);
  server = await startDnsmasq([], [`${HOSTS[0]} mesh.systemge.test`, `${HOSTS[1]} mesh.systemge.test`]);
  const gaveUp: string[] = [];
  const start = async (name: string, host: string): Promise<SystemgeNode> => {
    const node = createNode(
      { name, listen: { host, port }, transport: tcpTransport() },
      { getSyncMessageHandlers: () => ({ who: () => name }) },
      { discovery: { source: dnsDiscovery({ name: 'mesh.systemge.test', port, servers: [server?.server ?? ''], intervalMs: 100 }) } },
    );
    node.on('connect:gave-up', (_e, error) => gaveUp.push(`${name}: ${error.message}`));
    nodes.push(node);
    await node.start();
    return node;
  };
  const a = await start('alpha', HOSTS[0] as string);
  const b = await start('beta', HOSTS[1] as string);
  // Both dial each other (DNS gives no names to order them by): one connection per pair remains.
  await until(() => names(a) === 'beta' && names(b) === 'alpha', 'alpha and beta meshed');

  const c = await start('gamma', HOSTS[2] as string);
  await server.setHosts(HOSTS.map((h) => `${h} mesh.systemge.test`));
  await until(() => names(a) === 'beta,gamma' && names(b) === 'alpha,gamma' && names(c) === 'alpha,beta', 'three meshed');
  const answers = (await a.syncRequest('who', '', { timeoutMs: 5000 }).all()).map((r) => (r.ok ? String(r.payload) : r.error)).sort();
  expect(answers).toEqual(['beta', 'gamma']);
  expect(gaveUp).toEqual([]);
}, 60_000);
