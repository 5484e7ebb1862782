import {
  type CloseInfo,
  type Connection,
  type Frame,
  FrameKind,
  type MessageKind,
  messageFrame,
  type Payload,
  type SystemgeError,
} from '@systemge/protocol';
import type { AnyTopics } from '../components.js';
import type { NodeContext } from '../context.js';
import { HandshakeError } from '../errors.js';
import type { Inbound } from '../messaging/inbound.js';
import type { Outbound } from '../messaging/outbound.js';
import type { Liveness } from '../peers/liveness.js';
import { Peer } from '../peers/peer.js';
import type { PeerTable } from '../peers/peer-table.js';
import type { Dialer } from './dialer.js';
import type { DuplicateResolution } from './duplicate-resolution.js';
import { refusalError } from './handshake.js';
import type { HandshakeSettle, Handshaker } from './handshaker.js';
import type { InboundGate } from './inbound-gate.js';

/** What the connection wiring needs from its neighbours. */
export interface ConnectionsNeighbours {
  peers: PeerTable;
  gate: InboundGate;
  handshaker: Handshaker;
  inbound: Pick<Inbound<AnyTopics>, 'onMessage' | 'onMessageFields' | 'forget' | 'sendFailure'>;
  outbound: Pick<Outbound, 'onResponse' | 'onResponseFields' | 'onDrain' | 'requests'>;
  liveness: Pick<Liveness, 'onHeartbeat'>;
  dialer: Pick<Dialer, 'onPeerLost'>;
  duplicates: Pick<DuplicateResolution, 'deferLoss'>;
}

/**
 * Wires each connection to the node: accepts sockets the gate let through, routes every frame by
 * the peer's state (handshaking → handshake; ready → inbound, responses, heartbeats, topics),
 * reports codec errors, and runs the ready/handshaking → closed transition when a connection ends.
 */
export class Connections {
  private readonly ctx: NodeContext;
  private readonly n: ConnectionsNeighbours;

  constructor(ctx: NodeContext, neighbours: ConnectionsNeighbours) {
    this.ctx = ctx;
    this.n = neighbours;
  }

  /** The listener accepted a socket (it passed `gate.check`). */
  onIncoming(connection: Connection): void {
    const status = this.ctx.status();
    if (status === 'stopping' || status === 'stopped') {
      connection.close('node is stopping', 'SYSTEMGE_ERR_NODE_STOPPED').catch(() => {});
      return;
    }
    this.ctx.counters.connectionsAccepted++;
    const peer = new Peer(connection, 'in', undefined, this.ctx.clock.now());
    this.n.gate.addPending(peer);
    this.attach(peer);
    this.n.handshaker.accept(peer);
  }

  /** Wires a connection's callbacks to this node. */
  attach(peer: Peer, onHandshake?: HandshakeSettle): void {
    this.n.peers.add(peer);
    peer.connection.setHandlers({
      onFrame: (frame) => this.onFrame(peer, frame, onHandshake),
      onMessage: (kind, topic, payload, syncToken, payloadBytes) =>
        this.onMessage(peer, kind, topic, payload, syncToken, payloadBytes, onHandshake),
      knownToken: (buf, start, end) => this.n.outbound.requests.knownToken(buf, start, end),
      onError: (error) => this.onConnectionError(peer, error),
      onDrain: () => this.n.outbound.onDrain(),
      onClose: (info) => {
        this.onClosed(peer, info);
        // No-op once the handshake has settled; a superseded dial is settled by whoever superseded it.
        if (!peer.superseded) onHandshake?.(refusalError(info));
      },
    });
  }

  private onConnectionError(peer: Peer, error: SystemgeError): void {
    const fatal = (error as { fatal?: boolean }).fatal === true;
    if (fatal && peer.state === 'handshaking' && peer.direction === 'in') {
      // A handshake too large or malformed: a counted, logged refusal; the socket goes at once.
      this.n.gate.drop(peer, error.message, error.code);
      this.ctx.emit('warning', error);
      return;
    }
    if (!fatal && 'frameKind' in error) {
      this.ctx.counters.invalidMessages++;
      const e = error as SystemgeError & { frameKind?: number; syncToken?: string; topic?: string };
      this.ctx.logger.warn({ peer: peer.name, code: error.code }, error.message);
      // A rejected sync request still gets an answer, so the caller is not left waiting.
      if (e.frameKind === FrameKind.SyncRequest && e.syncToken !== undefined && peer.state === 'ready') {
        this.n.inbound.sendFailure(peer, e.topic ?? '?', e.syncToken, error.message);
      }
      return;
    }
    this.ctx.logger.warn({ peer: peer.name, code: error.code }, error.message);
    this.ctx.emit('warning', error);
  }

  /** A message frame as fields (connections that support it): a ready peer's goes on without a frame object. */
  private onMessage(
    peer: Peer,
    kind: MessageKind,
    topic: string,
    payload: Payload,
    syncToken: string | undefined,
    payloadBytes: number | undefined,
    onHandshake: HandshakeSettle | undefined,
  ): void {
    if (peer.state !== 'ready') {
      this.onFrame(peer, messageFrame(kind, topic, payload, syncToken, payloadBytes), onHandshake);
      return;
    }
    if (kind === FrameKind.SyncResponse || kind === FrameKind.SyncFailure) {
      this.n.outbound.onResponseFields(peer, kind, topic, payload, syncToken);
    } else {
      this.n.inbound.onMessageFields(peer, kind, topic, payload, syncToken, payloadBytes);
    }
  }

  private onFrame(peer: Peer, frame: Frame, onHandshake: HandshakeSettle | undefined): void {
    if (peer.state === 'ready') {
      switch (frame.kind) {
        case FrameKind.AsyncMessage:
        case FrameKind.SyncRequest:
          this.n.inbound.onMessage(peer, frame);
          return;
        case FrameKind.SyncResponse:
        case FrameKind.SyncFailure:
          this.n.outbound.onResponse(peer, frame);
          return;
        case FrameKind.Heartbeat:
          this.n.liveness.onHeartbeat(peer, frame);
          return;
        case FrameKind.HeartbeatAck:
          return;
        case FrameKind.TopicsAdded:
        case FrameKind.TopicsRemoved:
          this.n.peers.applyTopics(peer, frame);
          return;
        default:
          this.protocolViolation(
            peer,
            `unexpected ${frame.kind === FrameKind.Handshake ? 'handshake' : 'handshake ack'} after the handshake`,
          );
          return;
      }
    }
    if (peer.state !== 'handshaking') return;
    if (peer.direction === 'in' && frame.kind === FrameKind.Handshake) {
      this.n.handshaker.onHello(peer, frame);
      return;
    }
    if (peer.direction === 'out' && frame.kind === FrameKind.HandshakeAck) {
      this.n.handshaker.onAck(peer, frame, onHandshake);
      return;
    }
    this.protocolViolation(peer, `expected a ${peer.direction === 'in' ? 'handshake' : 'handshake ack'}, got frame kind ${frame.kind}`);
  }

  private protocolViolation(peer: Peer, message: string): void {
    const error = new HandshakeError(message);
    if (peer.state === 'handshaking') this.ctx.counters.handshakeFailures++;
    this.ctx.logger.warn({ peer: peer.name }, message);
    peer.close(message, error.code).catch(() => {});
  }

  private onClosed(peer: Peer, info: CloseInfo): void {
    const counters = this.ctx.counters;
    this.n.gate.settle(peer);
    const wasReady = peer.markClosed();
    this.n.peers.remove(peer);
    counters.closedBytesIn += peer.connection.bytesIn;
    counters.closedBytesOut += peer.connection.bytesOut;
    const dropped = this.n.inbound.forget(peer);
    if (dropped > 0) this.ctx.logger.warn({ peer: peer.name, dropped }, 'peer closed with messages still queued');
    if (!wasReady) return;
    this.n.peers.unregister(peer);
    // Replaced by another connection to the same node: nothing was lost.
    if (peer.superseded) return;
    if (this.n.duplicates.deferLoss(peer, info)) return;
    this.peerGone(peer, info);
  }

  /** A ready peer is gone for good: fail its requests, report it, and redial or stop as configured. */
  peerGone(peer: Peer, info: CloseInfo): void {
    const counters = this.ctx.counters;
    this.n.outbound.requests.peerLost(peer.name, info.reason);
    const lost = !peer.closingLocally;
    if (lost) counters.connectionsLost++;
    this.ctx.logger.info({ peer: peer.name, code: info.code, reason: info.reason, initiator: info.initiator }, 'peer disconnected');
    this.ctx.emit('peer:disconnected', peer.describe(), { code: info.code, reason: info.reason, initiator: info.initiator });
    this.n.outbound.onDrain();
    if (lost) this.n.dialer.onPeerLost(peer, info);
  }
}
