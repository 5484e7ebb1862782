import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Subprotocol a browser offers with `new WebSocket(url, [DASHBOARD_WS_PROTOCOL, 'systemge.bearer.' + token])`. */
export const DASHBOARD_WS_PROTOCOL = 'systemge.dashboard.v1';
/** Prefix of the subprotocol entry that carries the token on a WebSocket upgrade. */
export const WS_BEARER_PREFIX = 'systemge.bearer.';

/** Characters a token may use: those allowed in a `Sec-WebSocket-Protocol` entry (RFC 7230 tchar). */
export const TOKEN_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** Compares a presented token with the expected one in constant time, whatever their lengths. */
export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = createHash('sha256').update(token).digest();
  }

  matches(presented: string | undefined): boolean {
    // Hashing both sides first gives equal lengths, so neither length nor prefix leaks through timing.
    const digest = createHash('sha256').update(presented ?? '').digest();
    return timingSafeEqual(digest, this.expected) && presented !== undefined;
  }
}

/** The token of a request: `Authorization: Bearer <token>`, or on a WebSocket upgrade a `systemge.bearer.<token>` subprotocol. */
export function presentedToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  const protocols = headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const entry of protocols.split(',')) {
      const p = entry.trim();
      if (p.startsWith(WS_BEARER_PREFIX)) return p.slice(WS_BEARER_PREFIX.length);
    }
  }
  return undefined;
}

/** `hostname` of a `Host` header value (`[::1]:8080` → `::1`). */
export function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader);
  if (bracketed !== null) return bracketed[1]!;
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 || hostHeader.indexOf(':') !== colon ? hostHeader : hostHeader.slice(0, colon);
}

/** Normalises an origin for comparison: lower-case scheme and host, no trailing slash. */
export function normalizeOrigin(origin: string): string {
  try {
    const url = new URL(origin);
    return `${url.protocol}//${url.host}`.toLowerCase();
  } catch {
    return origin.toLowerCase().replace(/\/+$/, '');
  }
}

/**
 * Decides whether a browser origin may talk to the dashboard. With an explicit list, only
 * those origins. Otherwise only the dashboard's own origin: the one whose host is the request's
 * `Host`; when the dashboard listens on loopback, that host must be a loopback name too, so a
 * page on another site cannot get in by pointing its own host name at 127.0.0.1.
 */
export function originAllowed(
  origin: string,
  hostHeader: string | undefined,
  allowedOrigins: ReadonlySet<string> | undefined,
  loopbackOnly: boolean,
): boolean {
  const normalized = normalizeOrigin(origin);
  if (allowedOrigins !== undefined) return allowedOrigins.has(normalized);
  if (hostHeader === undefined) return false;
  if (normalized !== normalizeOrigin(`http://${hostHeader}`) && normalized !== normalizeOrigin(`https://${hostHeader}`)) {
    return false;
  }
  return !loopbackOnly || isLoopbackHost(hostnameOf(hostHeader));
}
