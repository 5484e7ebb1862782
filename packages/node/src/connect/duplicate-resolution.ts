import type { CloseInfo } from '@systemge/protocol';
import { type NodeContext, remoteOf, type TimerHandle } from '../context.js';
import { ConnectionSupersededError, HandshakeError } from '../errors.js';
import type { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import { timerDelay } from '../timers.js';
import type { HandshakeSettle } from './handshaker.js';
import type { InboundGate } from './inbound-gate.js';

/** What the duplicate resolution needs from its neighbours. */
export interface DuplicateNeighbours {
  peers: Pick<PeerTable, 'get' | 'unregister'>;
  gate: Pick<InboundGate, 'settle'>;
  /** A ready peer is gone for good: fail its requests, report it, redial or stop as configured. */
  peerGone(peer: Peer, info: CloseInfo): void;
}

/**
 * One connection per pair: given a ready connection to a node instance and a second one completing,
 * whether to keep the ready one. Both sides decide alike: of connections dialed by different nodes,
 * the one dialed by the node whose name sorts first wins; of two dialed by the same node, the first.
 */
export function keepsExisting(
  ownName: string,
  existing: { readonly direction: 'in' | 'out' },
  candidate: { readonly direction: 'in' | 'out' },
  remoteName: string,
): boolean {
  const dialer = (p: { readonly direction: 'in' | 'out' }): string => (p.direction === 'out' ? ownName : remoteName);
  const kept = dialer(existing);
  const other = dialer(candidate);
  return kept === other || kept < other;
}

/**
 * Two nodes that dial each other at once end up with one connection, the same one on both sides
 * (`keepsExisting`). The losing connection is closed quietly with `SYSTEMGE_ERR_CONNECTION_SUPERSEDED`
 * (neither a loss nor a failure); a dial that lost resolves with the kept connection; a ready
 * connection the remote superseded waits quietly for its replacement (one handshake timeout) before
 * it counts as lost; and the application sees one peer all along.
 */
export class DuplicateResolution {
  private readonly ctx: NodeContext;
  private readonly n: DuplicateNeighbours;
  /** Dials waiting for a connection to a peer name to become ready (the peer kept another connection). */
  private readonly readyWaiters = new Map<string, Set<(peer: Peer | undefined) => void>>();
  /** Ready peers the remote closed as superseded before their replacement completed here, by name. */
  private readonly awaitingReplacement = new Map<string, { peer: Peer; info: CloseInfo; timer: TimerHandle }>();

  constructor(ctx: NodeContext, neighbours: DuplicateNeighbours) {
    this.ctx = ctx;
    this.n = neighbours;
  }

  /** Of `existing` (ready) and `candidate` (completing its handshake) to the same node, whether to keep `existing`. */
  keepsExisting(existing: Peer, candidate: Peer, remoteName: string): boolean {
    return keepsExisting(this.ctx.name, existing, candidate, remoteName);
  }

  /** Closes a redundant connection quietly: no failure, no loss, no warning. */
  dropSuperseded(peer: Peer): void {
    this.n.gate.settle(peer);
    peer.markSuperseded();
    this.ctx.logger.debug(
      { remote: remoteOf(peer.connection), direction: peer.direction },
      'redundant connection closed: one connection per pair is kept',
    );
    const reason = new ConnectionSupersededError();
    // A ready connection may carry frames the remote sent before it learned of the replacement:
    // they are delivered (the handlers answer through the kept connection), not discarded.
    peer.close(reason.message, reason.code, { deliverUntilPeerCloses: peer.state === 'ready' }).catch(() => {});
  }

  /**
   * Before a connection becomes the ready peer `name`: retires the ready connection it replaces
   * (closed now with `closeReplaced`, else by the remote side, which dialed the new one, and by this
   * side after one handshake timeout at the latest), or takes over a connection the remote closed as
   * superseded. Returns the predecessor, if any: the new connection then continues it.
   */
  replace(name: string, replaced: Peer | undefined, closeReplaced: boolean): Peer | undefined {
    if (replaced !== undefined) {
      replaced.markSuperseded();
      this.n.peers.unregister(replaced);
      if (closeReplaced) this.dropSuperseded(replaced);
      else {
        // Normally closed by the remote within one round trip; never left open for good.
        this.ctx.clock.setTimeout(
          () => {
            if (!replaced.closed) this.dropSuperseded(replaced);
          },
          timerDelay(this.ctx.config.connection.handshakeTimeoutMs),
          true,
        );
      }
      return replaced;
    }
    const awaiting = this.awaitingReplacement.get(name);
    if (awaiting === undefined) return undefined;
    this.ctx.clock.clearTimeout(awaiting.timer);
    this.awaitingReplacement.delete(name);
    return awaiting.peer;
  }

  /** `peer` just became ready: dials waiting for a connection to its name resolve with it. */
  onReady(peer: Peer): void {
    const waiters = this.readyWaiters.get(peer.name);
    if (waiters !== undefined) for (const waiter of [...waiters]) waiter(peer);
  }

  /**
   * A dial the listener answered with "superseded": the peer keeps another connection to this node.
   * The dial resolves with that connection once it is ready here, or fails after one handshake timeout.
   */
  adoptSurvivor(peer: Peer, name: string, done: HandshakeSettle | undefined): void {
    this.dropSuperseded(peer);
    const ready = this.n.peers.get(name);
    if (ready !== undefined) {
      done?.(undefined, ready);
      return;
    }
    const timeoutMs = this.ctx.config.connection.handshakeTimeoutMs;
    let waiters = this.readyWaiters.get(name);
    if (waiters === undefined) this.readyWaiters.set(name, (waiters = new Set()));
    const set = waiters;
    const waiter = (survivor: Peer | undefined): void => {
      this.ctx.clock.clearTimeout(timer);
      set.delete(waiter);
      if (set.size === 0 && this.readyWaiters.get(name) === set) this.readyWaiters.delete(name);
      if (survivor !== undefined) done?.(undefined, survivor);
      else {
        done?.(
          new HandshakeError(`peer "${name}" kept another connection to ${this.ctx.name}, which did not complete within ${timeoutMs} ms`),
        );
      }
    };
    const timer = this.ctx.clock.setTimeout(() => waiter(undefined), timerDelay(timeoutMs), true);
    set.add(waiter);
  }

  /** The ready peer's current connection: a response to a request that came on a superseded one takes its successor. */
  currentConnectionOf(peer: Peer): Peer {
    if (!peer.superseded && !peer.connection.closed) return peer;
    return this.n.peers.get(peer.name) ?? peer;
  }

  /**
   * A ready connection (not superseded here) closed. When the remote closed it as superseded while
   * this node runs, the connection the remote keeps has not completed here yet: wait for it quietly
   * and count the loss only if it does not come. Returns true when the loss is deferred so.
   */
  deferLoss(peer: Peer, info: CloseInfo): boolean {
    const status = this.ctx.status();
    const running = status === 'started' || status === 'starting';
    if (!running || info.initiator !== 'remote' || info.code !== ConnectionSupersededError.code) return false;
    const timer = this.ctx.clock.setTimeout(
      () => {
        if (this.awaitingReplacement.get(peer.name)?.peer !== peer) return;
        this.awaitingReplacement.delete(peer.name);
        this.n.peerGone(peer, { ...info, reason: `${info.reason}; the kept connection did not complete` });
      },
      timerDelay(this.ctx.config.connection.handshakeTimeoutMs),
      true,
    );
    this.awaitingReplacement.set(peer.name, { peer, info, timer });
    return true;
  }

  /** At stop: no replacement is awaited any more. */
  shutdown(): void {
    for (const { timer } of this.awaitingReplacement.values()) this.ctx.clock.clearTimeout(timer);
    this.awaitingReplacement.clear();
  }
}
