import { createNode, manualDiscovery } from '../src/index.js';
import { tcpTransport } from '@systemge/transport-tcp';
import { expect, it } from 'vitest';

it('dials the member serving a topic it uses, and keeps it while the backend is down', { timeout: 10_000 }, async () => {
  const stock = createNode(
    { name: 'stock', transport: tcpTransport(), listen: { host: '127.0.0.1', port: 0 } },
    { getSyncMessageHandlers: () => ({ price: () => '42' }) },
  );
  await stock.start();
  const discovery = manualDiscovery();
  const client = createNode(
    { name: 'client', transport: tcpTransport(), listen: { host: '127.0.0.1', port: 0 } },
    {},
    { discovery: { source: discovery, connectTo: { uses: ['price'] } } },
  );
  await client.start();
  try {
    // What the node announced: its address and its dial policy.
    expect(discovery.announced).toMatchObject({ name: 'client', port: client.address?.port });
    expect(discovery.announced?.metadata?.['systemge.uses']).toBe('["price"]');

    const connected = new Promise((resolve) => client.once('peer:connected', resolve));
    discovery.join({ name: 'stock', host: '127.0.0.1', port: stock.address!.port, topics: ['price'] });
    await connected;
    expect(await client.syncRequest('price', '').first()).toBe('42');

    discovery.degrade('connection refused');
    expect(client.discoveryState()).toMatchObject({ degraded: true, memberCount: 1 });
    expect(client.peers().map((p) => p.name)).toEqual(['stock']);
  } finally {
    await client.stop();
    await stock.stop();
  }
});
