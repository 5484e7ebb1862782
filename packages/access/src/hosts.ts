import { isIP } from 'node:net';

/**
 * True for hosts only this machine can reach: 127.0.0.0/8, `::1` (also written out in full, and
 * IPv4-mapped `::ffff:127.x.x.x`), `localhost`; brackets (`[::1]`) and case are ignored. Other
 * names, `*.localhost` included, are not: what they resolve to is up to the resolver.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  const version = isIP(h);
  if (version === 4) return h.startsWith('127.');
  if (version === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** A host as it goes before `:port` in an address or URL: IPv6 in brackets (`[::1]`), anything else as is. */
export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
