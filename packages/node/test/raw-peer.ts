import { connect, type Socket } from 'node:net';
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameKind,
  type HandshakeAckFrame,
  PROTOCOL_VERSION,
  type ProtocolLimits,
  resolveLimits,
} from '@systemge/protocol';
import { afterEach } from 'vitest';

const sockets = new Set<Socket>();

afterEach(() => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
});

/**
 * A hand-driven peer on a raw TCP socket: frames are encoded and decoded with @systemge/protocol,
 * nothing of @systemge/node is involved, so tests control every byte a node receives.
 */
export class RawPeer {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly limits: ProtocolLimits;
  private waiters: (() => void)[] = [];

  private constructor(socket: Socket, limits: ProtocolLimits) {
    this.socket = socket;
    this.limits = limits;
    const decoder = new FrameDecoder(resolveLimits(), {
      onFrame: (frame) => {
        this.frames.push(frame);
        this.wake();
      },
      onError: (error) => socket.destroy(error),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => this.wake());
  }

  /** Connects without sending anything. `limits` bound what this peer may encode (default: generous). */
  static async connect(port: number, limits: Partial<ProtocolLimits> = {}): Promise<RawPeer> {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.add(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket, resolveLimits({ maxTopicBytes: 0xffff, maxSyncTokenBytes: 0xffff, ...limits }));
  }

  /** Connects and completes the handshake as node `name`; resolves with the node's ack. */
  static async handshake(
    port: number,
    name = 'raw',
    topics: { asyncTopics?: string[]; syncTopics?: string[] } = {},
  ): Promise<{ peer: RawPeer; ack: HandshakeAckFrame }> {
    const peer = await RawPeer.connect(port);
    peer.send({
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      name,
      asyncTopics: topics.asyncTopics ?? [],
      syncTopics: topics.syncTopics ?? [],
    });
    const ack = await peer.next((f): f is HandshakeAckFrame => f.kind === FrameKind.HandshakeAck);
    return { peer, ack };
  }

  send(frame: Frame): void {
    this.socket.write(encodeFrame(frame, this.limits));
  }

  /** Resolves with the first received frame (seen or future) matching `match`; rejects on close or timeout. */
  async next<F extends Frame>(match: (frame: Frame) => frame is F, timeoutMs?: number): Promise<F>;
  async next(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  async next(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.frames.length; seen++) {
        const frame = this.frames[seen] as Frame;
        if (match(frame)) return frame;
      }
      if (this.socket.destroyed) throw new Error('raw peer socket closed before the expected frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms`);
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
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
