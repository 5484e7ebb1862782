import type { ResolvedNodeConfig } from './config.js';
import type { Logger } from './logger.js';
import type { EmittedNodeEvents, NodeEventName, NodeStatus } from './node-types.js';
import type { Counters } from './stats.js';

/** An opaque timer handle from a `Clock`. */
export type TimerHandle = unknown;

/**
 * Time as the node's parts see it. Injected, so a part can be driven by a fake clock in a test.
 * `unref: true` asks that the timer not keep the process alive.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number, unref?: boolean): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number, unref?: boolean): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

/** The real clock: `Date.now` and the global timers (which vitest's fake timers replace). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms, unref) => {
    const timer = setTimeout(fn, ms);
    if (unref === true) timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn, ms, unref) => {
    const timer = setInterval(fn, ms);
    if (unref === true) timer.unref();
    return timer;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout | undefined),
};

/** Emits a node event; a throwing listener is logged, never thrown into the caller. */
export type EmitFn = <E extends NodeEventName>(event: E, ...args: EmittedNodeEvents[E]) => void;

/** What every part of a node shares. Parts receive this and their neighbours' interfaces, never the node. */
export interface NodeContext {
  readonly name: string;
  /**
   * Random id of this node instance, sent in every handshake: tells a self-dial and a second
   * connection to the same node apart from a name clash.
   */
  readonly instance: string;
  readonly config: ResolvedNodeConfig;
  readonly logger: Logger;
  readonly counters: Counters;
  readonly clock: Clock;
  readonly emit: EmitFn;
  /** The node's lifecycle status now. */
  status(): NodeStatus;
  /** Asks the node to stop (used by the `onLoss` / `onFailure: 'stop'` policies). Never rejects. */
  requestStop(reason: string): void;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function remoteOf(connection: { remoteAddress: string; remotePort: number }): string {
  return `${connection.remoteAddress}:${connection.remotePort}`;
}
