import { describe, expect, it } from 'vitest';
import { manualDiscovery, type PeerInfo } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

describe('a discovered member that leaves as its dial completes', () => {
  it('is disconnected, not kept: leaving from the peer:connected listener closes the connection', { timeout: 30_000 }, async () => {
    const orders = await startNode({ name: 'orders', listen: { host: '127.0.0.1', port: 0 } });
    const discovery = manualDiscovery();
    const client = await startNode({ name: 'client', listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source: discovery } });
    const lost = new Promise<PeerInfo>((resolve) => orders.on('peer:disconnected', resolve));
    // The member leaves in the very turn the handshake completes, before the dial has returned the peer.
    client.once('peer:connected', () => discovery.leave('orders'));
    discovery.join({ name: 'orders', ...endpointOf(orders) });
    const peer = await Promise.race([
      lost,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('orders kept the connection for 10 s')), 10_000)),
    ]);
    expect(peer.name).toBe('client');
    await until(() => client.peers().length === 0, 10_000, 'client without peers');
    expect(client.stats.connectionAttempts).toBe(1);
  });
});
