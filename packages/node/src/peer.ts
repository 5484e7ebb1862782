import type { Connection, MessageFrame, TopicSet } from '@systemge/protocol';
import type { EndpointConfig } from './config.js';
import { Fifo, type HandlingSource } from './handling.js';
import type { ConnectionRateLimiter } from './rate-limits.js';
import type { PeerInfo } from './node-types.js';

export type PeerState = 'handshaking' | 'ready' | 'closed';

/** One connection to another node, with what it announced. */
export class Peer implements HandlingSource {
  name = '';
  state: PeerState = 'handshaking';
  readonly direction: 'in' | 'out';
  readonly connection: Connection;
  readonly endpoint: EndpointConfig | undefined;
  readonly asyncTopics = new Set<string>();
  readonly syncTopics = new Set<string>();
  info: Record<string, string> | undefined;
  connectedAt = Date.now();
  // Handling state (see Dispatcher).
  inflight = 0;
  readonly queue = new Fifo<MessageFrame>();
  busy = false;
  handlingPaused = false;
  // Liveness state (see heartbeats).
  lastBytesIn = 0;
  lastHeardAt = Date.now();
  lastProbeAt = 0;
  probeNonce = 0;
  /** Set when this side decided to close, so the loss is not treated as a failure. */
  closingLocally = false;
  /** The peer node's random per-instance id from its handshake (tells a second connection from an impostor). */
  instance: string | undefined;
  /** Replaced by another connection to the same node instance: its close is neither a loss nor a failure. */
  superseded = false;
  /** Dialing side: the topics its handshake carried (the rest follow once the peer's limits are known). */
  handshakeTopics: TopicSet | undefined;
  /** Incoming rate limits, when configured. */
  limiter: ConnectionRateLimiter | undefined;

  constructor(connection: Connection, direction: 'in' | 'out', endpoint?: EndpointConfig) {
    this.connection = connection;
    this.direction = direction;
    this.endpoint = endpoint;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  private pauses = 0;

  /** Pauses reading; several reasons (queue full, rate limit) may hold a pause at once. */
  pauseReading(): void {
    if (this.pauses++ === 0) this.connection.pause();
  }

  /** Releases one pause; reading resumes when none is held. */
  resumeReading(): void {
    if (this.pauses === 0) return;
    if (--this.pauses === 0) this.connection.resume();
  }

  describe(): PeerInfo {
    const c = this.connection;
    return {
      name: this.name,
      direction: this.direction,
      transport: c.transport,
      remoteAddress: c.remoteAddress,
      remotePort: c.remotePort,
      endpoint: this.endpoint,
      asyncTopics: [...this.asyncTopics].sort(),
      syncTopics: [...this.syncTopics].sort(),
      connectedAt: this.connectedAt,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      bufferedBytes: c.bufferedBytes,
      framesIn: c.framesIn,
      framesOut: c.framesOut,
      info: this.info,
    };
  }
}

/** Topic → peers that handle it, kept as arrays for allocation-free iteration on send. */
export class RoutingTable {
  private readonly routes = new Map<string, Peer[]>();

  get(topic: string): Peer[] | undefined {
    return this.routes.get(topic);
  }

  add(topic: string, peer: Peer): void {
    const list = this.routes.get(topic);
    if (list === undefined) this.routes.set(topic, [peer]);
    else if (!list.includes(peer)) list.push(peer);
  }

  remove(topic: string, peer: Peer): void {
    const list = this.routes.get(topic);
    if (list === undefined) return;
    const i = list.indexOf(peer);
    if (i < 0) return;
    // Copy on write: a send loop may be iterating the old array.
    const next = list.slice();
    next.splice(i, 1);
    if (next.length === 0) this.routes.delete(topic);
    else this.routes.set(topic, next);
  }

  topics(): string[] {
    return [...this.routes.keys()].sort();
  }
}
