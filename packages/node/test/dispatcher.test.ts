import { FrameKind, type MessageFrame } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Dispatcher, Fifo, type HandlingSource } from '../src/messaging/dispatcher.js';

/** A connection as the dispatcher sees it; counts the pauses it is asked for. */
class FakeSource implements HandlingSource {
  inflight = 0;
  readonly queue = new Fifo<MessageFrame>();
  busy = false;
  handlingPaused = false;
  closed = false;
  pauses = 0;
  paused = false;
  pauseReading(): void {
    this.pauses++;
    this.paused = true;
  }
  resumeReading(): void {
    this.paused = false;
  }
}

const frame = (n: number): MessageFrame => ({ kind: FrameKind.AsyncMessage, topic: 't', payload: String(n), syncToken: undefined });

/** Handlers that finish only when told: `release()` ends the oldest running one. */
function manualHandlers() {
  const running: (() => void)[] = [];
  const order: string[] = [];
  return {
    order,
    run: (_source: FakeSource, f: MessageFrame): Promise<void> => {
      order.push(String(f.payload));
      return new Promise<void>((resolve) => running.push(resolve));
    },
    async release(): Promise<void> {
      running.shift()?.();
      // Let the dispatcher's continuation run.
      await Promise.resolve();
      await Promise.resolve();
    },
    get running(): number {
      return running.length;
    },
  };
}

describe('Dispatcher queue bounds (peak queue length)', () => {
  it('sequential-connection: the queue reaches its limit, the source pauses there and resumes at half', async () => {
    const h = manualHandlers();
    const queueSize = 16;
    const dispatcher = new Dispatcher<FakeSource>('sequential-connection', queueSize, 1, h.run);
    const source = new FakeSource();
    // One runs, queueSize wait; a reader paused at the limit delivers nothing more.
    for (let i = 0; i <= queueSize; i++) {
      if (source.paused) break;
      dispatcher.dispatch(source, frame(i));
    }
    expect(dispatcher.peakQueue).toBe(queueSize);
    expect(source.queue.length).toBe(queueSize);
    expect(source.paused).toBe(true);
    expect(source.pauses).toBe(1);
    for (let i = 0; i < queueSize / 2; i++) await h.release();
    expect(source.queue.length).toBe(queueSize / 2);
    expect(source.paused).toBe(false);
    while (h.running > 0) await h.release();
    expect(h.order).toEqual(Array.from({ length: queueSize + 1 }, (_, i) => String(i)));
    expect(dispatcher.peakQueue).toBe(queueSize);
    expect(await dispatcher.idle(1)).toBe(true);
  });

  it('sequential-node: with several sources the queue exceeds its limit by at most one frame per other source', async () => {
    const h = manualHandlers();
    const queueSize = 8;
    const dispatcher = new Dispatcher<FakeSource>('sequential-node', queueSize, 1, h.run);
    const sources = [new FakeSource(), new FakeSource(), new FakeSource()];
    // Each source delivers until it is paused: frames already read from the others still get queued.
    let n = 0;
    for (let round = 0; round < 4 * queueSize; round++) {
      for (const source of sources) if (!source.paused) dispatcher.dispatch(source, frame(n++));
    }
    expect(dispatcher.peakQueue).toBeGreaterThanOrEqual(queueSize);
    expect(dispatcher.peakQueue).toBeLessThanOrEqual(queueSize + sources.length - 1);
    expect(sources.every((s) => s.paused)).toBe(true);
    expect(h.running).toBe(1);
    while (h.running > 0) await h.release();
    expect(h.order).toHaveLength(n);
    expect(sources.every((s) => !s.paused)).toBe(true);
    expect(dispatcher.queued).toBe(0);
  });

  it('forget() drops what a closed source had queued and reports how many', () => {
    const h = manualHandlers();
    const dispatcher = new Dispatcher<FakeSource>('sequential-connection', 16, 1, h.run);
    const source = new FakeSource();
    for (let i = 0; i < 5; i++) dispatcher.dispatch(source, frame(i));
    expect(dispatcher.forget(source)).toBe(4);
    expect(source.queue.length).toBe(0);
  });
});
