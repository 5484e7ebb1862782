import type { MessageFrame } from '@systemge/protocol';
import type { HandlingMode } from '../config.js';

/** A first-in first-out queue with O(1) push and shift. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** The sending side of queued messages, as the dispatcher sees it. */
export interface HandlingSource {
  /** Unfinished handlers (concurrent mode). */
  inflight: number;
  /** Waiting messages (sequential-connection mode). */
  readonly queue: Fifo<MessageFrame>;
  busy: boolean;
  /** True while reading is paused by this dispatcher. */
  handlingPaused: boolean;
  pauseReading(): void;
  resumeReading(): void;
  readonly closed: boolean;
}

/** Runs one message's handler. Never throws or rejects: errors are handled inside. */
export type RunMessage<S> = (source: S, frame: MessageFrame) => void | Promise<void>;

interface NodeJob<S> {
  source: S;
  frame: MessageFrame;
}

/**
 * Hands incoming messages to handlers according to the handling mode. Queues are bounded:
 * when one is full the source stops reading (TCP backpressure toward the sender) and resumes
 * once the queue is half empty. Nothing is dropped; per-connection order is kept.
 */
export class Dispatcher<S extends HandlingSource> {
  private readonly mode: HandlingMode;
  private readonly queueSize: number;
  private readonly concurrency: number;
  private readonly run: RunMessage<S>;
  private readonly nodeQueue = new Fifo<NodeJob<S>>();
  private nodeBusy = false;
  private readonly pausedByNodeQueue = new Set<S>();
  /** Handlers started and not yet finished, all modes. */
  running = 0;
  private idleWaiters: (() => void)[] = [];
  /** Largest queue length seen (for tests and metrics). */
  peakQueue = 0;

  constructor(mode: HandlingMode, queueSize: number, concurrency: number, run: RunMessage<S>) {
    this.mode = mode;
    this.queueSize = queueSize;
    this.concurrency = concurrency;
    this.run = run;
  }

  get queued(): number {
    return this.nodeQueue.length;
  }

  dispatch(source: S, frame: MessageFrame): void {
    switch (this.mode) {
      case 'concurrent':
        this.runConcurrent(source, frame);
        return;
      case 'sequential-connection':
        if (source.busy) {
          source.queue.push(frame);
          if (source.queue.length > this.peakQueue) this.peakQueue = source.queue.length;
          if (source.queue.length >= this.queueSize && !source.handlingPaused) {
            source.handlingPaused = true;
            source.pauseReading();
          }
          return;
        }
        this.runConnection(source, frame);
        return;
      case 'sequential-node':
        if (this.nodeBusy) {
          this.nodeQueue.push({ source, frame });
          if (this.nodeQueue.length > this.peakQueue) this.peakQueue = this.nodeQueue.length;
          if (this.nodeQueue.length >= this.queueSize && !source.handlingPaused) {
            source.handlingPaused = true;
            this.pausedByNodeQueue.add(source);
            source.pauseReading();
          }
          return;
        }
        this.runNode(source, frame);
        return;
    }
  }

  /** Drops queued messages of a closed source (they can no longer be answered). Returns how many. */
  forget(source: S): number {
    const dropped = source.queue.length;
    source.queue.clear();
    this.pausedByNodeQueue.delete(source);
    return dropped;
  }

  /** Resolves when no handler is running and no message is queued, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.running === 0 && this.nodeQueue.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private started(): void {
    this.running++;
  }

  private finished(): void {
    this.running--;
    if (this.running === 0 && this.nodeQueue.length === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * True in `concurrent` mode, where every message runs as it arrives: a caller may then run a
   * message itself (no job or frame object), between `starting()` and `ran()`.
   */
  get immediate(): boolean {
    return this.mode === 'concurrent';
  }

  /** A message is about to run outside `dispatch` (only when `immediate`). */
  starting(): void {
    this.started();
  }

  /** The message announced by `starting()` ran and returned `result`. */
  ran(source: S, result: void | Promise<void>): void {
    if (result === undefined) {
      this.finished();
      return;
    }
    this.track(source, result);
  }

  /**
   * A message whose handler returned a promise: counted against the concurrency until it settles.
   * (Its own function: a closure over `ran`'s arguments would make every call allocate a context.)
   */
  private track(source: S, result: Promise<void>): void {
    source.inflight++;
    if (source.inflight >= this.concurrency && !source.handlingPaused) {
      source.handlingPaused = true;
      source.pauseReading();
    }
    const done = (): void => {
      source.inflight--;
      this.finished();
      if (source.handlingPaused && source.inflight <= this.concurrency >> 1) {
        source.handlingPaused = false;
        if (!source.closed) source.resumeReading();
      }
    };
    result.then(done, done);
  }

  private runConcurrent(source: S, frame: MessageFrame): void {
    this.started();
    this.ran(source, this.run(source, frame));
  }

  private runConnection(source: S, first: MessageFrame): void {
    // A busy connection holds one `running` slot until its queue is empty, so idle() cannot
    // see the node idle between one queued message and the next.
    source.busy = true;
    this.started();
    this.continueConnection(source, first);
  }

  private continueConnection(source: S, first: MessageFrame): void {
    let frame: MessageFrame | undefined = first;
    while (frame !== undefined) {
      const result = this.run(source, frame);
      if (result !== undefined) {
        const next = (): void => {
          const following = source.queue.shift();
          this.afterShift(source);
          if (following === undefined) this.connectionDone(source);
          else this.continueConnection(source, following);
        };
        result.then(next, next);
        return;
      }
      frame = source.queue.shift();
      this.afterShift(source);
    }
    this.connectionDone(source);
  }

  private connectionDone(source: S): void {
    source.busy = false;
    this.finished();
  }

  private afterShift(source: S): void {
    if (source.handlingPaused && source.queue.length <= this.queueSize >> 1) {
      source.handlingPaused = false;
      if (!source.closed) source.resumeReading();
    }
  }

  private runNode(source: S, frame: MessageFrame): void {
    this.nodeBusy = true;
    let job: NodeJob<S> | undefined = { source, frame };
    while (job !== undefined) {
      this.started();
      const result = this.run(job.source, job.frame);
      if (result !== undefined) {
        const next = (): void => {
          this.finished();
          const following = this.nodeQueue.shift();
          this.afterNodeShift();
          if (following === undefined) this.nodeBusy = false;
          else this.runNode(following.source, following.frame);
        };
        result.then(next, next);
        return;
      }
      this.finished();
      job = this.nodeQueue.shift();
      this.afterNodeShift();
    }
    this.nodeBusy = false;
  }

  private afterNodeShift(): void {
    if (this.pausedByNodeQueue.size === 0 || this.nodeQueue.length > this.queueSize >> 1) return;
    // Resuming delivers held frames at once, which may fill the queue and pause a source again
    // (re-adding it to the set): take the set first so such a source is not forgotten.
    const paused = [...this.pausedByNodeQueue];
    this.pausedByNodeQueue.clear();
    for (const source of paused) {
      if (this.nodeQueue.length >= this.queueSize) {
        // Full again: this one waits for the next shift, so the queue never exceeds queueSize.
        this.pausedByNodeQueue.add(source);
        continue;
      }
      source.handlingPaused = false;
      if (!source.closed) source.resumeReading();
    }
  }
}
