import {
  ConnectionError,
  encodeFrame,
  FrameKind,
  isSystemgeError,
  resolveLimits,
  type DialOptions,
  type DialTarget,
  type Frame,
  type Listener,
  type Transport,
} from '@systemge/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Resources, withDeadline, type RecordedConnection, type RecordedListener } from './recorder.js';

/** What a transport under test provides to the compliance suite. */
export interface ComplianceContext {
  /** The transport under test. */
  transport: Transport;
  /** Where to dial a listener of this transport. Default: the listener's `host` and `port`. */
  dialTarget?(listener: Listener): DialTarget;
  /** Releases whatever `setup` created. Called after each test. */
  teardown?(): Promise<void>;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Every frame kind except Goodbye, which connections consume themselves (see the close tests). */
const EVERY_KIND: Frame[] = [
  {
    kind: FrameKind.Handshake,
    version: 1,
    name: 'node-a',
    asyncTopics: ['a', 'ü'],
    syncTopics: ['s'],
    auth: 'token',
    info: { listen: '127.0.0.1:1' },
  },
  { kind: FrameKind.HandshakeAck, version: 1, name: 'node-b', asyncTopics: [], syncTopics: ['s'] },
  { kind: FrameKind.AsyncMessage, topic: 'a', payload: 'hello 👋', syncToken: undefined },
  { kind: FrameKind.AsyncMessage, topic: 'a', payload: '', syncToken: undefined },
  { kind: FrameKind.SyncRequest, topic: 's', payload: new Uint8Array([0, 1, 2, 255]), syncToken: 'tok-1' },
  { kind: FrameKind.SyncResponse, topic: 's', payload: 'ok', syncToken: 'tok-1' },
  // A structured payload: one msgpack value, received with its types.
  {
    kind: FrameKind.AsyncMessage,
    topic: 'a',
    payload: { id: 7, items: [1, 'two', null], at: new Date(0), tags: new Set(['x']), ok: true },
    syncToken: undefined,
  },
  { kind: FrameKind.SyncFailure, topic: 's', payload: 'no handler', syncToken: 'tok-2' },
  { kind: FrameKind.TopicsAdded, asyncTopics: ['b'], syncTopics: [] },
  { kind: FrameKind.TopicsRemoved, asyncTopics: [], syncTopics: ['s'] },
  { kind: FrameKind.Heartbeat, nonce: 0xfedcba98 },
  { kind: FrameKind.HeartbeatAck, nonce: 0xfedcba98 },
];

/** Binary payloads arrive as Buffer views; compare them by content. `payloadBytes` is the decoder's note of a size. */
function comparable(frame: Frame): unknown {
  if (!('payload' in frame)) return frame;
  const { payloadBytes: _size, ...message } = frame;
  if (message.payload instanceof Uint8Array) {
    return { ...message, payload: { binary: Buffer.from(message.payload).toString('hex') } };
  }
  return message;
}

function numbered(i: number, pad = ''): Frame {
  return { kind: FrameKind.AsyncMessage, topic: 'seq', payload: `${i}${pad}`, syncToken: undefined };
}

function sequence(frames: Frame[]): number[] {
  return frames.map((f) => Number.parseInt((f as { payload: string }).payload, 10));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Registers the compliance suite for a transport: every `Transport` implementation must
 * pass it unchanged. `setup` runs before each test, `teardown` after it; connections and
 * listeners the suite opened are closed after each test whether it passed or not.
 */
export function describeTransportCompliance(name: string, setup: () => Promise<ComplianceContext>): void {
  describe(`${name} transport compliance`, () => {
    let ctx: ComplianceContext;
    let res: Resources;

    beforeEach(async () => {
      res = new Resources();
      ctx = await setup();
    });

    afterEach(async () => {
      await res.closeAll();
      await ctx.teardown?.();
    });

    const target = (listener: Listener): DialTarget => ctx.dialTarget?.(listener) ?? { host: listener.host, port: listener.port };

    async function dial(listener: Listener, options?: DialOptions): Promise<RecordedConnection> {
      const conn = await withDeadline(ctx.transport.dial(target(listener), options), `dial ${listener.host}:${listener.port}`);
      return res.record(conn);
    }

    /** A listener and one connection to it, both sides recorded. */
    async function pair(
      listenOptions: Parameters<Resources['listen']>[1] = {},
      dialOptions?: DialOptions,
    ): Promise<{ server: RecordedListener; client: RecordedConnection; accepted: RecordedConnection }> {
      const server = await res.listen(ctx.transport, listenOptions);
      const client = await dial(server.listener, dialOptions);
      const accepted = await server.next();
      return { server, client, accepted };
    }

    it('listens on port 0 and reports the port it bound', async () => {
      const a = await res.listen(ctx.transport, { port: 0 });
      const b = await res.listen(ctx.transport, { port: 0 });
      expect(a.listener.transport).toBe(ctx.transport.name);
      expect(Number.isInteger(a.listener.port)).toBe(true);
      expect(a.listener.port).toBeGreaterThan(0);
      expect(a.listener.port).toBeLessThan(65536);
      expect(b.listener.port).not.toBe(a.listener.port);
      expect(a.listener.host.length).toBeGreaterThan(0);
    });

    it('dials and exchanges every frame kind in both directions', async () => {
      const { server, client, accepted } = await pair();
      expect(client.conn.transport).toBe(ctx.transport.name);
      expect(accepted.conn.transport).toBe(ctx.transport.name);
      expect(client.conn.closed).toBe(false);
      expect(client.conn.writable).toBe(true);
      expect(client.conn.paused).toBe(false);
      expect(client.conn.remotePort).toBe(server.listener.port);
      expect(accepted.conn.remotePort).toBe(client.conn.localPort);
      expect(accepted.conn.localPort).toBe(server.listener.port);

      for (const frame of EVERY_KIND) expect(client.conn.send(frame)).toBe(true);
      await accepted.frameCount(EVERY_KIND.length);
      expect(accepted.frames.map(comparable)).toEqual(EVERY_KIND.map(comparable));

      for (const frame of [...EVERY_KIND].reverse()) accepted.conn.send(frame);
      await client.frameCount(EVERY_KIND.length);
      expect(client.frames.map(comparable)).toEqual([...EVERY_KIND].reverse().map(comparable));
      expect(client.errors).toEqual([]);
      expect(accepted.errors).toEqual([]);
    });

    it('delivers many frames sent in one tick, in order, both ways', async () => {
      const { client, accepted } = await pair();
      const n = 5000;
      for (let i = 0; i < n; i++) client.conn.send(numbered(i));
      for (let i = 0; i < n; i++) accepted.conn.send(numbered(i));
      await accepted.frameCount(n);
      await client.frameCount(n);
      expect(sequence(accepted.frames)).toEqual(range(n));
      expect(sequence(client.frames)).toEqual(range(n));
    });

    it('round-trips 1 MiB payloads, text and binary', async () => {
      const { client, accepted } = await pair();
      const text = 'x'.repeat(1024 * 1024 - 7) + 'ünï';
      const bytes = new Uint8Array(1024 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
      // The first frame of a connection is its handshake, held to maxHandshakeFrameBytes: open with a small one.
      const hello: Frame = { kind: FrameKind.Heartbeat, nonce: 1 };
      const frames: Frame[] = [
        hello,
        { kind: FrameKind.AsyncMessage, topic: 'big', payload: text, syncToken: undefined },
        { kind: FrameKind.SyncRequest, topic: 'big', payload: bytes, syncToken: 'b' },
      ];
      for (const f of frames) client.conn.send(f);
      await accepted.frameCount(3);
      expect(accepted.frames.map(comparable)).toEqual(frames.map(comparable));
      for (const f of accepted.frames) accepted.conn.send(f);
      await client.frameCount(3);
      expect(client.frames.map(comparable)).toEqual(frames.map(comparable));
    });

    it('send() returns false past the highWaterMark, onDrain fires later, and nothing is lost', async () => {
      const highWaterMark = 256 * 1024;
      const { client, accepted } = await pair({}, { highWaterMark });
      const pad = 'p'.repeat(16 * 1024);
      let sent = 0;
      // Sending synchronously: the peer cannot read until this loop yields, so the buffer must fill.
      while (client.conn.send(numbered(sent, pad))) {
        sent++;
        if (sent > 100_000) throw new Error('send() never returned false');
      }
      sent++;
      expect(client.conn.writable).toBe(false);
      expect(client.conn.bufferedBytes).toBeGreaterThanOrEqual(highWaterMark);
      expect(client.drains).toBe(0);
      await res.events.until(() => client.drains > 0, 'onDrain');
      expect(client.conn.writable).toBe(true);
      expect(client.conn.bufferedBytes).toBeLessThan(highWaterMark);
      client.conn.send(numbered(sent++));
      await accepted.frameCount(sent);
      expect(sequence(accepted.frames)).toEqual(range(sent));
    });

    it('pause() stops delivery until resume(), and a paused receiver pushes back on the sender', async () => {
      // A high-water mark below the stream's own exercises drain after the kernel buffer fills.
      const highWaterMark = 8 * 1024;
      const { client, accepted } = await pair({}, { highWaterMark });
      client.conn.send(numbered(0));
      await accepted.frameCount(1);

      accepted.conn.pause();
      expect(accepted.conn.paused).toBe(true);
      const pad = 'q'.repeat(2 * 1024);
      let sent = 1;
      const deadline = Date.now() + 5000;
      // One frame per event-loop turn, so a receiver that kept reading would keep the buffer empty.
      for (;;) {
        const ok = client.conn.send(numbered(sent++, pad));
        if (!ok) break;
        if (Date.now() > deadline) throw new Error(`sender still writable after ${sent} frames to a paused receiver`);
        await nextTurn();
      }
      expect(client.conn.writable).toBe(false);
      expect(accepted.frames).toHaveLength(1);

      accepted.conn.resume();
      expect(accepted.conn.paused).toBe(false);
      await accepted.frameCount(sent);
      await res.events.until(() => client.drains > 0, 'onDrain after the receiver resumed');
      expect(sequence(accepted.frames)).toEqual(range(sent));
      expect(client.conn.writable).toBe(true);
    });

    it('pausing inside onFrame holds back the frames behind it, in order', async () => {
      const { client, accepted } = await pair();
      accepted.onFrame = (frame) => {
        if (sequence([frame])[0] === 9) accepted.conn.pause();
      };
      for (let i = 0; i < 100; i++) client.conn.send(numbered(i));
      await accepted.frameCount(10);
      for (let i = 0; i < 20; i++) await nextTurn();
      expect(accepted.frames).toHaveLength(10);
      accepted.onFrame = undefined;
      accepted.conn.resume();
      await accepted.frameCount(100);
      expect(sequence(accepted.frames)).toEqual(range(100));
    });

    it('close(reason) sends a goodbye: the peer sees initiator remote with the reason, the closer local', async () => {
      const { client, accepted } = await pair();
      for (let i = 0; i < 50; i++) client.conn.send(numbered(i));
      await withDeadline(client.conn.close('maintenance window'), 'close() to resolve');
      expect(client.conn.closed).toBe(true);
      const local = await client.closed();
      expect(local).toMatchObject({ initiator: 'local', code: 'normal', reason: 'maintenance window' });
      const remote = await accepted.closed();
      expect(remote).toMatchObject({ initiator: 'remote', code: 'normal', reason: 'maintenance window' });
      expect(accepted.conn.closeInfo).toEqual(remote);
      // Frames sent before close() are delivered before it.
      expect(sequence(accepted.frames)).toEqual(range(50));
      // The goodbye is consumed by the connection, not handed to onFrame.
      expect(accepted.frames.some((f) => f.kind === FrameKind.Goodbye)).toBe(false);
      await withDeadline(client.conn.close(), 'a second close() to resolve');
      expect(client.closes).toHaveLength(1);
      expect(accepted.closes).toHaveLength(1);
    });

    it('close(reason, code) carries the code to the peer', async () => {
      const { client, accepted } = await pair();
      const closing = accepted.conn.close('node is stopping', 'SYSTEMGE_ERR_NODE_STOPPED');
      expect(() => accepted.conn.send(numbered(1))).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_CONNECTION_CLOSED' }));
      await withDeadline(closing, 'close() to resolve');
      expect(await client.closed()).toMatchObject({ initiator: 'remote', code: 'SYSTEMGE_ERR_NODE_STOPPED', reason: 'node is stopping' });
      expect(await accepted.closed()).toMatchObject({ initiator: 'local', code: 'SYSTEMGE_ERR_NODE_STOPPED' });
    });

    it('destroy() closes at once: local on this side, remote on the peer', async () => {
      const { client, accepted } = await pair();
      const error = new ConnectionError('test destroyed it');
      client.conn.destroy(error);
      const local = await client.closed();
      expect(local).toMatchObject({ initiator: 'local', code: 'SYSTEMGE_ERR_CONNECTION' });
      expect(local.error).toBe(error);
      expect((await accepted.closed()).initiator).toBe('remote');
      client.conn.destroy();
      expect(client.closes).toHaveLength(1);
    });

    it('a connection closed by the peer before setHandlers still reports onClose once', async () => {
      const server = await res.listen(ctx.transport);
      const raw = await withDeadline(ctx.transport.dial(target(server.listener)), 'dial');
      res.trackConnection(raw);
      const accepted = await server.next();
      accepted.conn.destroy();
      await accepted.closed();
      for (let i = 0; i < 5; i++) await nextTurn();
      const client = res.record(raw, false);
      const info = await client.closed();
      expect(info.initiator).toBe('remote');
      for (let i = 0; i < 5; i++) await nextTurn();
      expect(client.closes).toHaveLength(1);
    });

    it('dialing a port nobody listens on rejects with SYSTEMGE_ERR_DIAL_FAILED', async () => {
      const server = await res.listen(ctx.transport);
      const dialTo = target(server.listener);
      await server.listener.close();
      const error = await withDeadline(
        ctx.transport.dial(dialTo).then(
          (conn) => {
            conn.destroy();
            throw new Error('dial to a closed port resolved');
          },
          (e: unknown) => e,
        ),
        'dial to fail',
      );
      expect(isSystemgeError(error, 'SYSTEMGE_ERR_DIAL_FAILED')).toBe(true);
      expect(error).toBeInstanceOf(Error);
    });

    it('an aborted dial rejects with SYSTEMGE_ERR_DIAL_FAILED', async () => {
      const server = await res.listen(ctx.transport);
      const signal = AbortSignal.abort();
      const error = await ctx.transport.dial(target(server.listener), { signal }).then(
        (conn) => {
          conn.destroy();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(isSystemgeError(error, 'SYSTEMGE_ERR_DIAL_FAILED')).toBe(true);
    });

    it('send after close throws SYSTEMGE_ERR_CONNECTION_CLOSED on both sides', async () => {
      const { client, accepted } = await pair();
      await client.conn.close();
      await accepted.closed();
      for (const side of [client, accepted]) {
        expect(side.conn.closed).toBe(true);
        expect(side.conn.writable).toBe(false);
        let thrown: unknown;
        try {
          side.conn.send(numbered(1));
        } catch (e) {
          thrown = e;
        }
        expect(isSystemgeError(thrown, 'SYSTEMGE_ERR_CONNECTION_CLOSED')).toBe(true);
      }
    });

    it('an accept filter refusal calls onRefused, and the dialer sees the connection closed', async () => {
      const seen: string[] = [];
      const server = await res.listen(ctx.transport, {
        accept: (remote) => {
          seen.push(remote.address);
          return 'not on the allow list';
        },
      });
      let closedOrRejected: unknown;
      try {
        const client = await dial(server.listener);
        closedOrRejected = await client.closed();
        expect(closedOrRejected).toMatchObject({ initiator: 'remote' });
      } catch (error) {
        closedOrRejected = error;
        expect(isSystemgeError(error, 'SYSTEMGE_ERR_DIAL_FAILED')).toBe(true);
      }
      expect(closedOrRejected).toBeDefined();
      await res.events.until(() => server.refused.length > 0, 'onRefused');
      expect(server.refused[0]).toEqual({ address: seen[0], reason: 'not on the allow list' });
      expect(server.accepted).toEqual([]);
    });

    it('listener.close() releases the port, and accepted connections stay open', async () => {
      const { server, client, accepted } = await pair();
      const port = server.listener.port;
      await withDeadline(server.listener.close(), 'listener.close()');
      await withDeadline(server.listener.close(), 'a second listener.close()');

      client.conn.send(numbered(0));
      await accepted.frameCount(1);
      accepted.conn.send(numbered(1));
      await client.frameCount(1);

      const again = await res.listen(ctx.transport, { port });
      expect(again.listener.port).toBe(port);
      const client2 = await dial(again.listener);
      const accepted2 = await again.next();
      client2.conn.send(numbered(2));
      await accepted2.frameCount(1);
    });

    it('counts bytes and frames in and out', async () => {
      const { client, accepted } = await pair();
      const limits = resolveLimits();
      const frames = [...EVERY_KIND, ...range(200).map((i) => numbered(i))];
      const bytes = frames.reduce((sum, f) => sum + encodeFrame(f, limits).length, 0);
      for (const f of frames) client.conn.send(f);
      accepted.conn.send(EVERY_KIND[2] as Frame);
      await accepted.frameCount(frames.length);
      await client.frameCount(1);
      expect(client.conn.framesOut).toBe(frames.length);
      expect(client.conn.bytesOut).toBe(bytes);
      expect(accepted.conn.framesIn).toBe(frames.length);
      expect(accepted.conn.bytesIn).toBe(bytes);
      const back = encodeFrame(EVERY_KIND[2] as Frame, limits).length;
      expect(accepted.conn.framesOut).toBe(1);
      expect(accepted.conn.bytesOut).toBe(back);
      expect(client.conn.framesIn).toBe(1);
      expect(client.conn.bytesIn).toBe(back);
    });

    it('an over-limit frame from the peer closes that connection with SYSTEMGE_ERR_FRAME_TOO_LARGE; the listener keeps accepting', async () => {
      const { server, client, accepted } = await pair({ limits: { maxFrameBytes: 1024 } });
      client.conn.send(numbered(0));
      client.conn.send({ kind: FrameKind.AsyncMessage, topic: 'big', payload: 'x'.repeat(4096), syncToken: undefined });
      client.conn.send(numbered(2));
      const info = await accepted.closed();
      expect(info).toMatchObject({ initiator: 'local', code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE' });
      expect(info.error?.code).toBe('SYSTEMGE_ERR_FRAME_TOO_LARGE');
      expect(accepted.errors.map((e) => e.code)).toEqual(['SYSTEMGE_ERR_FRAME_TOO_LARGE']);
      expect(sequence(accepted.frames)).toEqual([0]);
      // The sender is told why.
      expect(await client.closed()).toMatchObject({ initiator: 'remote', code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE' });

      const client2 = await dial(server.listener);
      const accepted2 = await server.next();
      client2.conn.send(numbered(7));
      await accepted2.frameCount(1);
      accepted2.conn.send(numbered(8));
      await client2.frameCount(1);
      expect(sequence(client2.frames)).toEqual([8]);
    });

    it('an over-limit field from the peer rejects that message only', async () => {
      const { client, accepted } = await pair({ limits: { maxTopicBytes: 8 } });
      client.conn.send({ kind: FrameKind.SyncRequest, topic: 'much-too-long', payload: 'p', syncToken: 'k' });
      client.conn.send(numbered(1));
      await accepted.frameCount(1);
      expect(sequence(accepted.frames)).toEqual([1]);
      expect(accepted.errors).toHaveLength(1);
      expect(accepted.errors[0]).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', fatal: false, syncToken: 'k' });
      expect(accepted.conn.closed).toBe(false);
    });

    it('a frame over its own limits is refused by send() and the connection goes on', async () => {
      const { client, accepted } = await pair({}, { limits: { maxPayloadBytes: 10 } });
      expect(() => client.conn.send({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'x'.repeat(11), syncToken: undefined })).toThrow(
        expect.objectContaining({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE' }),
      );
      expect(client.conn.limits.maxPayloadBytes).toBe(10);
      client.conn.send(numbered(3));
      await accepted.frameCount(1);
      expect(sequence(accepted.frames)).toEqual([3]);
      expect(client.conn.framesOut).toBe(1);
    });
  });
}
