import Fastify, { type FastifyInstance } from 'fastify';
import type { WebSocketTLSOptions } from './options.js';
import { WebSocketListenError } from './websocket-errors.js';

/**
 * The component's own server (without `http`): a Fastify instance with `mount` on it, listening on
 * `host:port` (ws, or wss with `tls`). Throws `SYSTEMGE_ERR_WS_LISTEN` when the port cannot be bound.
 */
export async function listenOwn(
  host: string,
  port: number,
  tls: WebSocketTLSOptions | undefined,
  mount: (scope: FastifyInstance) => Promise<void>,
): Promise<{ fastify: FastifyInstance; address: { host: string; port: number } | undefined }> {
  const fastify = Fastify({ logger: false, ...(tls === undefined ? {} : { https: tls }) }) as unknown as FastifyInstance;
  // An upgrade to any other path gets a plain 404 on a socket the HTTP parser has let go of; close it.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.headers.upgrade !== undefined) {
      const socket = request.raw.socket;
      reply.raw.once('finish', () => {
        socket.end();
        socket.once('finish', () => socket.destroy());
      });
    }
    done();
  });
  try {
    await fastify.register((scope) => mount(scope));
    await fastify.listen({ host, port });
  } catch (error) {
    await fastify.close().catch(() => {});
    if ((error as { code?: string }).code?.startsWith('E') === true) throw new WebSocketListenError(host, port, { cause: error });
    throw error;
  }
  const address = fastify.server.address();
  return { fastify, address: typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined };
}
