import { FrameKind, type TopicsFrame } from '@systemge/protocol';
import type { Application, IncomingMessage, TopicMap } from '../components.js';
import { errorText, type NodeContext } from '../context.js';
import { ConfigError, InvalidTopicError } from '../errors.js';
import type { SystemgeNode } from '../node-types.js';
import type { PeerTable } from '../peers/peer-table.js';

export type AnyAsyncHandler<T extends TopicMap> = (message: IncomingMessage, node: SystemgeNode<T>) => unknown;
export type AnySyncHandler<T extends TopicMap> = (message: IncomingMessage, node: SystemgeNode<T>) => unknown;

/** A lone UTF-16 surrogate: such a string has no UTF-8 form, so a peer would receive another topic. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Room a handshake takes besides its topics and name (header, version, auth token, info), bytes; generous. */
const HANDSHAKE_OVERHEAD_BYTES = 4096;

/** Bytes one topic takes in a handshake's topic list (msgpack string header included). */
function announcedSize(topic: string): number {
  return Buffer.byteLength(topic, 'utf8') + 5;
}

/**
 * The topics this node handles and their handlers: read from the application at creation, changed
 * at runtime, announced to every ready peer when they change. The only writer of the handler maps.
 * A topic peers would refuse (it would break every handshake) is refused when added.
 */
export class TopicHandlers<T extends TopicMap> {
  private readonly ctx: NodeContext;
  private readonly peers: PeerTable;
  readonly async = new Map<string, AnyAsyncHandler<T>>();
  readonly sync = new Map<string, AnySyncHandler<T>>();
  /** Bytes the topic lists take in a handshake (see checkTopic). */
  private topicListBytes = 0;

  constructor(ctx: NodeContext, peers: PeerTable, application: Application<T>) {
    this.ctx = ctx;
    this.peers = peers;
    // Components are detected by the methods the application has.
    // A topic the peers' decoders must refuse would break every handshake: refuse it here instead.
    for (const [topic, handler] of Object.entries(application.getAsyncMessageHandlers?.() ?? {})) {
      if (typeof handler !== 'function') continue;
      this.checkHandlerMapTopic(topic, 'getAsyncMessageHandlers', this.async);
      this.async.set(topic, handler as AnyAsyncHandler<T>);
    }
    for (const [topic, handler] of Object.entries(application.getSyncMessageHandlers?.() ?? {})) {
      if (typeof handler !== 'function') continue;
      this.checkHandlerMapTopic(topic, 'getSyncMessageHandlers', this.sync);
      this.sync.set(topic, handler as AnySyncHandler<T>);
    }
  }

  topics(): { asyncTopics: string[]; syncTopics: string[] } {
    return { asyncTopics: [...this.async.keys()].sort(), syncTopics: [...this.sync.keys()].sort() };
  }

  addAsync(topic: string, handler: AnyAsyncHandler<T>): void {
    const isNew = !this.async.has(topic);
    if (isNew) this.checkTopic(topic);
    this.async.set(topic, handler);
    if (isNew) {
      this.topicListBytes += announcedSize(topic);
      this.announce(FrameKind.TopicsAdded, [topic], []);
    }
  }

  addSync(topic: string, handler: AnySyncHandler<T>): void {
    const isNew = !this.sync.has(topic);
    if (isNew) this.checkTopic(topic);
    this.sync.set(topic, handler);
    if (isNew) {
      this.topicListBytes += announcedSize(topic);
      this.announce(FrameKind.TopicsAdded, [], [topic]);
    }
  }

  removeAsync(topic: string): boolean {
    if (!this.async.delete(topic)) return false;
    this.topicListBytes -= announcedSize(topic);
    this.announce(FrameKind.TopicsRemoved, [topic], []);
    return true;
  }

  removeSync(topic: string): boolean {
    if (!this.sync.delete(topic)) return false;
    this.topicListBytes -= announcedSize(topic);
    this.announce(FrameKind.TopicsRemoved, [], [topic]);
    return true;
  }

  /**
   * Throws InvalidTopicError for a topic peers would refuse in a handshake or topic update: not a
   * string, empty, not well-formed Unicode, over `limits.maxTopicBytes`, or one too many for the
   * handshake listing every topic to fit in `limits.maxFrameBytes`.
   */
  private checkTopic(topic: unknown): void {
    const { maxTopicBytes, maxFrameBytes, maxNodeNameBytes } = this.ctx.config.limits;
    if (typeof topic !== 'string') {
      throw new InvalidTopicError(String(topic), 0, maxTopicBytes, `a topic must be a string, got ${typeof topic}`);
    }
    if (topic.length === 0) throw new InvalidTopicError(topic, 0, maxTopicBytes, 'a topic must not be empty');
    const bytes = Buffer.byteLength(topic, 'utf8');
    if (LONE_SURROGATE.test(topic)) {
      throw new InvalidTopicError(topic, bytes, maxTopicBytes, 'a topic must be well-formed Unicode (it has a lone surrogate)');
    }
    if (bytes > maxTopicBytes) {
      throw new InvalidTopicError(topic, bytes, maxTopicBytes, `${bytes} bytes (UTF-8) exceeds limits.maxTopicBytes ${maxTopicBytes}`);
    }
    const total = this.topicListBytes + announcedSize(topic) + HANDSHAKE_OVERHEAD_BYTES + maxNodeNameBytes;
    if (total > maxFrameBytes) {
      throw new InvalidTopicError(
        topic,
        bytes,
        maxTopicBytes,
        `the handshake listing every topic would take about ${total} bytes, above limits.maxFrameBytes ${maxFrameBytes}`,
      );
    }
  }

  /** checkTopic for a handler map read at creation: a config error naming the map, with the topic error as cause. */
  private checkHandlerMapTopic(topic: string, method: string, handlers: Map<string, unknown>): void {
    if (handlers.has(topic)) return;
    try {
      this.checkTopic(topic);
    } catch (error) {
      throw new ConfigError(`application.${method}()`, (error as Error).message, { cause: error });
    }
    this.topicListBytes += announcedSize(topic);
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
