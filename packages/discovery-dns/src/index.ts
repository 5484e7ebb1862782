export { dnsDiscovery, type DNSDiscoveryOptions, type DNSRecordType } from './dns-discovery.js';
