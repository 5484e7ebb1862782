export { etcdDiscovery, type EtcdDiscoveryOptions } from './etcd-discovery.js';
export type { EtcdTLSOptions } from './etcd-gateway.js';
