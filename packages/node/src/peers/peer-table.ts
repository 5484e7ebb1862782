import { FrameKind, type TopicsFrame } from '@systemge/protocol';
import { NoRouteError, PeerNotConnectedError } from '../errors.js';
import type { PeerInfo } from '../node-types.js';
import type { Peer } from './peer.js';

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

/**
 * Every connection of a node (handshaking or ready), the ready ones by name, and the topic routes.
 * The only writer of `peersByName`, the routes and a peer's topic sets.
 */
export class PeerTable {
  private readonly all = new Set<Peer>();
  private readonly byName = new Map<string, Peer>();
  readonly asyncRoutes = new RoutingTable();
  readonly syncRoutes = new RoutingTable();

  /** Connections, handshaking ones included. */
  get size(): number {
    return this.all.size;
  }

  /** Ready peers (with a name). */
  get namedCount(): number {
    return this.byName.size;
  }

  /** Every connection, handshaking ones included. */
  connections(): IterableIterator<Peer> {
    return this.all.values();
  }

  /** Ready peers, in the order they became ready. */
  named(): IterableIterator<Peer> {
    return this.byName.values();
  }

  get(name: string): Peer | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** A new connection, from its accept or dial on. */
  add(peer: Peer): void {
    this.all.add(peer);
  }

  /** A peer that became ready: known by name, routed to for what it announced. */
  register(peer: Peer, asyncTopics: readonly string[], syncTopics: readonly string[]): void {
    this.byName.set(peer.name, peer);
    for (const t of asyncTopics) {
      peer.asyncTopics.add(t);
      this.asyncRoutes.add(t, peer);
    }
    for (const t of syncTopics) {
      peer.syncTopics.add(t);
      this.syncRoutes.add(t, peer);
    }
  }

  /** A peer's TopicsAdded / TopicsRemoved announcement. */
  applyTopics(peer: Peer, frame: TopicsFrame): void {
    const add = frame.kind === FrameKind.TopicsAdded;
    for (const t of frame.asyncTopics) {
      if (add) {
        peer.asyncTopics.add(t);
        this.asyncRoutes.add(t, peer);
      } else {
        peer.asyncTopics.delete(t);
        this.asyncRoutes.remove(t, peer);
      }
    }
    for (const t of frame.syncTopics) {
      if (add) {
        peer.syncTopics.add(t);
        this.syncRoutes.add(t, peer);
      } else {
        peer.syncTopics.delete(t);
        this.syncRoutes.remove(t, peer);
      }
    }
  }

  /** A closed connection leaves the table. */
  remove(peer: Peer): void {
    this.all.delete(peer);
  }

  /** A closed peer that had been ready: no longer known by name nor routed to. */
  unregister(peer: Peer): void {
    if (this.byName.get(peer.name) === peer) this.byName.delete(peer.name);
    for (const t of peer.asyncTopics) this.asyncRoutes.remove(t, peer);
    for (const t of peer.syncTopics) this.syncRoutes.remove(t, peer);
  }

  /** The peers named in `to`; throws when one is not connected or does not handle `topic`. */
  namedTargets(to: string | readonly string[], topic: string, kind: 'async' | 'sync'): Peer[] {
    const names = typeof to === 'string' ? [to] : to;
    const out: Peer[] = [];
    for (const name of names) {
      const peer = this.byName.get(name);
      if (peer === undefined) throw new PeerNotConnectedError(name);
      const handles = kind === 'async' ? peer.asyncTopics.has(topic) : peer.syncTopics.has(topic);
      if (!handles) throw new NoRouteError(topic, `peer "${name}" does not handle topic "${topic}"`);
      out.push(peer);
    }
    return out;
  }

  /** False while any ready peer's connection is over its high-water mark. */
  get writable(): boolean {
    for (const peer of this.byName.values()) if (!peer.connection.writable) return false;
    return true;
  }

  describe(): PeerInfo[] {
    return [...this.byName.values()].map((p) => p.describe());
  }
}
