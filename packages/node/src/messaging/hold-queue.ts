import { FrameKind, type Payload } from '@systemge/protocol';
import type { EndpointConfig } from '../config.js';
import { endpointKey } from '../connect/backoff.js';
import type { NodeContext } from '../context.js';
import { NoRouteError, PeerReconnectingError, QueuedMessagesDiscardedError, ReconnectQueueFullError } from '../errors.js';
import type { Peer } from '../peers/peer.js';
import { acceptsPayload } from './payload-encodings.js';

/** What is held for one endpoint while its lost peer is redialed. Written only by `HoldQueue`. */
export interface HoldSlot {
  /** Name of the lost peer while reconnecting (messages `to` it are held or rejected). */
  lostName: string | undefined;
  lostAsyncTopics: ReadonlySet<string>;
  /** Async messages held for the lost peer (`whileReconnecting: 'queue'`), bounded by `reconnectQueueSize`. */
  held: { topic: string; payload: Payload }[];
}

/** An endpoint as the hold queue sees it. */
export interface HoldOwner {
  readonly endpoint: EndpointConfig;
  readonly hold: HoldSlot;
}

export function emptyHoldSlot(): HoldSlot {
  return { lostName: undefined, lostAsyncTopics: new Set(), held: [] };
}

/**
 * The reconnect hold: async messages addressed by name to a lost outgoing peer wait here
 * (`connection.whileReconnecting: 'queue'`) until the redial's handshake, or are refused
 * (`'reject'`). Never sends anything except in `flush`, before any other frame to the new peer.
 */
export class HoldQueue<O extends HoldOwner = HoldOwner> {
  private readonly ctx: NodeContext;
  /** Lost outgoing peers being redialed, by the name they had. */
  private readonly byName = new Map<string, O>();

  constructor(ctx: NodeContext) {
    this.ctx = ctx;
  }

  /** How many lost peers are being redialed. */
  get size(): number {
    return this.byName.size;
  }

  /** The endpoint redialing the lost peer `name`, if any. */
  lookup(name: string): O | undefined {
    return this.byName.get(name);
  }

  /** True while messages for the owner's lost peer are held (or refused). */
  isHolding(owner: HoldOwner): boolean {
    return owner.hold.lostName !== undefined;
  }

  /** Remembers a lost peer's name so messages addressed to it are held or rejected while it is redialed. */
  markReconnecting(owner: O, lost: Peer): void {
    owner.hold.lostName = lost.name;
    owner.hold.lostAsyncTopics = new Set(lost.asyncTopics);
    this.byName.set(lost.name, owner);
  }

  /** The endpoint is no longer being redialed: forget the lost name, discard (and report) what is held. */
  endReconnecting(owner: HoldOwner, reason: string): void {
    const slot = owner.hold;
    const name = slot.lostName;
    if (name === undefined) return;
    if (this.byName.get(name) === owner) this.byName.delete(name);
    slot.lostName = undefined;
    const count = slot.held.length;
    slot.held = [];
    this.reportDiscarded(name, count, reason);
  }

  /** Checks that a message `to` a reconnecting peer may be held; throws the typed refusal otherwise. */
  check(owner: O, name: string, topic: string): O {
    const { whileReconnecting, reconnectQueueSize } = this.ctx.config.connection;
    if (whileReconnecting === 'reject') {
      this.ctx.counters.reconnectRejections++;
      throw new PeerReconnectingError(name, endpointKey(owner.endpoint));
    }
    if (!owner.hold.lostAsyncTopics.has(topic)) throw new NoRouteError(topic, `peer "${name}" does not handle topic "${topic}"`);
    if (owner.hold.held.length >= reconnectQueueSize) {
      this.ctx.counters.reconnectQueueOverflows++;
      throw new ReconnectQueueFullError(name, reconnectQueueSize);
    }
    return owner;
  }

  /** Holds one message for each owner (all already passed `check`). */
  hold(owners: readonly HoldOwner[], topic: string, payload: Payload): void {
    for (const owner of owners) owner.hold.held.push({ topic, payload });
    this.ctx.counters.reconnectQueued += owners.length;
  }

  /** Sends what was held for an endpoint, in order, to the peer that just completed the handshake. */
  flush(owner: HoldOwner, peer: Peer): void {
    const slot = owner.hold;
    const name = slot.lostName ?? peer.name;
    if (this.byName.get(name) === owner) this.byName.delete(name);
    slot.lostName = undefined;
    const held = slot.held;
    if (held.length === 0) return;
    slot.held = [];
    const counters = this.ctx.counters;
    let sent = 0;
    for (let i = 0; i < held.length; i++) {
      const { topic, payload } = held[i] as { topic: string; payload: Payload };
      if (!peer.asyncTopics.has(topic)) continue;
      // The peer that came back may be an older build that cannot read a structured payload.
      if (!acceptsPayload(peer, payload)) {
        this.ctx.counters.encodingRefusals++;
        continue;
      }
      try {
        peer.connection.send({ kind: FrameKind.AsyncMessage, topic, payload, syncToken: undefined });
        sent++;
        counters.asyncSent++;
        counters.topic(topic).sent++;
      } catch {
        // Counted below with the rest that could not be sent.
      }
    }
    this.reportDiscarded(
      name,
      held.length - sent,
      'not sendable after the reconnect (topic no longer handled, payload encoding not accepted, or over a limit)',
    );
  }

  private reportDiscarded(name: string, count: number, reason: string): void {
    if (count === 0) return;
    this.ctx.counters.reconnectQueueDiscarded += count;
    const error = new QueuedMessagesDiscardedError(name, count, reason);
    this.ctx.logger.warn({ peer: name, count }, error.message);
    this.ctx.emit('warning', error);
  }
}
