import type { RemoteAddress } from '@systemge/protocol';
import { type NodeContext, remoteOf } from '../context.js';
import { HandshakeError } from '../errors.js';
import type { Peer } from '../peers/peer.js';
import { AddressList, AttemptRateLimiter } from './access-control.js';

/** What the gate needs from its neighbours. */
export interface GateNeighbours {
  /** Connections now, handshaking ones included (for `access.maxConnections`). */
  connectionCount(): number;
}

/**
 * The inbound gate: decides on a raw socket before any per-connection work (deny and allow lists,
 * attempts per IP, connection cap), and holds the accepted connections still handshaking,
 * evicting the oldest when full. Never reads a frame.
 */
export class InboundGate {
  private readonly ctx: NodeContext;
  private readonly neighbours: GateNeighbours;
  /** Addresses allowed to connect (empty: all); editable at runtime. */
  readonly allowList: AddressList;
  /** Addresses refused before any handshake; editable at runtime. */
  readonly denyList: AddressList;
  private readonly attemptLimiter: AttemptRateLimiter;
  /** Accepted connections still handshaking, oldest first. */
  private readonly pending = new Set<Peer>();

  constructor(ctx: NodeContext, neighbours: GateNeighbours) {
    this.ctx = ctx;
    this.neighbours = neighbours;
    const access = ctx.config.access;
    this.allowList = new AddressList(access.allow, 'access.allow');
    this.denyList = new AddressList(access.deny, 'access.deny');
    this.attemptLimiter = new AttemptRateLimiter(access.maxAttemptsPerIp, access.attemptWindowMs);
  }

  /** Accepted connections still handshaking. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Cheap checks on a raw socket, before any per-connection work. Returns a reason to refuse. */
  check(remote: RemoteAddress): string | undefined {
    const access = this.ctx.config.access;
    if (this.denyList.has(remote.address)) return 'address is denied';
    if (this.allowList.size > 0 && !this.allowList.has(remote.address)) return 'address is not allowed';
    if (!this.attemptLimiter.attempt(remote.address, this.ctx.clock.now())) return 'too many connection attempts';
    // A full set of pending handshakes evicts its oldest member instead of refusing the newcomer:
    // silent sockets then cannot lock real peers out, they only push each other out.
    // Each pending handshake may hold up to one first frame, so the byte budget caps their number too.
    const { limits } = this.ctx.config;
    const frameCap = Math.min(limits.maxHandshakeFrameBytes, limits.maxFrameBytes);
    const byBytes = Math.floor(access.maxPendingHandshakeBytes / frameCap);
    if (this.pending.size >= Math.min(access.maxPendingHandshakes, byBytes)) {
      const oldest = this.pending.values().next().value;
      const reason =
        byBytes < access.maxPendingHandshakes
          ? `evicted: pending handshakes would hold more than access.maxPendingHandshakeBytes ${access.maxPendingHandshakeBytes} (${byBytes} of ${frameCap} bytes)`
          : `evicted: more than ${access.maxPendingHandshakes} pending handshakes`;
      if (oldest !== undefined) this.drop(oldest, reason);
    }
    if (this.neighbours.connectionCount() >= access.maxConnections) return 'too many connections';
    return undefined;
  }

  /** The transport refused a socket (this gate's reason, or its own). */
  onRefused(remote: RemoteAddress, reason: string): void {
    this.ctx.counters.connectionsRefused++;
    this.ctx.logger.warn({ remote: `${remote.address}:${remote.port}`, reason }, 'connection refused');
  }

  /** An accepted connection starts its handshake. */
  addPending(peer: Peer): void {
    this.pending.add(peer);
  }

  /** The connection finished its handshake, or closed: it no longer holds a slot. */
  settle(peer: Peer): void {
    this.pending.delete(peer);
  }

  /** Ends an unauthenticated incoming connection at once; its handshake slot is free immediately. */
  drop(peer: Peer, reason: string, code: string = HandshakeError.code): void {
    this.pending.delete(peer);
    this.ctx.counters.handshakeFailures++;
    this.ctx.logger.warn({ remote: remoteOf(peer.connection) }, `handshake dropped: ${reason}`);
    peer.close(reason, code).catch(() => {});
    // The goodbye is a courtesy; a peer that does not read it does not keep the socket open.
    this.ctx.clock.setTimeout(() => peer.connection.destroy(), 200, true);
  }
}
