import { type CloseInfo, type Connection, type ConnectionHandlers, type Frame, resolveLimits } from '@systemge/protocol';
import type { NodeConfig } from '../../src/config.js';
import { resolveNodeConfig } from '../../src/config.js';
import type { Clock, NodeContext } from '../../src/context.js';
import type { EmittedNodeEvents, NodeEventName, NodeStatus } from '../../src/node-types.js';
import { Counters } from '../../src/stats.js';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
  every: number | undefined;
}

/** A clock that moves only when told; timers run in time order as it moves. */
export class FakeClock implements Clock {
  private time = 1_000_000;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): number {
    return this.add(fn, ms, ms);
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  clearInterval(handle: unknown): void {
    this.clearTimeout(handle);
  }

  /** Timers waiting now. */
  get pending(): number {
    return this.timers.length;
  }

  /** Delays of the waiting one-shot timers, from now. */
  delays(): number[] {
    return this.timers.filter((t) => t.every === undefined).map((t) => t.at - this.time);
  }

  /** Moves time forward by `ms`, running each timer due on the way (and the promise jobs it starts). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.time = due.at;
      if (due.every === undefined) this.timers = this.timers.filter((t) => t !== due);
      else due.at += due.every;
      due.fn();
      await flush();
    }
    this.time = end;
    await flush();
  }

  /**
   * Moves time forward without running anything, as when this process's event loop is blocked;
   * each overdue timer then runs once, at the next `advance`.
   */
  jump(ms: number): void {
    this.time += ms;
    for (const t of this.timers) if (t.at < this.time) t.at = this.time;
  }

  private add(fn: () => void, ms: number, every: number | undefined): number {
    const id = this.nextId++;
    this.timers.push({ id, at: this.time + Math.max(0, ms), fn, every });
    return id;
  }
}

/** Lets pending promise jobs run (a few rounds, for chains of awaits). */
export async function flush(): Promise<void> {
  // Promise callbacks and process.nextTick callbacks (sync-request callbacks are reported on the
  // next tick, as a promise would be): a macrotask turn drains both. The fake clock's timers do
  // not run here; only `advance` runs them.
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface Recorded {
  ctx: NodeContext;
  clock: FakeClock;
  events: { event: NodeEventName; args: unknown[] }[];
  logs: { level: string; msg: string | undefined }[];
  stops: string[];
  setStatus(status: NodeStatus): void;
}

/** A part's context: a resolved config (no transport needed unless given), a fake clock, recorded events and logs. */
export function testContext(config: Partial<NodeConfig> = {}, status: NodeStatus = 'started'): Recorded {
  const clock = new FakeClock();
  const events: Recorded['events'] = [];
  const logs: Recorded['logs'] = [];
  const stops: string[] = [];
  let current = status;
  const log =
    (level: string) =>
    (a: object | string, msg?: string): void => {
      logs.push({ level, msg: typeof a === 'string' ? a : msg });
    };
  const ctx: NodeContext = {
    name: config.name ?? 'self',
    instance: 'self-instance',
    config: resolveNodeConfig({ name: 'self', listen: false, ...config }),
    logger: { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    counters: new Counters(),
    clock,
    emit: <E extends NodeEventName>(event: E, ...args: EmittedNodeEvents[E]) => {
      events.push({ event, args });
    },
    status: () => current,
    requestStop: (reason) => {
      stops.push(reason);
    },
  };
  return {
    ctx,
    clock,
    events,
    logs,
    stops,
    setStatus: (s) => {
      current = s;
    },
  };
}

/** An in-memory Connection that records what is sent and lets a test set its figures. */
export class FakeConnection implements Connection {
  readonly transport = 'fake';
  remoteAddress = '127.0.0.9';
  remotePort = 4000;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 5000;
  readonly secure = false;
  peerCertificate: Connection['peerCertificate'] = undefined;
  readonly limits = resolveLimits();
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  framesOut = 0;
  bufferedBytes = 0;
  writable = true;
  paused = false;
  closed = false;
  closeInfo: CloseInfo | undefined;
  readonly sent: Frame[] = [];
  handlers: ConnectionHandlers | undefined;
  closedWith: { reason: string | undefined; code: string | undefined } | undefined;
  destroyedWith: Error | undefined | null = null;
  /** Makes `send` throw this error. */
  failSends: Error | undefined;
  /** What `setPeerLimits` was last given. */
  peerLimits: { limits: object; owner: string | undefined } | undefined;

  setPeerLimits(limits: object, owner?: string): void {
    this.peerLimits = { limits, owner };
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  send(frame: Frame): boolean {
    if (this.failSends !== undefined) throw this.failSends;
    this.sent.push(frame);
    this.framesOut++;
    return this.writable;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  close(reason?: string, code?: string): Promise<void> {
    this.closedWith = { reason, code };
    this.closed = true;
    return Promise.resolve();
  }

  destroy(error?: Error): void {
    this.destroyedWith = error;
    this.closed = true;
  }
}
