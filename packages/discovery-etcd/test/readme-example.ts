import { etcdDiscovery } from '../src/index.js';

const discovery = etcdDiscovery({
  endpoints: [process.env['ETCD_ENDPOINT'] ?? 'http://127.0.0.1:2379'],
  cluster: 'shop',
  leaseTtlSeconds: 10,
});

discovery.subscribe((event) => {
  if (event.type === 'joined') console.log(`joined: ${event.member.name} at ${event.member.host}:${event.member.port}`);
  if (event.type === 'left') console.log(`left: ${event.member.name}`);
  if (event.type === 'degraded') console.log(`etcd unreachable: ${event.error.message}`);
});

// Announce this node; the others see it join, and leave at once on stop().
await discovery.start({ name: 'orders-1', host: '127.0.0.1', port: 60001, topics: ['order.create'] });
console.log(
  'members:',
  discovery.members().map((m) => m.name),
);
await discovery.close();
