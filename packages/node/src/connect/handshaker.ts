import type { HandshakeAckFrame, HandshakeFrame, SystemgeError } from '@systemge/protocol';
import { type NodeContext, remoteOf } from '../context.js';
import { HandshakeTimeoutError, SelfDialError } from '../errors.js';
import { ConnectionRateLimiter } from '../messaging/rate-limits.js';
import type { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import type { DuplicateResolution } from './duplicate-resolution.js';
import { ackFrame, checkAck, checkHello, type HandshakeCheck, type HandshakeIdentity, helloFrame } from './handshake.js';
import type { InboundGate } from './inbound-gate.js';

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
    peer.connection.send(helloFrame(this.n.identity(), peer.endpoint?.token ?? this.ctx.config.auth.token));
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

  /** Listening side: checks the dialer's handshake and answers it. */
  onHello(peer: Peer, frame: HandshakeFrame): void {
    const verdict = checkHello(frame, this.check(peer));
    switch (verdict.kind) {
      case 'refuse':
        this.refuse(peer, verdict.error);
        return;
      case 'self-dial':
        this.refuseSelfDial(peer);
        return;
      case 'same-instance': {
        // The same node connected twice (both sides dialed at once): keep one connection per pair.
        const existing = this.n.peers.get(frame.name) as Peer;
        const duplicates = this.n.duplicates;
        if (duplicates.keepsExisting(existing, peer, frame.name)) {
          peer.connection.send(ackFrame(this.n.identity(), { superseded: 'true' }));
          duplicates.dropSuperseded(peer);
          return;
        }
        peer.connection.send(ackFrame(this.n.identity()));
        // The dialer of this connection closes the one it replaces when our ack reaches it.
        this.makeReady(peer, frame, existing, false);
        return;
      }
      default:
        peer.connection.send(ackFrame(this.n.identity()));
        this.makeReady(peer, frame);
    }
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
          duplicates.dropSuperseded(peer);
          done?.(undefined, existing);
        } else {
          this.makeReady(peer, frame, existing, true);
          done?.(undefined);
        }
        return;
      }
      default:
        this.makeReady(peer, frame);
        done?.(undefined);
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

  /**
   * Makes a connection the peer's connection. `replaced`: a ready connection to the same node instance
   * that this one supersedes (closed now with `closeReplaced`, else by the remote side, which dialed this one).
   */
  private makeReady(peer: Peer, frame: HandshakeFrame | HandshakeAckFrame, replaced?: Peer, closeReplaced = true): void {
    this.n.gate.settle(peer);
    const limits = this.ctx.config.rateLimits;
    const limiter = limits.messagesPerSecond > 0 || limits.bytesPerSecond > 0 ? new ConnectionRateLimiter(limits) : undefined;
    const predecessor = this.n.duplicates.replace(frame.name, replaced, closeReplaced);
    peer.becomeReady(frame.name, frame.info, this.ctx.clock.now(), limiter);
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
