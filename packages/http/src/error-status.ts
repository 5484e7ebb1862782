import { isSystemgeError } from '@systemge/node';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The HTTP status a route answers with when its handler throws (or rejects with) a Systemge error.
 * Unavailable peers are the gateway's upstream being down (503), a timeout its upstream being slow (504),
 * a failure reported by the peer a bad upstream answer (502).
 */
const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map([
  ['SYSTEMGE_ERR_NO_ROUTE', 503],
  ['SYSTEMGE_ERR_PEER_LOST', 503],
  ['SYSTEMGE_ERR_PEER_NOT_CONNECTED', 503],
  ['SYSTEMGE_ERR_PEER_RECONNECTING', 503],
  ['SYSTEMGE_ERR_RECONNECT_QUEUE_FULL', 503],
  ['SYSTEMGE_ERR_BACKPRESSURE', 503],
  ['SYSTEMGE_ERR_NODE_STOPPED', 503],
  ['SYSTEMGE_ERR_NODE_STATUS', 503],
  ['SYSTEMGE_ERR_CONNECTION_CLOSED', 503],
  ['SYSTEMGE_ERR_CONNECTION', 503],
  ['SYSTEMGE_ERR_SYNC_TIMEOUT', 504],
  ['SYSTEMGE_ERR_SYNC_FAILURE', 502],
  ['SYSTEMGE_ERR_NO_HANDLER', 502],
  ['SYSTEMGE_ERR_FIELD_TOO_LARGE', 413],
]);

const STATUS_TEXT: Readonly<Record<number, string>> = {
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The status code for an error a route handler threw: `undefined` for an error that is not a Systemge
 * error (Fastify's own handling applies); 500 for a Systemge error with no mapping (a programming error
 * such as `SYSTEMGE_ERR_PAYLOAD_UNENCODABLE` or `SYSTEMGE_ERR_INVALID_TOPIC`).
 */
export function systemgeErrorStatus(error: unknown): number | undefined {
  if (!isSystemgeError(error)) return undefined;
  return STATUS_BY_CODE.get(error.code) ?? 500;
}

/**
 * The component scope's error handler: Systemge errors get their status and a body like Fastify's
 * (`{ statusCode, code, error, message }`); anything else goes on to the parent handler.
 */
export function systemgeErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): unknown {
  const status = systemgeErrorStatus(error);
  if (status === undefined || reply.sent) throw error;
  return reply.code(status).send({ statusCode: status, code: error.code, error: STATUS_TEXT[status], message: error.message });
}
