import type { HandshakeAckFrame, HandshakeFrame, SystemgeError } from '@systemge/protocol';
import { type NodeContext, remoteOf } from '../context.js';
import { HandshakeTimeoutError } from '../errors.js';
import { ConnectionRateLimiter } from '../messaging/rate-limits.js';
import type { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import { ackFrame, checkAck, checkHello, type HandshakeCheck, type HandshakeIdentity, helloFrame } from './handshake.js';
import type { InboundGate } from './inbound-gate.js';

/** Called once when a dial's handshake settles: undefined on success, else why it failed. */
export type HandshakeSettle = (error: Error | undefined) => void;

/** What the handshake driver needs from its neighbours. */
export interface HandshakerNeighbours {
  peers: PeerTable;
  gate: InboundGate;
  /** What this node announces now (its name, handled topics, listen address). */
  identity(): HandshakeIdentity;
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
        if (peer.state !== 'handshaking') return;
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
      auth: this.ctx.config.auth,
      certificate: peer.connection.peerCertificate,
      isConnected: (name) => this.n.peers.has(name),
    };
  }

  /** Listening side: checks the dialer's handshake and answers it. */
  onHello(peer: Peer, frame: HandshakeFrame): void {
    const error = checkHello(frame, this.check(peer));
    if (error !== undefined) {
      this.refuse(peer, error);
      return;
    }
    peer.connection.send(ackFrame(this.n.identity()));
    this.makeReady(peer, frame);
  }

  /** Dialing side: checks the listener's answer. Returns the error that refused it. */
  onAck(peer: Peer, frame: HandshakeAckFrame): Error | undefined {
    const error = checkAck(frame, this.check(peer), peer.endpoint);
    if (error !== undefined) {
      this.refuse(peer, error);
      return error;
    }
    this.makeReady(peer, frame);
    return undefined;
  }

  private refuse(peer: Peer, error: SystemgeError): void {
    this.ctx.counters.handshakeFailures++;
    this.ctx.logger.warn({ remote: remoteOf(peer.connection), code: error.code }, `handshake refused: ${error.message}`);
    this.ctx.emit('warning', error);
    peer.close(error.message, error.code).catch(() => {});
  }

  private makeReady(peer: Peer, frame: HandshakeFrame | HandshakeAckFrame): void {
    this.n.gate.settle(peer);
    const limits = this.ctx.config.rateLimits;
    const limiter = limits.messagesPerSecond > 0 || limits.bytesPerSecond > 0 ? new ConnectionRateLimiter(limits) : undefined;
    peer.becomeReady(frame.name, frame.info, this.ctx.clock.now(), limiter);
    this.n.peers.register(peer, frame.asyncTopics, frame.syncTopics);
    // Before anything else can be sent to it, so held messages keep their order.
    this.n.onReady(peer);
    this.ctx.logger.info({ peer: peer.name, direction: peer.direction }, 'peer connected');
    this.ctx.emit('peer:connected', peer.describe());
  }
}
