import { FrameKind, type TopicsFrame } from '@systemge/protocol';
import type { Application, IncomingMessage, TopicMap } from '../components.js';
import { errorText, type NodeContext } from '../context.js';
import type { SystemgeNode } from '../node-types.js';
import type { PeerTable } from '../peers/peer-table.js';

export type AnyAsyncHandler<T extends TopicMap> = (message: IncomingMessage, node: SystemgeNode<T>) => unknown;
export type AnySyncHandler<T extends TopicMap> = (message: IncomingMessage, node: SystemgeNode<T>) => unknown;

/**
 * The topics this node handles and their handlers: read from the application at creation, changed
 * at runtime, announced to every ready peer when they change. The only writer of the handler maps.
 */
export class TopicHandlers<T extends TopicMap> {
  private readonly ctx: NodeContext;
  private readonly peers: PeerTable;
  readonly async = new Map<string, AnyAsyncHandler<T>>();
  readonly sync = new Map<string, AnySyncHandler<T>>();

  constructor(ctx: NodeContext, peers: PeerTable, application: Application<T>) {
    this.ctx = ctx;
    this.peers = peers;
    // Components are detected by the methods the application has.
    for (const [topic, handler] of Object.entries(application.getAsyncMessageHandlers?.() ?? {})) {
      if (typeof handler === 'function') this.async.set(topic, handler as AnyAsyncHandler<T>);
    }
    for (const [topic, handler] of Object.entries(application.getSyncMessageHandlers?.() ?? {})) {
      if (typeof handler === 'function') this.sync.set(topic, handler as AnySyncHandler<T>);
    }
  }

  topics(): { asyncTopics: string[]; syncTopics: string[] } {
    return { asyncTopics: [...this.async.keys()].sort(), syncTopics: [...this.sync.keys()].sort() };
  }

  addAsync(topic: string, handler: AnyAsyncHandler<T>): void {
    const isNew = !this.async.has(topic);
    this.async.set(topic, handler);
    if (isNew) this.announce(FrameKind.TopicsAdded, [topic], []);
  }

  addSync(topic: string, handler: AnySyncHandler<T>): void {
    const isNew = !this.sync.has(topic);
    this.sync.set(topic, handler);
    if (isNew) this.announce(FrameKind.TopicsAdded, [], [topic]);
  }

  removeAsync(topic: string): boolean {
    if (!this.async.delete(topic)) return false;
    this.announce(FrameKind.TopicsRemoved, [topic], []);
    return true;
  }

  removeSync(topic: string): boolean {
    if (!this.sync.delete(topic)) return false;
    this.announce(FrameKind.TopicsRemoved, [], [topic]);
    return true;
  }

  private announce(kind: TopicsFrame['kind'], asyncTopics: string[], syncTopics: string[]): void {
    for (const peer of this.peers.named()) {
      if (peer.connection.closed) continue;
      try {
        peer.connection.send({ kind, asyncTopics, syncTopics });
      } catch (error) {
        this.ctx.logger.warn({ peer: peer.name, err: errorText(error) }, 'could not announce topics');
      }
    }
  }
}
