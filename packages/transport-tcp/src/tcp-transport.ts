import * as net from 'node:net';
import {
  createStreamConnection,
  DialError,
  listenOnSockets,
  resolveLimits,
  type Connection,
  type DialOptions,
  type DialTarget,
  type Listener,
  type ListenOptions,
  type Transport,
} from '@systemge/protocol';

/** Options of `tcpTransport()`. */
export interface TCPTransportOptions {
  /** Disable Nagle's algorithm (frames are already batched per tick). Default true. */
  noDelay?: boolean;
  /** TCP keep-alive initial delay, ms; 0 turns keep-alive off. Default 0 (heartbeats detect dead peers). */
  keepAliveMs?: number;
  /** Listen backlog. Default 511. */
  backlog?: number;
}

/** A `Transport` over plain TCP. */
export function tcpTransport(options: TCPTransportOptions = {}): Transport {
  const noDelay = options.noDelay ?? true;
  const keepAliveMs = options.keepAliveMs ?? 0;
  const backlog = options.backlog ?? 511;

  function configure(socket: net.Socket): void {
    socket.setNoDelay(noDelay);
    if (keepAliveMs > 0) socket.setKeepAlive(true, keepAliveMs);
  }

  return {
    name: 'tcp',

    listen(listenOptions: ListenOptions): Promise<Listener> {
      const limits = resolveLimits(listenOptions.limits);
      return listenOnSockets(listenOptions, {
        transport: 'tcp',
        backlog,
        onSocket: (socket, remote) => {
          configure(socket);
          const connection = createStreamConnection(
            socket,
            {
              transport: 'tcp',
              remoteAddress: remote.address,
              remotePort: remote.port,
              remoteFamily: remote.family,
              localAddress: socket.localAddress ?? '',
              localPort: socket.localPort ?? 0,
            },
            { limits, highWaterMark: listenOptions.highWaterMark },
          );
          listenOptions.onConnection(connection);
        },
      });
    },

    dial(target: DialTarget, dialOptions: DialOptions = {}): Promise<Connection> {
      const limits = resolveLimits(dialOptions.limits);
      const timeoutMs = dialOptions.timeoutMs ?? 10_000;
      const address = `${target.host}:${target.port}`;
      return new Promise<Connection>((resolve, reject) => {
        if (dialOptions.signal?.aborted) {
          reject(new DialError(address, 'aborted'));
          return;
        }
        const socket = net.connect({ host: target.host, port: target.port });
        socket.pause();
        const fail = (reason: string, cause?: unknown): void => {
          cleanup();
          socket.destroy();
          reject(new DialError(address, reason, { cause }));
        };
        const onError = (err: Error & { code?: string }): void => fail(err.code ?? err.message, err);
        const onAbort = (): void => fail('aborted');
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          socket.off('error', onError);
          dialOptions.signal?.removeEventListener('abort', onAbort);
        };
        socket.once('error', onError);
        dialOptions.signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          cleanup();
          configure(socket);
          resolve(
            createStreamConnection(
              socket,
              {
                transport: 'tcp',
                remoteAddress: socket.remoteAddress ?? target.host,
                remotePort: socket.remotePort ?? target.port,
                remoteFamily: socket.remoteFamily ?? '',
                localAddress: socket.localAddress ?? '',
                localPort: socket.localPort ?? 0,
              },
              { limits, highWaterMark: dialOptions.highWaterMark },
            ),
          );
        });
      });
    },
  };
}
