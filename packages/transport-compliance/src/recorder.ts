import type { CloseInfo, Connection, Frame, Listener, SystemgeError, Transport } from '@systemge/protocol';

/** Default time a compliance check waits for an event, ms. */
export const DEFAULT_DEADLINE_MS = 4000;

/**
 * Wakes waiters whenever any recorded connection reports something, so tests await
 * the event they need with a deadline instead of sleeping.
 */
export class Events {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const check of [...this.waiters]) check();
  }

  /** Resolves once `predicate()` holds; rejects naming `what` after `timeoutMs`. */
  until(predicate: () => boolean, what: string, timeoutMs = DEFAULT_DEADLINE_MS): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (): void => {
        let done: boolean;
        try {
          done = predicate();
        } catch (error) {
          cleanup();
          reject(error);
          return;
        }
        if (done) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}

/** Rejects naming `what` when `promise` does not settle within `timeoutMs`. */
export function withDeadline<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Everything one connection reported, in order. */
export class RecordedConnection {
  readonly frames: Frame[] = [];
  readonly errors: SystemgeError[] = [];
  readonly closes: CloseInfo[] = [];
  drains = 0;
  /** Called for each frame after it is recorded. */
  onFrame: ((frame: Frame) => void) | undefined;

  constructor(
    readonly conn: Connection,
    private readonly events: Events,
  ) {
    conn.setHandlers({
      onFrame: (frame) => {
        this.frames.push(frame);
        this.onFrame?.(frame);
        events.notify();
      },
      onError: (error) => {
        this.errors.push(error);
        events.notify();
      },
      onDrain: () => {
        this.drains++;
        events.notify();
      },
      onClose: (info) => {
        this.closes.push(info);
        events.notify();
      },
    });
  }

  get closeInfo(): CloseInfo | undefined {
    return this.closes[0];
  }

  frameCount(count: number, timeoutMs?: number): Promise<void> {
    return this.events.until(() => this.frames.length >= count, `${count} frames (have ${this.frames.length})`, timeoutMs);
  }

  closed(timeoutMs?: number): Promise<CloseInfo> {
    return this.events
      .until(() => this.closes.length > 0, `onClose of the ${this.conn.transport} connection`, timeoutMs)
      .then(() => this.closes[0] as CloseInfo);
  }
}

/** A listener whose accepted connections are recorded and can be awaited one by one. */
export interface RecordedListener {
  listener: Listener;
  accepted: RecordedConnection[];
  refused: { address: string; reason: string }[];
  /** The next accepted connection not yet returned by `next()`. */
  next(timeoutMs?: number): Promise<RecordedConnection>;
}

/** Tracks what a test opened so afterEach can close it even when the test failed. */
export class Resources {
  readonly events = new Events();
  private readonly connections: Connection[] = [];
  private readonly listeners: Listener[] = [];

  /** Installs recording handlers on `conn`; `track: false` when it is tracked already. */
  record(conn: Connection, track = true): RecordedConnection {
    if (track) this.trackConnection(conn);
    return new RecordedConnection(conn, this.events);
  }

  trackConnection(conn: Connection): Connection {
    this.connections.push(conn);
    return conn;
  }

  trackListener(listener: Listener): Listener {
    this.listeners.push(listener);
    return listener;
  }

  async listen(transport: Transport, options: Partial<Parameters<Transport['listen']>[0]> = {}): Promise<RecordedListener> {
    const accepted: RecordedConnection[] = [];
    const refused: { address: string; reason: string }[] = [];
    let taken = 0;
    const listener = await transport.listen({
      ...options,
      onConnection: (conn) => {
        accepted.push(this.record(conn));
        this.events.notify();
      },
      onRefused: (remote, reason) => {
        refused.push({ address: remote.address, reason });
        this.events.notify();
      },
    });
    this.trackListener(listener);
    return {
      listener,
      accepted,
      refused,
      next: async (timeoutMs?: number) => {
        const index = taken++;
        await this.events.until(() => accepted.length > index, `accepted connection #${index + 1}`, timeoutMs);
        return accepted[index] as RecordedConnection;
      },
    };
  }

  async closeAll(): Promise<void> {
    for (const conn of this.connections.splice(0)) conn.destroy();
    await Promise.all(this.listeners.splice(0).map((l) => l.close().catch(() => {})));
  }
}
