import * as net from 'node:net';
import { ListenError } from './errors.js';
import type { Listener, ListenOptions, RemoteAddress } from './transport.js';

/** How a socket-based transport hands accepted sockets to its own code. */
export interface SocketListenerOptions {
  /** Name of the transport, reported by the listener. */
  transport: string;
  /** Listen backlog. */
  backlog: number;
  /** Takes a socket the accept filter let through, still paused. */
  onSocket(socket: net.Socket, remote: RemoteAddress): void;
  /** Runs when the listener closes, after the port is released (e.g. to drop work in flight). */
  onClose?(): void;
}

/**
 * Listens on `listenOptions.host`/`port` (default 127.0.0.1:0) for a socket-based transport.
 * Every socket is paused, checked by `listenOptions.accept` on its raw address (a refused one costs
 * nothing more and is reported to `onRefused`), then given to `options.onSocket`. Rejects with
 * a ListenError when the port cannot be bound.
 */
export function listenOnSockets(listenOptions: ListenOptions, options: SocketListenerOptions): Promise<Listener> {
  const host = listenOptions.host ?? '127.0.0.1';
  const requestedPort = listenOptions.port ?? 0;
  const server = net.createServer({ pauseOnConnect: true });
  server.on('connection', (socket: net.Socket) => {
    const remote: RemoteAddress = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      family: socket.remoteFamily ?? '',
    };
    // A socket can be reset before we see it; it has no address then.
    if (remote.address === '') {
      socket.destroy();
      return;
    }
    const refusal = listenOptions.accept?.(remote);
    if (refusal !== undefined) {
      socket.destroy();
      listenOptions.onRefused?.(remote, refusal);
      return;
    }
    options.onSocket(socket, remote);
  });
  return new Promise<Listener>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new ListenError(`${host}:${requestedPort}`, err.message, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host, port: requestedPort, backlog: options.backlog }, () => {
      server.off('error', onError);
      // Accept errors (EMFILE and the like) must not crash the process; the server keeps listening.
      server.on('error', () => {});
      const address = server.address() as net.AddressInfo;
      resolve({
        transport: options.transport,
        host: address.address,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            if (!server.listening) {
              done();
              return;
            }
            // close() releases the port at once; its callback would wait for every accepted socket.
            server.close();
            options.onClose?.();
            process.nextTick(done);
          }),
      });
    });
  });
}
