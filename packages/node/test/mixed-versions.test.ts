import { createServer, connect, type Server, type Socket } from 'node:net';
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameKind,
  type HandshakeAckFrame,
  type HandshakeFrame,
  type MessageFrame,
  PROTOCOL_VERSION,
  resolveLimits,
} from '@systemge/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncResponse, SystemgeError, SystemgeNode } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

/*
 * A node built before structured payloads, on a raw socket: its handshake and ack carry version,
 * name, topics, info and limits but no `encodings`, and its decoder knows payload encodings 0 (text)
 * and 1 (bytes) only — any other encoding byte was a fatal frame error that closed the connection,
 * which `OldNode` does too. It answers heartbeats, answers its sync topic with text, and records what
 * it receives.
 */

const UNSUPPORTED = 'SYSTEMGE_ERR_PAYLOAD_ENCODING_UNSUPPORTED';
const limits = resolveLimits();
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

class OldNode {
  readonly frames: Frame[] = [];
  /** Set when it received a frame its decoder would have refused as fatal, and closed the connection. */
  closedOnFrame: string | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    readonly socket: Socket,
    readonly name: string,
    private readonly answers: Record<string, (payload: string | Uint8Array) => string>,
  ) {
    const decoder = new FrameDecoder(resolveLimits(), {
      onFrame: (frame) => this.onFrame(frame),
      onError: (error) => socket.destroy(error),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.wake());
    cleanup.push(() => socket.destroy());
  }

  /** The pre-change handshake (or ack): no `encodings` field. */
  static hello(name: string, kind: typeof FrameKind.Handshake | typeof FrameKind.HandshakeAck, topics: string[]): Frame {
    return {
      kind,
      version: PROTOCOL_VERSION,
      name,
      asyncTopics: topics,
      syncTopics: topics,
      info: { instance: `old-${name}` },
      limits,
    } as HandshakeFrame | HandshakeAckFrame;
  }

  private onFrame(frame: Frame): void {
    if (frame.kind <= FrameKind.SyncFailure) {
      const payload = (frame as MessageFrame).payload;
      if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
        // The old decoder: "unknown message flags 0x2", fatal.
        this.closedOnFrame = `${(frame as MessageFrame).topic}: encoding 2`;
        this.socket.destroy();
        return;
      }
    }
    this.frames.push(frame);
    if (frame.kind === FrameKind.Heartbeat) this.send({ kind: FrameKind.HeartbeatAck, nonce: frame.nonce });
    if (frame.kind === FrameKind.SyncRequest) {
      const answer = this.answers[frame.topic];
      if (answer !== undefined) {
        this.send({
          kind: FrameKind.SyncResponse,
          topic: frame.topic,
          payload: answer(frame.payload as string),
          syncToken: frame.syncToken,
        });
      }
    }
    this.wake();
  }

  send(frame: Frame): void {
    this.socket.write(encodeFrame(frame, limits));
  }

  messages(kind: number, topic?: string): MessageFrame[] {
    return this.frames.filter((f): f is MessageFrame => f.kind === kind && (topic === undefined || (f as MessageFrame).topic === topic));
  }

  async next<F extends Frame>(match: (frame: Frame) => frame is F, what: string, timeoutMs?: number): Promise<F>;
  async next(match: (frame: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame>;
  async next(match: (frame: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      if (this.socket.destroyed) throw new Error(`old node's connection closed waiting for ${what} (${this.closedOnFrame ?? 'closed'})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** An old node dialing `port`: sends the pre-change handshake and waits for the ack. */
async function oldDialer(port: number, name: string, topics: string[], answers: Record<string, (p: string | Uint8Array) => string> = {}) {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const old = new OldNode(socket, name, answers);
  old.send(OldNode.hello(name, FrameKind.Handshake, topics));
  const ack = await old.next((f): f is HandshakeAckFrame => f.kind === FrameKind.HandshakeAck, 'handshake ack');
  return { old, ack };
}

/** An old node listening on 127.0.0.1:0: answers a hello with the pre-change ack. */
async function oldListener(name: string, topics: string[], answers: Record<string, (p: string | Uint8Array) => string> = {}) {
  const accepted: OldNode[] = [];
  const server: Server = createServer((socket) => {
    const old = new OldNode(socket, name, answers);
    accepted.push(old);
    void old
      .next((f) => f.kind === FrameKind.Handshake, 'hello')
      .then(
        () => old.send(OldNode.hello(name, FrameKind.HandshakeAck, topics)),
        () => {},
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => server.close());
  const port = (server.address() as { port: number }).port;
  return { port, accepted };
}

function warningsOf(node: SystemgeNode): SystemgeError[] {
  const seen: SystemgeError[] = [];
  node.on('warning', (error) => void seen.push(error as SystemgeError));
  return seen;
}

describe('mixed versions: a node that predates structured payloads', () => {
  it('stays connected to a new node: objects skip it or fail typed at the sender, strings keep flowing both ways', async () => {
    const logged: unknown[] = [];
    const a = await startNode(
      { name: 'a' },
      {
        getAsyncMessageHandlers: () => ({ log: (m) => void logged.push(m.payload) }),
        getSyncMessageHandlers: () => ({ objects: () => ({ structured: true }), texts: (m) => `text for ${String(m.payload)}` }),
      },
    );
    const news: unknown[] = [];
    const b = await startNode(
      { name: 'b', endpoints: [endpointOf(a)] },
      {
        getAsyncMessageHandlers: () => ({ news: (m) => void news.push(m.payload) }),
        getSyncMessageHandlers: () => ({ ask: (m) => ({ by: 'b', got: m.payload }) }),
      },
    );
    const { old, ack } = await oldDialer(a.address?.port as number, 'old', ['news', 'ask'], { ask: (p) => `old got ${String(p)}` });
    expect(ack.encodings).toEqual(['text', 'bytes', 'msgpack']);
    const warnings = warningsOf(a);
    await until(
      () =>
        ['b', 'old'].every((n) => a.peers().some((p) => p.name === n && p.asyncTopics.includes('news') && p.syncTopics.includes('ask'))),
      10_000,
      'both peers announced their topics',
    );

    // Broadcast: the object reaches b only, the string both; one warning names the old node.
    expect(a.asyncMessage('news', { n: 1 })).toBe(true);
    a.asyncMessage('news', 'hello everyone');
    await until(() => news.length === 2, 10_000, 'b received both');
    expect(news).toEqual([{ n: 1 }, 'hello everyone']);
    expect((await old.next((f) => f.kind === FrameKind.AsyncMessage, 'the string')) as MessageFrame).toMatchObject({
      payload: 'hello everyone',
    });
    expect(old.messages(FrameKind.AsyncMessage).map((f) => f.payload)).toEqual(['hello everyone']);
    expect(warnings.map((w) => [w.code, (w as SystemgeError & { peers: string[] }).peers])).toEqual([[UNSUPPORTED, ['old']]]);

    // Named: typed error at the sender, naming topic and peer; nothing written.
    expect(() => a.asyncMessage('news', { n: 2 }, { to: 'old' })).toThrow(
      expect.objectContaining({ code: UNSUPPORTED, topic: 'news', peers: ['old'], message: expect.stringContaining('peer "old"') }),
    );
    await expect(a.syncRequest('ask', { q: 1 }, { to: 'old' }).first()).rejects.toMatchObject({ code: UNSUPPORTED });

    // Balanced requests never pick it for an object; strings may go to either.
    for (let i = 0; i < 8; i++) expect(await a.request('ask', { i }, { timeoutMs: 10_000 })).toEqual({ by: 'b', got: { i } });
    const textAnswers = new Set<string>();
    for (let i = 0; i < 4; i++) textAnswers.add(JSON.stringify(await a.request('ask', 'ping', { timeoutMs: 10_000 })));
    expect(textAnswers).toEqual(new Set([JSON.stringify({ by: 'b', got: 'ping' }), JSON.stringify('old got ping')]));

    // Scatter: the old node is a failed response of its own; b answers.
    const scattered = await a.syncRequest('ask', { q: 2 }, { timeoutMs: 10_000 }).all();
    expect(scattered.map((r: SyncResponse) => [r.origin, r.ok ? r.payload : r.code]).sort()).toEqual([
      ['b', { by: 'b', got: { q: 2 } }],
      ['old', UNSUPPORTED],
    ]);

    // The old node asks: an object answer comes back as a failure it can read, a string answer as is.
    old.send({ kind: FrameKind.SyncRequest, topic: 'objects', payload: 'give', syncToken: 't1' });
    const failure = (await old.next((f) => f.kind === FrameKind.SyncFailure && f.syncToken === 't1', 'failure for t1')) as MessageFrame;
    expect(failure.payload).toContain('msgpack-encoded');
    expect(failure.payload).toContain('peer "old"');
    old.send({ kind: FrameKind.SyncRequest, topic: 'texts', payload: 'give', syncToken: 't2' });
    const response = (await old.next((f) => f.kind === FrameKind.SyncResponse && f.syncToken === 't2', 'response for t2')) as MessageFrame;
    expect(response.payload).toBe('text for give');
    old.send({ kind: FrameKind.AsyncMessage, topic: 'log', payload: 'from old', syncToken: undefined });
    await until(() => logged.includes('from old'), 10_000, "a received the old node's message");

    // Never a frame it could not read; still connected.
    expect(old.closedOnFrame).toBeUndefined();
    expect(old.socket.destroyed).toBe(false);
    expect(a.peers().some((p) => p.name === 'old')).toBe(true);
    expect(a.stats.encodingRefusals).toBeGreaterThanOrEqual(4);
    expect(b.stats.encodingRefusals).toBe(0);
  });

  it('a new node that dials an old one reads its ack without encodings the same way', async () => {
    const listener = await oldListener('old-server', ['jobs'], { jobs: (p) => `done ${String(p)}` });
    const a = await startNode({ name: 'a', endpoints: [{ host: '127.0.0.1', port: listener.port }] });
    await until(() => a.peers().some((p) => p.name === 'old-server' && p.syncTopics.includes('jobs')), 10_000, 'old server ready');
    const old = listener.accepted[0] as OldNode;
    const hello = (await old.next((f) => f.kind === FrameKind.Handshake, 'hello')) as HandshakeFrame;
    expect(hello.encodings).toEqual(['text', 'bytes', 'msgpack']);
    await expect(a.request('jobs', { id: 1 })).rejects.toMatchObject({ code: UNSUPPORTED, peers: ['old-server'] });
    expect(() => a.asyncMessage('jobs', new Map([[1, 2]]))).toThrow(expect.objectContaining({ code: UNSUPPORTED }));
    expect(await a.request('jobs', 'one', { timeoutMs: 10_000 })).toBe('done one');
    expect(old.closedOnFrame).toBeUndefined();
    expect(old.socket.destroyed).toBe(false);
    expect(a.stats.balancedRequestsNoPeer).toBe(1);
  });
});

describe('Map payloads between nodes', () => {
  it('a Map, nested Maps and Map keys of any type arrive as Maps; plain objects stay objects', async () => {
    const seen: unknown[] = [];
    const server = await startNode(
      { name: 'server' },
      {
        getAsyncMessageHandlers: () => ({ maps: (m) => void seen.push(m.payload) }),
        getSyncMessageHandlers: () => ({ count: (m) => new Map([['size', (m.payload as Map<unknown, unknown>).size]]) }),
      },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    await until(() => client.peers().some((p) => p.asyncTopics.includes('maps') && p.syncTopics.includes('count')));
    const payload = {
      plain: { a: 1 },
      byId: new Map<unknown, unknown>([
        [1, { name: 'one' }],
        ['two', new Map([[2n, [new Map()]]])],
      ]),
    };
    client.asyncMessage('maps', payload);
    await until(() => seen.length === 1, 10_000, 'the map payload');
    const got = seen[0] as typeof payload;
    expect(got.plain.constructor).toBe(Object);
    expect(got.byId).toBeInstanceOf(Map);
    expect(got.byId.get(1)).toEqual({ name: 'one' });
    const inner = got.byId.get('two') as Map<bigint, unknown[]>;
    expect(inner).toBeInstanceOf(Map);
    expect((inner.get(2n) as unknown[])[0]).toBeInstanceOf(Map);
    const answer = await client.request(
      'count',
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    );
    expect(answer).toEqual(new Map([['size', 2]]));
    expect(answer).toBeInstanceOf(Map);
  });
});
