import { isLoopbackHost } from '@systemge/access';

/** Subprotocol a browser offers with `new WebSocket(url, [DASHBOARD_WS_PROTOCOL, 'systemge.bearer.' + token])`. */
export const DASHBOARD_WS_PROTOCOL = 'systemge.dashboard.v1';
/** Prefix of the subprotocol entry that carries the token on a WebSocket upgrade. */
export const WS_BEARER_PREFIX = 'systemge.bearer.';

/** Characters a token may use: those allowed in a `Sec-WebSocket-Protocol` entry (RFC 7230 tchar). */
export const TOKEN_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

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
