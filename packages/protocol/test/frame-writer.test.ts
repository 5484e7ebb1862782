import { describe, expect, it } from 'vitest';
import {
  EARLY_FLUSH_BYTES,
  encodeFrame,
  FrameKind,
  FrameWriter,
  resolveLimits,
  type Frame,
  type MessageFrame,
  type SyncTokenSource,
} from '../src/index.js';
import { collectFrames, normalize } from './collect-frames.js';

const limits = resolveLimits({ maxTopicBytes: 16 });

function writerWithSink(accept = true) {
  const chunks: Buffer[] = [];
  const flushed: boolean[] = [];
  const writer = new FrameWriter(
    {
      write(chunk) {
        chunks.push(Buffer.from(chunk));
        return accept;
      },
    },
    limits,
    (ok) => flushed.push(ok),
  );
  return { writer, chunks, flushed };
}

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

const sample: Frame[] = [
  { kind: FrameKind.Handshake, version: 1, name: 'n', asyncTopics: ['a'], syncTopics: ['b'], auth: 'x' },
  { kind: FrameKind.HandshakeAck, version: 1, name: 'm', asyncTopics: [], syncTopics: [] },
  { kind: FrameKind.AsyncMessage, topic: 'a', payload: 'hello', syncToken: undefined },
  { kind: FrameKind.SyncRequest, topic: 'b', payload: new Uint8Array([1, 2]), syncToken: 't1' },
  { kind: FrameKind.SyncResponse, topic: 'b', payload: 'ok', syncToken: 't1' },
  { kind: FrameKind.SyncFailure, topic: 'b', payload: 'no handler', syncToken: 't2' },
  { kind: FrameKind.TopicsAdded, asyncTopics: ['c'], syncTopics: [] },
  { kind: FrameKind.TopicsRemoved, asyncTopics: [], syncTopics: ['b'] },
  { kind: FrameKind.Heartbeat, nonce: 42 },
  { kind: FrameKind.HeartbeatAck, nonce: 42 },
  { kind: FrameKind.Goodbye, code: 'normal', reason: 'bye' },
];

describe('FrameWriter', () => {
  it('frames written in one tick leave as one chunk, byte-identical to encodeFrame', async () => {
    const { writer, chunks, flushed } = writerWithSink();
    for (const f of sample) writer.write(f);
    expect(chunks).toHaveLength(0);
    expect(writer.pendingBytes).toBeGreaterThan(0);
    await nextTick();
    expect(chunks).toHaveLength(1);
    expect(flushed).toEqual([true]);
    expect(chunks[0]).toEqual(Buffer.concat(sample.map((f) => encodeFrame(f, limits))));
    expect(writer.pendingBytes).toBe(0);
    expect(writer.framesWritten).toBe(sample.length);
    expect(writer.bytesWritten).toBe((chunks[0] as Buffer).length);
  });

  it('hands the first EARLY_FLUSH_BYTES of a tick that answers requests over at once and the rest at the end of the tick', async () => {
    const { writer, chunks } = writerWithSink();
    const frame = (i: number): Frame => ({
      kind: i % 2 === 0 ? FrameKind.SyncResponse : FrameKind.SyncFailure,
      topic: 'q',
      payload: 'x'.repeat(100),
      syncToken: `t${String(i).padStart(3, '0')}`,
    });
    const size = encodeFrame(frame(10), limits).length;
    const frames = Array.from({ length: 100 }, (_, i) => frame(i + 10));
    const perEarly = Math.ceil(EARLY_FLUSH_BYTES / size);
    for (let tick = 0; tick < 3; tick++) {
      chunks.length = 0;
      for (let i = 0; i < frames.length; i++) {
        writer.write(frames[i] as Frame);
        // The early chunk leaves with the frame that reaches the threshold, not before.
        expect(chunks).toHaveLength(i + 1 < perEarly ? 0 : 1);
      }
      expect((chunks[0] as Buffer).length).toBe(perEarly * size);
      await nextTick();
      // Once per tick: every later frame of the tick waits for the end of the tick.
      expect(chunks).toHaveLength(2);
      expect((chunks[1] as Buffer).length).toBe((frames.length - perEarly) * size);
      const c = collectFrames(limits);
      for (const chunk of chunks) c.decoder.push(chunk);
      expect(c.frames).toEqual(frames);
    }
  });

  it('writes a tick of requests and async messages once, at its end, however large; an answer in a tick lets it go early', async () => {
    const { writer, chunks } = writerWithSink();
    const payload = 'x'.repeat(100);
    // Past the threshold, and three ticks of it still fit in one 64 KiB buffer (no full-buffer hand-over).
    const perTick = Math.ceil((1.5 * EARLY_FLUSH_BYTES) / 100);
    for (let i = 0; i < perTick; i++) {
      writer.writeMessage(FrameKind.SyncRequest, 'q', payload, `t${i}`);
      writer.write({ kind: FrameKind.AsyncMessage, topic: 'a', payload, syncToken: undefined });
    }
    expect(writer.pendingBytes).toBeGreaterThan(2 * EARLY_FLUSH_BYTES);
    expect(chunks).toHaveLength(0);
    await nextTick();
    expect(chunks).toHaveLength(1);
    expect(writer.pendingBytes).toBe(0);

    // Requests past the threshold, then one answer: the answer's tick hands everything so far over at once.
    for (let i = 0; i < perTick; i++) writer.writeMessage(FrameKind.SyncRequest, 'q', payload, `u${i}`);
    expect(chunks).toHaveLength(1);
    writer.writeMessage(FrameKind.SyncResponse, 'q', payload, 'r1');
    expect(chunks).toHaveLength(2);
    writer.writeMessage(FrameKind.SyncRequest, 'q', payload, 'after');
    expect(chunks).toHaveLength(2);
    await nextTick();
    expect(chunks).toHaveLength(3);

    // The next tick starts without the answer: requests alone wait for its end again.
    for (let i = 0; i < perTick; i++) writer.writeMessage(FrameKind.SyncRequest, 'q', payload, `v${i}`);
    expect(chunks).toHaveLength(3);
    await nextTick();
    expect(chunks).toHaveLength(4);
    const c = collectFrames(limits);
    for (const chunk of chunks) c.decoder.push(chunk);
    expect(c.frames).toHaveLength(2 * perTick + perTick + 2 + perTick);
  });

  it('an answer refused by a limit does not make its tick go early', async () => {
    const { writer, chunks } = writerWithSink();
    const payload = 'x'.repeat(100);
    for (let i = 0; i < Math.ceil((1.5 * EARLY_FLUSH_BYTES) / 100); i++) writer.writeMessage(FrameKind.SyncRequest, 'q', payload, `t${i}`);
    // A topic past maxTopicBytes (16): refused, nothing written.
    expect(() => writer.writeMessage(FrameKind.SyncResponse, 'a-topic-far-too-long', payload, 'r1')).toThrow();
    expect(() => writer.write({ kind: FrameKind.SyncFailure, topic: 'a-topic-far-too-long', payload, syncToken: 'r2' })).toThrow();
    writer.writeMessage(FrameKind.SyncRequest, 'q', payload, 'after');
    expect(chunks).toHaveLength(0);
    await nextTick();
    expect(chunks).toHaveLength(1);
  });

  it('writeMessage (fields, no frame object) writes the bytes write(frame) writes, for every payload kind', async () => {
    const messages: Frame[] = [
      { kind: FrameKind.AsyncMessage, topic: 'a', payload: 'hello', syncToken: undefined },
      { kind: FrameKind.SyncRequest, topic: 'b', payload: new Uint8Array([1, 2, 3]), syncToken: 't1' },
      { kind: FrameKind.SyncResponse, topic: 'b', payload: { n: 1, list: ['x'] }, syncToken: 't1' },
      { kind: FrameKind.SyncFailure, topic: 'b', payload: 'no handler', syncToken: 't2' },
      // Past the ASCII fast path: non-ASCII at the start, the end, a lone surrogate, and a long string.
      { kind: FrameKind.SyncRequest, topic: 'tøpic', payload: 'ünïcode ✓', syncToken: 'tok€n' },
      { kind: FrameKind.AsyncMessage, topic: 'ascii-then-é', payload: `${'a'.repeat(23)}é`, syncToken: undefined },
      { kind: FrameKind.AsyncMessage, topic: 'lone', payload: 'x\ud800y', syncToken: undefined },
      { kind: FrameKind.AsyncMessage, topic: 'long', payload: 'z'.repeat(5000), syncToken: undefined },
    ];
    const byFrame = writerWithSink();
    const byFields = writerWithSink();
    for (const f of messages) {
      byFrame.writer.write(f);
      const m = f as MessageFrame;
      byFields.writer.writeMessage(m.kind, m.topic, m.payload, m.syncToken);
    }
    await nextTick();
    expect(Buffer.concat(byFields.chunks)).toEqual(Buffer.concat(byFrame.chunks));
    expect(byFields.writer.framesWritten).toBe(messages.length);
    const c = collectFrames(limits);
    c.decoder.push(Buffer.concat(byFields.chunks));
    expect(c.errors).toEqual([]);
    // A lone surrogate is sent as U+FFFD, as Buffer#write does.
    const expected = messages.map((f) => ((f as MessageFrame).topic === 'lone' ? { ...f, payload: 'x\ufffdy' } : f));
    // (A structured payload decodes with its wire size as well.)
    const decoded = c.frames.map((f) => {
      const { payloadBytes: _size, ...rest } = f as MessageFrame & { payloadBytes?: number };
      return normalize(rest as Frame);
    });
    expect(decoded).toEqual(expected.map(normalize));
  });

  it('writeMessage takes a sync token written from its parts (SyncTokenSource) and writes the bytes of its string', async () => {
    const token = 'AbC-_123.x9';
    const source: SyncTokenSource = {
      tokenByteLength: token.length,
      writeToken: (buf, offset) => {
        for (let i = 0; i < token.length; i++) buf[offset + i] = token.charCodeAt(i);
      },
      token,
    };
    const byString = writerWithSink();
    const bySource = writerWithSink();
    byString.writer.writeMessage(FrameKind.SyncRequest, 'q', 'payload', token);
    bySource.writer.writeMessage(FrameKind.SyncRequest, 'q', 'payload', source);
    // A structured payload goes through a frame, which takes the token's string.
    byString.writer.writeMessage(FrameKind.SyncRequest, 'q', { a: 1 }, token);
    bySource.writer.writeMessage(FrameKind.SyncRequest, 'q', { a: 1 }, source);
    await nextTick();
    expect(Buffer.concat(bySource.chunks)).toEqual(Buffer.concat(byString.chunks));
    expect(() => bySource.writer.writeMessage(FrameKind.SyncRequest, 'x'.repeat(17), 'p', source)).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', syncToken: token }),
    );
  });

  it('writeMessage refuses what write(frame) refuses, and writes nothing then', async () => {
    const { writer, chunks } = writerWithSink();
    expect(() => writer.writeMessage(FrameKind.AsyncMessage, 'x'.repeat(17), 'p', undefined)).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE' }),
    );
    expect(() => writer.writeMessage(FrameKind.AsyncMessage, '', 'p', undefined)).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_EMPTY_TOPIC' }),
    );
    expect(() => writer.writeMessage(FrameKind.SyncRequest, 'q', 'p', undefined)).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_FRAME' }),
    );
    await nextTick();
    expect(chunks).toHaveLength(0);
    expect(writer.framesWritten).toBe(0);
  });

  it('every kind decodes back from the writer output', async () => {
    const { writer, chunks } = writerWithSink();
    for (const f of sample) writer.write(f);
    await nextTick();
    const c = collectFrames(limits);
    c.decoder.push(chunks[0] as Buffer);
    expect(c.errors).toEqual([]);
    expect(c.frames.map(normalize)).toEqual(sample.map(normalize));
  });

  it('flush() hands over at once; an idle flush writes nothing', async () => {
    const { writer, chunks } = writerWithSink();
    writer.flush();
    expect(chunks).toHaveLength(0);
    writer.write({ kind: FrameKind.Heartbeat, nonce: 1 });
    writer.flush();
    expect(chunks).toHaveLength(1);
    await nextTick();
    expect(chunks).toHaveLength(1);
  });

  it('reports a refusing sink through onFlushed', async () => {
    const { writer, flushed } = writerWithSink(false);
    writer.write({ kind: FrameKind.Heartbeat, nonce: 1 });
    await nextTick();
    expect(flushed).toEqual([false]);
  });

  it('a burst larger than its buffer streams out in order without waiting for the tick', async () => {
    const { writer, chunks } = writerWithSink();
    const frames: Frame[] = Array.from({ length: 2000 }, (_, i) => ({
      kind: FrameKind.AsyncMessage,
      topic: 'burst',
      payload: `${i}:${'y'.repeat(100)}`,
      syncToken: undefined,
    }));
    for (const f of frames) writer.write(f);
    expect(chunks.length).toBeGreaterThan(1);
    await nextTick();
    const c = collectFrames(limits);
    for (const chunk of chunks) c.decoder.push(chunk);
    expect(c.frames).toEqual(frames);
  });

  it('a frame bigger than the buffer gets a buffer of its own', async () => {
    const { writer, chunks } = writerWithSink();
    const big: Frame = { kind: FrameKind.AsyncMessage, topic: 'big', payload: 'z'.repeat(300_000), syncToken: undefined };
    writer.write({ kind: FrameKind.Heartbeat, nonce: 1 });
    writer.write(big);
    writer.write({ kind: FrameKind.Heartbeat, nonce: 2 });
    await nextTick();
    const c = collectFrames(limits);
    for (const chunk of chunks) c.decoder.push(chunk);
    expect(c.frames).toEqual([{ kind: FrameKind.Heartbeat, nonce: 1 }, big, { kind: FrameKind.Heartbeat, nonce: 2 }]);
  });

  it('a frame breaking a limit throws and leaves the stream intact', async () => {
    const { writer, chunks } = writerWithSink();
    writer.write({ kind: FrameKind.Heartbeat, nonce: 1 });
    const before = writer.pendingBytes;
    expect(() => writer.write({ kind: FrameKind.AsyncMessage, topic: 'x'.repeat(17), payload: '', syncToken: undefined })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE' }),
    );
    expect(() => writer.write({ kind: FrameKind.AsyncMessage, topic: '', payload: '', syncToken: undefined })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_EMPTY_TOPIC' }),
    );
    expect(writer.pendingBytes).toBe(before);
    expect(writer.framesWritten).toBe(1);
    writer.write({ kind: FrameKind.Heartbeat, nonce: 2 });
    await nextTick();
    const c = collectFrames(limits);
    c.decoder.push(chunks[0] as Buffer);
    expect(c.frames).toEqual([
      { kind: FrameKind.Heartbeat, nonce: 1 },
      { kind: FrameKind.Heartbeat, nonce: 2 },
    ]);
  });

  it('chunks already handed to the sink are never overwritten by later frames', async () => {
    const handed: Buffer[] = [];
    const writer = new FrameWriter({ write: (chunk) => (handed.push(chunk as Buffer), true) }, limits, () => {});
    writer.write({ kind: FrameKind.AsyncMessage, topic: 'a', payload: 'first', syncToken: undefined });
    writer.flush();
    const copy = Buffer.from(handed[0] as Buffer);
    for (let i = 0; i < 100; i++) writer.write({ kind: FrameKind.AsyncMessage, topic: 'a', payload: `later ${i}`, syncToken: undefined });
    await nextTick();
    expect(handed[0]).toEqual(copy);
  });
});

describe('FrameWriter buffer recycling', () => {
  const frame = (i: number): Frame => ({
    kind: FrameKind.AsyncMessage,
    topic: 'a',
    payload: `message ${i} `.repeat(50),
    syncToken: undefined,
  });

  function recyclingWriter() {
    const handed: { chunk: Buffer; copy: Buffer }[] = [];
    const writer = new FrameWriter(
      { write: (chunk) => (handed.push({ chunk: chunk as Buffer, copy: Buffer.from(chunk) }), true) },
      limits,
      () => {},
      { recycle: true },
    );
    return { writer, handed };
  }

  it('never overwrites a chunk the sink has not reported done, across many buffers', () => {
    const { writer, handed } = recyclingWriter();
    let done = 0;
    for (let i = 0; i < 3000; i++) {
      writer.write(frame(i));
      if (i % 7 === 0) writer.flush();
      // The sink reports chunks done late, and in order.
      if (i % 11 === 0 && done < handed.length - 3) {
        writer.written();
        done++;
      }
      for (let j = done; j < handed.length; j++) {
        const h = handed[j] as { chunk: Buffer; copy: Buffer };
        if (!h.chunk.equals(h.copy)) throw new Error(`chunk ${j} (not done) was overwritten after frame ${i}`);
      }
    }
    writer.flush();
    const all = Buffer.concat(handed.map((h) => h.copy));
    const c = collectFrames();
    c.decoder.push(all);
    expect(c.frames).toHaveLength(3000);
    expect(normalize(c.frames[2999] as Frame)).toEqual(normalize(frame(2999)));
  });

  it('writes from the same buffer again once every chunk is done', () => {
    const { writer, handed } = recyclingWriter();
    for (let round = 0; round < 200; round++) {
      writer.write(frame(round));
      writer.flush();
      writer.written();
    }
    // 200 frames of ~650 bytes is about two buffers' worth, yet every chunk came from the first one.
    const buffers = new Set(handed.map((h) => h.chunk.buffer));
    expect(buffers.size).toBe(1);
    expect(handed.every((h) => h.chunk.byteOffset === (handed[0] as { chunk: Buffer }).chunk.byteOffset)).toBe(true);
  });

  it('without recycling (a sink that may keep chunks) a filled buffer is never written again', () => {
    const handed: Buffer[] = [];
    const writer = new FrameWriter({ write: (chunk) => (handed.push(chunk as Buffer), true) }, limits, () => {});
    for (let round = 0; round < 200; round++) {
      writer.write(frame(round));
      writer.flush();
      writer.written();
    }
    expect(new Set(handed.map((h) => h.buffer)).size).toBeGreaterThan(1);
  });
});
