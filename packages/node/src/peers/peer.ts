import { BASE_ENCODINGS, type CloseOptions, encodingNames, type Connection, type MessageFrame, type TopicSet } from '@systemge/protocol';
import type { EndpointConfig } from '../config.js';
import { Fifo, type HandlingSource } from '../messaging/dispatcher.js';
import type { ConnectionRateLimiter } from '../messaging/rate-limits.js';
import type { PeerInfo } from '../node-types.js';

export type PeerState = 'handshaking' | 'ready' | 'closed';

/** Liveness figures of one peer; written only by the liveness part (and reset when the peer becomes ready). */
export interface LivenessState {
  lastBytesIn: number;
  lastHeardAt: number;
  lastProbeAt: number;
  probeNonce: number;
}

/**
 * One connection to another node, with what it announced. Its state changes through the methods
 * below, each with one caller: `becomeReady` (handshake), `markClosed` (connections, on close),
 * `close` (whoever ends it on purpose), `markSuperseded` (duplicate resolution). Topic sets are
 * written by the peer table only, the handling fields by the dispatcher only, `liveness` by the
 * liveness part only.
 */
export class Peer implements HandlingSource {
  private state_: PeerState = 'handshaking';
  private name_ = '';
  private info_: Record<string, string> | undefined;
  private closingLocally_ = false;
  private superseded_ = false;
  private limiter_: ConnectionRateLimiter | undefined;
  private connectedAt_: number;
  readonly direction: 'in' | 'out';
  readonly connection: Connection;
  readonly endpoint: EndpointConfig | undefined;
  readonly asyncTopics = new Set<string>();
  readonly syncTopics = new Set<string>();
  // Handling state (see Dispatcher).
  inflight = 0;
  readonly queue = new Fifo<MessageFrame>();
  busy = false;
  handlingPaused = false;
  readonly liveness: LivenessState;
  /**
   * The payload encodings it accepts, as a bit set of encoding bytes (`encodingSet` of its handshake's
   * `encodings`). Written by the handshaker when it becomes ready; text and bytes until then.
   */
  encodings = BASE_ENCODINGS;
  /** Dialing side: the topics its handshake carried (the rest follow once the peer's limits are known). Written by the handshaker. */
  handshakeTopics: TopicSet | undefined;

  constructor(connection: Connection, direction: 'in' | 'out', endpoint: EndpointConfig | undefined, now: number) {
    this.connection = connection;
    this.direction = direction;
    this.endpoint = endpoint;
    this.connectedAt_ = now;
    this.liveness = { lastBytesIn: 0, lastHeardAt: now, lastProbeAt: 0, probeNonce: 0 };
  }

  private names_: readonly string[] | undefined;
  private alone_: readonly Peer[] | undefined;

  get state(): PeerState {
    return this.state_;
  }

  /** The name it announced in the handshake ('' before). */
  get name(): string {
    return this.name_;
  }

  /** `[name]`, made once: the targets of a sync request to this peer alone, with no array per request. */
  get names(): readonly string[] {
    if (this.names_ === undefined || this.names_[0] !== this.name_) this.names_ = Object.freeze([this.name_]);
    return this.names_;
  }

  /** `[this]`, made once: the targets of a sync request to this peer alone, with no array per request. */
  get alone(): readonly Peer[] {
    if (this.alone_ === undefined) this.alone_ = Object.freeze([this]);
    return this.alone_;
  }

  get info(): Record<string, string> | undefined {
    return this.info_;
  }

  get connectedAt(): number {
    return this.connectedAt_;
  }

  get closed(): boolean {
    return this.state_ === 'closed';
  }

  /** True when this side decided to close, so the loss is not treated as a failure. */
  get closingLocally(): boolean {
    return this.closingLocally_;
  }

  /** The peer node's random per-instance id from its handshake (tells a second connection from an impostor). */
  get instance(): string | undefined {
    return this.info_?.instance;
  }

  /** Replaced by another connection to the same node instance: its close is neither a loss nor a failure. */
  get superseded(): boolean {
    return this.superseded_;
  }

  /** Incoming rate limits, when configured. */
  get limiter(): ConnectionRateLimiter | undefined {
    return this.limiter_;
  }

  /** handshaking → ready. Called once, by the handshake, when it succeeded. */
  becomeReady(name: string, info: Record<string, string> | undefined, now: number, limiter: ConnectionRateLimiter | undefined): void {
    this.limiter_ = limiter;
    this.name_ = name;
    this.info_ = info;
    this.state_ = 'ready';
    this.connectedAt_ = now;
    this.liveness.lastHeardAt = now;
    this.liveness.lastBytesIn = this.connection.bytesIn;
  }

  /** → closed. Called once, when the connection has closed. Returns whether the peer was ready. */
  markClosed(): boolean {
    const wasReady = this.state_ === 'ready';
    this.state_ = 'closed';
    return wasReady;
  }

  /** Closes the connection on purpose: its end is then not a loss (no reconnect, not counted as lost). */
  close(reason: string, code?: string, options?: CloseOptions): Promise<void> {
    this.closingLocally_ = true;
    return this.connection.close(reason, code, options);
  }

  /**
   * Marks the connection as replaced by another one to the same node instance (called by the
   * duplicate resolution only): this side ends it, and its end is neither a loss nor a failure.
   */
  markSuperseded(): void {
    this.superseded_ = true;
    this.closingLocally_ = true;
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
      encodings: encodingNames(this.encodings),
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
