import {
  type AnnouncedLimits,
  encodingSet,
  FieldTooLargeError,
  FrameKind,
  type HandshakeAckFrame,
  type HandshakeFrame,
  type SystemgeError,
  type TopicSet,
} from '@systemge/protocol';
import { type NodeContext, remoteOf } from '../context.js';
import { HandshakeTimeoutError, SelfDialError } from '../errors.js';
import { ConnectionRateLimiter } from '../messaging/rate-limits.js';
import type { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import type { DuplicateResolution } from './duplicate-resolution.js';
import { ackFrame, checkAck, checkHello, checkHelloName, type HandshakeCheck, type HandshakeIdentity, helloFrame } from './handshake.js';
import { HANDSHAKE_TOPIC_BYTES, splitTopics, type TopicSplit } from './handshake-topics.js';
import type { InboundGate } from './inbound-gate.js';

/** The topic lists of an answer that supersedes the connection (nothing to announce on it). */
const NO_TOPICS: TopicSet = { asyncTopics: [], syncTopics: [] };

/**
 * Called once when a dial's handshake settles: undefined on success, else why it failed. On success,
 * `survivor` is the connection that was kept when it is not the dialed one (one connection per pair).
 */
export type HandshakeSettle = (error: Error | undefined, survivor?: Peer) => void;

/** What the handshake driver needs from its neighbours. */
export interface HandshakerNeighbours {
  peers: PeerTable;
  gate: InboundGate;
  duplicates: DuplicateResolution;
  /** What this node announces now (its name, handled topics, instance id, listen address). */
  identity(): HandshakeIdentity;
  /** `peer` continues `predecessor`, a connection to the same node it replaced (before `onReady`). */
  onReplaced(predecessor: Peer, peer: Peer): void;
  /** A peer just became ready (before anything else is sent to it). */
  onReady(peer: Peer): void;
}

/**
 * Drives the handshake of one connection: the timeout, the hello a dial sends, the checks of the
 * frame received (pure functions in handshake.ts), refusals, and the handshaking → ready transition.
 */
export class Handshaker {
  private readonly ctx: NodeContext;
  private readonly n: HandshakerNeighbours;

  constructor(ctx: NodeContext, neighbours: HandshakerNeighbours) {
    this.ctx = ctx;
    this.n = neighbours;
  }

  /** A dialed connection: arm the timeout and send the hello. */
  dial(peer: Peer, settle: HandshakeSettle): void {
    this.armTimeout(peer, settle);
    const self = this.n.identity();
    // The listener's limits are unknown yet: the handshake carries what fits any peer, the rest follows.
    const { first } = this.topicsFor(self, undefined, HANDSHAKE_TOPIC_BYTES);
    peer.handshakeTopics = first;
    peer.connection.send(helloFrame(self, peer.endpoint?.token ?? this.ctx.config.auth.token, first));
  }

  /** An accepted connection: arm the timeout; the dialer speaks first. */
  accept(peer: Peer): void {
    this.armTimeout(peer, undefined);
  }

  private armTimeout(peer: Peer, onTimeout: HandshakeSettle | undefined): void {
    const timeoutMs = this.ctx.config.connection.handshakeTimeoutMs;
    this.ctx.clock.setTimeout(
      () => {
        // A superseded connection is already closing; it did nothing wrong.
        if (peer.state !== 'handshaking' || peer.superseded) return;
        const error = new HandshakeTimeoutError(timeoutMs);
        if (peer.direction === 'in') {
          this.n.gate.drop(peer, error.message, error.code);
          return;
        }
        this.ctx.counters.handshakeFailures++;
        this.ctx.logger.warn({ remote: remoteOf(peer.connection) }, error.message);
        onTimeout?.(error);
        peer.close(error.message, error.code).catch(() => {});
      },
      timeoutMs,
      true,
    );
  }

  private check(peer: Peer): HandshakeCheck {
    return {
      ownName: this.ctx.name,
      ownInstance: this.ctx.instance,
      auth: this.ctx.config.auth,
      certificate: peer.connection.peerCertificate,
      isConnected: (name) => this.n.peers.has(name),
      connectedInstance: (name) => this.n.peers.get(name)?.instance,
    };
  }

  /**
   * Listening side: checks the dialer's handshake and answers it. In order: the dialer itself
   * (`checkHello`), its announced limits (`applyDialerLimits`), then its name (`checkHelloName`).
   */
  onHello(peer: Peer, frame: HandshakeFrame): void {
    const check = this.check(peer);
    const verdict = checkHello(frame, check);
    if (verdict.kind === 'refuse') {
      this.refuse(peer, verdict.error);
      return;
    }
    if (verdict.kind === 'self-dial') {
      this.refuseSelfDial(peer);
      return;
    }
    const topics = this.applyDialerLimits(peer, frame);
    if (topics === undefined) return;
    const named = checkHelloName(frame, check);
    if (named.kind === 'refuse') {
      this.refuse(peer, named.error);
      return;
    }
    const self = this.n.identity();
    let existing: Peer | undefined;
    if (named.kind === 'same-instance') {
      // The same node connected twice (both sides dialed at once): keep one connection per pair.
      existing = this.n.peers.get(frame.name) as Peer;
      if (this.n.duplicates.keepsExisting(existing, peer, frame.name)) {
        peer.connection.send(ackFrame(self, { superseded: 'true' }, NO_TOPICS));
        this.n.duplicates.dropSuperseded(peer);
        return;
      }
    }
    peer.connection.send(ackFrame(self, undefined, topics.first));
    this.sendTopicFrames(peer, topics.rest);
    // With `existing`, the dialer of this connection closes the one it replaces when our ack reaches it.
    this.makeReady(peer, frame, existing, false);
    this.warnTopicsTooLarge(peer, topics, frame.limits);
  }

  /**
   * Listening side: holds what this side sends to the dialer's announced limits and splits this
   * node's topics for the answer (what fits half the dialer's first-frame cap; the rest follows in
   * topic frames). Undefined when this node's name is over the dialer's `maxNodeNameBytes` (refused).
   */
  private applyDialerLimits(peer: Peer, frame: HandshakeFrame): TopicSplit | undefined {
    const owner = `peer "${frame.name}"`;
    peer.connection.setPeerLimits?.(frame.limits ?? {}, owner);
    const nameLimit = frame.limits?.maxNodeNameBytes;
    const nameBytes = Buffer.byteLength(this.ctx.name, 'utf8');
    if (nameLimit !== undefined && nameBytes > nameLimit) {
      this.refuse(peer, new FieldTooLargeError('name', nameBytes, nameLimit, { limitOwner: owner }));
      return undefined;
    }
    // A dialer that announced no limits predates the first-frame cap: the whole list fits its answer.
    const budget =
      frame.limits === undefined
        ? Number.POSITIVE_INFINITY
        : Math.floor(
            Math.min(
              frame.limits.maxHandshakeFrameBytes ?? 2 * HANDSHAKE_TOPIC_BYTES,
              frame.limits.maxFrameBytes ?? Number.POSITIVE_INFINITY,
            ) / 2,
          );
    return this.topicsFor(this.n.identity(), frame.limits, budget);
  }

  /**
   * Topics this node announces, split for a peer with the given limits: what fits `budget` for the
   * handshake, topic frames for the rest, and those the peer's `maxTopicBytes` refuses.
   */
  private topicsFor(self: TopicSet, limits: AnnouncedLimits | undefined, budget: number, announced?: TopicSet): TopicSplit {
    const maxTopicBytes = Math.min(this.ctx.config.limits.maxTopicBytes, limits?.maxTopicBytes ?? Number.POSITIVE_INFINITY);
    return splitTopics(self.asyncTopics, self.syncTopics, maxTopicBytes, budget, announced);
  }

  /** Topics that did not fit in the handshake, right after it (before anything else is sent). */
  private sendTopicFrames(peer: Peer, frames: TopicSet[]): void {
    for (const set of frames) {
      try {
        peer.connection.send({ kind: FrameKind.TopicsAdded, asyncTopics: set.asyncTopics, syncTopics: set.syncTopics });
      } catch (error) {
        this.ctx.logger.warn({ peer: peer.name, err: error }, 'could not announce topics');
      }
    }
  }

  /** Topics over the peer's maxTopicBytes are never announced to it; say so once per connection. */
  private warnTopicsTooLarge(peer: Peer, split: TopicSplit, limits: AnnouncedLimits | undefined): void {
    const first = split.tooLarge[0];
    if (first === undefined) return;
    const limit = Math.min(this.ctx.config.limits.maxTopicBytes, limits?.maxTopicBytes ?? Number.POSITIVE_INFINITY);
    const error = new FieldTooLargeError('topic', first.bytes, limit, { topic: first.topic, limitOwner: `peer "${peer.name}"` });
    this.ctx.logger.warn(
      { peer: peer.name, topics: split.tooLarge.map((t) => t.topic) },
      `${split.tooLarge.length} topic(s) not announced: ${error.message}`,
    );
    this.ctx.emit('warning', error);
  }

  /** Dialing side, the ack accepted: holds sends to the listener's limits; what did not fit in the hello follows. */
  private completeDial(peer: Peer, frame: HandshakeAckFrame): TopicSplit {
    peer.connection.setPeerLimits?.(frame.limits ?? {}, `peer "${frame.name}"`);
    // What did not fit in the handshake, now that the listener's limits are known.
    const topics = this.topicsFor(this.n.identity(), frame.limits, 0, peer.handshakeTopics);
    this.sendTopicFrames(peer, topics.rest);
    return topics;
  }

  /** Dialing side: checks the listener's answer and settles the dial through `done`. */
  onAck(peer: Peer, frame: HandshakeAckFrame, done: HandshakeSettle | undefined): void {
    const verdict = checkAck(frame, this.check(peer), peer.endpoint);
    const duplicates = this.n.duplicates;
    switch (verdict.kind) {
      case 'refuse':
      case 'self-dial': {
        const error = verdict.kind === 'refuse' ? verdict.error : new SelfDialError(`node "${this.ctx.name}" dialed itself`);
        this.refuse(peer, error);
        done?.(error);
        return;
      }
      case 'superseded':
        duplicates.adoptSurvivor(peer, frame.name, done);
        return;
      case 'same-instance': {
        const existing = this.n.peers.get(frame.name) as Peer;
        if (duplicates.keepsExisting(existing, peer, frame.name)) {
          // The listener answered with a plain ack: on its side this connection is ready, and it may
          // send on it until it learns of the one this side keeps. Those frames are the peer's own:
          // the connection counts as ready here too (never registered), so they are delivered.
          peer.becomeReady(frame.name, frame.info, this.ctx.clock.now(), this.newLimiter());
          peer.encodings = encodingSet(frame.encodings);
          duplicates.dropSuperseded(peer);
          done?.(undefined, existing);
        } else {
          const topics = this.completeDial(peer, frame);
          this.makeReady(peer, frame, existing, true);
          this.warnTopicsTooLarge(peer, topics, frame.limits);
          done?.(undefined);
        }
        return;
      }
      default: {
        const topics = this.completeDial(peer, frame);
        this.makeReady(peer, frame);
        this.warnTopicsTooLarge(peer, topics, frame.limits);
        done?.(undefined);
      }
    }
  }

  /** Our own dial reached our own listener: refuse it with the code the dialing side turns into SelfDialError. */
  private refuseSelfDial(peer: Peer): void {
    const listen = this.n.identity().info.listen;
    const where = listen === undefined ? 'its own listener' : `${listen}, its own listener`;
    const error = new SelfDialError(`node "${this.ctx.name}" dialed itself: ${where}; remove this node's own address from its endpoints`);
    this.n.gate.settle(peer);
    this.ctx.logger.debug({ code: error.code }, error.message);
    peer.close(error.message, error.code).catch(() => {});
  }

  private refuse(peer: Peer, error: SystemgeError): void {
    this.ctx.counters.handshakeFailures++;
    this.ctx.logger.warn({ remote: remoteOf(peer.connection), code: error.code }, `handshake refused: ${error.message}`);
    this.ctx.emit('warning', error);
    peer.close(error.message, error.code).catch(() => {});
  }

  /** The incoming rate limiter of a new ready connection, when rate limits are configured. */
  private newLimiter(): ConnectionRateLimiter | undefined {
    const limits = this.ctx.config.rateLimits;
    return limits.messagesPerSecond > 0 || limits.bytesPerSecond > 0 ? new ConnectionRateLimiter(limits) : undefined;
  }

  /**
   * Makes a connection the peer's connection. `replaced`: a ready connection to the same node instance
   * that this one supersedes (closed now with `closeReplaced`, else by the remote side, which dialed this one).
   */
  private makeReady(peer: Peer, frame: HandshakeFrame | HandshakeAckFrame, replaced?: Peer, closeReplaced = true): void {
    this.n.gate.settle(peer);
    const predecessor = this.n.duplicates.replace(frame.name, replaced, closeReplaced);
    peer.becomeReady(frame.name, frame.info, this.ctx.clock.now(), this.newLimiter());
    // What it accepts: text and bytes only when it announced nothing (it predates structured payloads).
    peer.encodings = encodingSet(frame.encodings);
    this.n.peers.register(peer, frame.asyncTopics, frame.syncTopics);
    // The endpoint that dialed the replaced connection now owns this one (and redials it if lost).
    if (predecessor !== undefined) this.n.onReplaced(predecessor, peer);
    // Before anything else can be sent to it, so held messages keep their order.
    this.n.onReady(peer);
    this.n.duplicates.onReady(peer);
    if (predecessor !== undefined) {
      // The application saw one peer all along: no connected/disconnected pair for the swap.
      this.ctx.logger.debug({ peer: peer.name, direction: peer.direction }, 'connection replaced: one connection per pair is kept');
      return;
    }
    this.ctx.logger.info({ peer: peer.name, direction: peer.direction }, 'peer connected');
    this.ctx.emit('peer:connected', peer.describe());
  }
}
