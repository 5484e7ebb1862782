import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AddressList, unmapIPv4 } from '@systemge/node';
import { HTTPConfigError } from './http-errors.js';

/**
 * A runtime-editable list of IP addresses and CIDR blocks (IPv4 and IPv6): `add`, `remove`, `set`,
 * `clear`, `entries`, `matches`. An invalid entry throws `SYSTEMGE_ERR_HTTP_CONFIG`.
 */
export type IPAccessList = AddressList;

export function accessList(option: 'allow' | 'deny', entries: readonly string[]): IPAccessList {
  return new AddressList(entries, option, (_path, message) => new HTTPConfigError(option, message));
}

/**
 * The scope's first `onRequest` hook: refuses an address on `deny`, or missing from a non-empty `allow`,
 * with 403 JSON before any route hook runs; `refused` is told the address and why.
 */
export function addressCheck(
  allow: IPAccessList,
  deny: IPAccessList,
  refused: (address: string, reason: string) => void,
): onRequestHookHandler {
  return (request, reply, done) => {
    if (request.headers.upgrade !== undefined) closeAfterResponse(request, reply);
    const address = unmapIPv4(request.ip);
    const refusal = deny.matches(address) ? 'denied' : allow.size > 0 && !allow.matches(address) ? 'not allowed' : undefined;
    if (refusal === undefined) {
      done();
      return;
    }
    refused(address, refusal);
    void reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `address ${address} is ${refusal}` });
  };
}

/**
 * An upgrade request answered with a plain response (refused, not found, no WebSocket route) arrives on a
 * socket the HTTP parser has let go of, so nothing else would ever close it: close it once the response is
 * flushed. A successful upgrade hijacks the reply, and 'finish' never fires.
 */
function closeAfterResponse(request: FastifyRequest, reply: FastifyReply): void {
  const socket = request.raw.socket;
  reply.raw.once('finish', () => {
    socket.end();
    socket.once('finish', () => socket.destroy());
  });
}
