import type { Socket } from 'node:net';
import type { CloseInfo, Connection, Frame, Listener, RemoteAddress, SystemgeError } from '@systemge/protocol';

/** Rejects when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve function, for events seen in callbacks. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A connection whose handlers collect frames and the close. */
export interface Observed {
  connection: Connection;
  frames: Frame[];
  nextFrame(): Promise<Frame>;
  closed: Promise<CloseInfo>;
}

/** Installs collecting handlers; with `echo`, every frame is also sent back. */
export function observe(connection: Connection, echo = false): Observed {
  const frames: Frame[] = [];
  const waiting: ((frame: Frame) => void)[] = [];
  const closed = deferred<CloseInfo>();
  connection.setHandlers({
    onFrame(frame) {
      if (echo && !connection.closed) connection.send(frame);
      const waiter = waiting.shift();
      if (waiter !== undefined) waiter(frame);
      else frames.push(frame);
    },
    onClose: (info) => closed.resolve(info),
  });
  return {
    connection,
    frames,
    nextFrame: () => {
      const queued = frames.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise<Frame>((resolve) => waiting.push(resolve));
    },
    closed: closed.promise,
  };
}

/** One refusal seen by a listener. */
export interface Refusal {
  remote: RemoteAddress;
  reason: string;
  error: SystemgeError | undefined;
}

/** Everything a test opened, closed in `afterEach` even when the test failed. */
export class Resources {
  private readonly listeners: Listener[] = [];
  private readonly connections: Connection[] = [];
  private readonly sockets: Socket[] = [];

  listener(listener: Listener): Listener {
    this.listeners.push(listener);
    return listener;
  }

  connection(connection: Connection): Connection {
    this.connections.push(connection);
    return connection;
  }

  socket<S extends Socket>(socket: S): S {
    this.sockets.push(socket);
    return socket;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets.splice(0)) socket.destroy();
    for (const connection of this.connections.splice(0)) connection.destroy();
    await Promise.all(this.listeners.splice(0).map((l) => l.close()));
  }
}

export function message(topic: string, payload: string): Frame {
  return { kind: 1, topic, payload, syncToken: undefined };
}
