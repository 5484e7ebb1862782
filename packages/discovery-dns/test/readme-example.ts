import { dnsDiscovery } from '../src/index.js';

// A Kubernetes headless service: one A record per ready pod.
const discovery = dnsDiscovery({
  name: process.env['SERVICE_NAME'] ?? 'systemge.shop.svc.cluster.local',
  port: 60001,
  servers: process.env['DNS_SERVER'] === undefined ? undefined : [process.env['DNS_SERVER']],
  intervalMs: 5000,
});

discovery.subscribe((event) => {
  if (event.type === 'joined') console.log(`joined: ${event.member.host}:${event.member.port}`);
  if (event.type === 'left') console.log(`left: ${event.member.host}:${event.member.port}`);
});

// This pod's own address is left out; the handshake tells each member's name.
await discovery.start({ name: process.env['HOSTNAME'] ?? 'orders-0', host: process.env['POD_IP'] ?? '127.0.0.1', port: 60001 });
console.log('members:', discovery.members().length);
await discovery.close();
