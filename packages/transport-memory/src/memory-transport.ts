import { Duplex } from 'node:stream';
import {
  createStreamConnection,
  DialError,
  ListenError,
  resolveLimits,
  type Connection,
  type DialOptions,
  type DialTarget,
  type Listener,
  type ListenOptions,
  type Transport,
} from '@systemge/protocol';

/** One end of an in-memory byte pipe. Writes become reads on the peer, with stream backpressure. */
class MemorySocket extends Duplex {
  peer: MemorySocket | undefined;
  private blockedWrite: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined || peer.destroyed) {
      callback(Object.assign(new Error('peer closed'), { code: 'EPIPE' }));
      return;
    }
    if (peer.push(chunk)) callback();
    else peer.blockedWrite = callback;
  }

  override _read(): void {
    const callback = this.blockedWrite;
    if (callback !== undefined) {
      this.blockedWrite = undefined;
      callback();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer !== undefined && !peer.destroyed) process.nextTick(() => peer.destroy());
    callback(error);
  }
}

/** Listeners by `host:port`. Transports sharing a network can reach each other. */
export class MemoryNetwork {
  /** @internal */
  readonly listeners = new Map<string, (socket: MemorySocket, remotePort: number) => void>();
  /** @internal */
  nextPort = 40000;
}

const defaultNetwork = new MemoryNetwork();

export interface MemoryTransportOptions {
  /** Network to join. Default: one shared per process. */
  network?: MemoryNetwork;
}

/** A `Transport` that connects nodes in the same process without sockets (same framing and limits as TCP). */
export function memoryTransport(options: MemoryTransportOptions = {}): Transport {
  const network = options.network ?? defaultNetwork;
  return {
    name: 'memory',

    async listen(listenOptions: ListenOptions): Promise<Listener> {
      const limits = resolveLimits(listenOptions.limits);
      const host = listenOptions.host ?? '127.0.0.1';
      let port = listenOptions.port ?? 0;
      if (port === 0) {
        do port = network.nextPort++;
        while (network.listeners.has(`${host}:${port}`));
      }
      const key = `${host}:${port}`;
      if (network.listeners.has(key)) throw new ListenError(key, 'address in use');
      network.listeners.set(key, (socket, remotePort) => {
        const remote = { address: host, port: remotePort, family: 'IPv4' };
        const refusal = listenOptions.accept?.(remote);
        if (refusal !== undefined) {
          socket.destroy();
          listenOptions.onRefused?.(remote, refusal);
          return;
        }
        listenOptions.onConnection(
          createStreamConnection(
            socket,
            {
              transport: 'memory',
              remoteAddress: host,
              remotePort,
              remoteFamily: 'IPv4',
              localAddress: host,
              localPort: port,
            },
            { limits, highWaterMark: listenOptions.highWaterMark },
          ),
        );
      });
      return {
        transport: 'memory',
        host,
        port,
        close: async () => {
          network.listeners.delete(key);
        },
      };
    },

    async dial(target: DialTarget, dialOptions: DialOptions = {}): Promise<Connection> {
      const limits = resolveLimits(dialOptions.limits);
      const key = `${target.host}:${target.port}`;
      if (dialOptions.signal?.aborted) throw new DialError(key, 'aborted');
      const accept = network.listeners.get(key);
      if (accept === undefined) throw new DialError(key, 'ECONNREFUSED');
      const local = new MemorySocket();
      const remote = new MemorySocket();
      local.peer = remote;
      remote.peer = local;
      const localPort = network.nextPort++;
      const connection = createStreamConnection(
        local,
        {
          transport: 'memory',
          remoteAddress: target.host,
          remotePort: target.port,
          remoteFamily: 'IPv4',
          localAddress: target.host,
          localPort,
        },
        { limits, highWaterMark: dialOptions.highWaterMark },
      );
      remote.pause();
      accept(remote, localPort);
      return connection;
    },
  };
}
