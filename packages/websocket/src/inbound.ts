import type { AnyTopics, Logger, SystemgeNode, TopicMap } from '@systemge/node';
import type { RawData } from 'ws';
import type { Counters } from './counters.js';
import type { ResolvedOptions } from './options.js';
import type { Outbound } from './outbound.js';
import type { ClientState, WebSocketClient } from './websocket-client.js';
import { decodeBinary, decodeText, OutgoingMessage, type WebSocketMessage } from './wire-codec.js';

/**
 * Handles one message from a client. A value other than `undefined` (or a promise of one) is sent back
 * to that client on the same topic; a throw or rejection is sent back as `{ topic: 'error', payload: message }`.
 */
export type WebSocketMessageHandler<T extends TopicMap = AnyTopics> = (
  client: WebSocketClient,
  message: WebSocketMessage,
  node: SystemgeNode<T>,
) => unknown;

export type WebSocketMessageHandlers<T extends TopicMap = AnyTopics> = Record<string, WebSocketMessageHandler<T>>;

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** What inbound handling reads from the component at each message. */
export interface InboundHost<T extends TopicMap> {
  readonly name: string;
  readonly logger: Logger | undefined;
  readonly node: SystemgeNode<T> | undefined;
  /** Only the own properties of the application's handler object: a topic never reaches `Object.prototype`. */
  readonly handlers: ReadonlyMap<string, WebSocketMessageHandler<T>>;
}

/** Messages from clients: size and rate limits, decoding, handler dispatch and replies. */
export class Inbound<T extends TopicMap> {
  constructor(
    private readonly host: InboundHost<T>,
    private readonly options: ResolvedOptions,
    private readonly counters: Counters,
    private readonly outbound: Outbound,
  ) {}

  receive(client: ClientState, raw: RawData, isBinary: boolean): void {
    if (client.closed) return;
    const data = raw as Buffer;
    const o = this.options;
    const now = Date.now();
    client.alive = true;
    this.counters.messagesIn++;
    this.counters.bytesIn += data.length;
    if (data.length > o.maxMessageBytes) {
      // Only reachable when another component registered the shared ws server with a larger maxPayload.
      this.counters.oversizeMessages++;
      client.close(1009, `message over maxMessageBytes (${o.maxMessageBytes})`);
      return;
    }
    if (client.messages?.take(1, now) === false || client.bytes?.take(data.length, now) === false) {
      this.counters.rateLimited++;
      const what = `rate limit exceeded (${o.messagesPerSecond} messages/s, ${o.bytesPerSecond} bytes/s)`;
      if (o.onRateLimit === 'close') {
        this.host.logger?.debug({ plugin: this.host.name, client: client.id }, 'WebSocket client closed: rate limit');
        client.close(1008, what);
      } else this.outbound.sendError(client, what);
      return;
    }
    if (isBinary && !o.binary) {
      this.counters.invalidMessages++;
      this.outbound.sendError(client, 'invalid message: binary frames are not enabled');
      return;
    }
    client.format = isBinary ? 'msgpack' : 'json';
    const decoded = isBinary ? decodeBinary(data) : decodeText(data);
    if (!decoded.ok) {
      this.counters.invalidMessages++;
      this.outbound.sendError(client, decoded.error);
      return;
    }
    this.dispatch(client, decoded.message);
  }

  private dispatch(client: ClientState, message: WebSocketMessage): void {
    const handler = this.host.handlers.get(message.topic);
    if (handler === undefined) {
      this.counters.unknownTopics++;
      this.outbound.sendError(client, `unknown topic ${JSON.stringify(message.topic)}`);
      return;
    }
    let result: unknown;
    try {
      result = handler(client, message, this.host.node as SystemgeNode<T>);
    } catch (error) {
      this.handlerFailed(client, message.topic, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.reply(client, message.topic, value),
        (error: unknown) => this.handlerFailed(client, message.topic, error),
      );
    } else this.reply(client, message.topic, result);
  }

  private reply(client: ClientState, topic: string, value: unknown): void {
    if (value === undefined || client.closed) return;
    try {
      this.outbound.deliver(client, new OutgoingMessage(topic, value));
    } catch (error) {
      this.handlerFailed(client, topic, error);
    }
  }

  private handlerFailed(client: ClientState, topic: string, error: unknown): void {
    this.counters.handlerErrors++;
    this.host.logger?.debug({ plugin: this.host.name, client: client.id, topic, err: error }, 'WebSocket handler failed');
    this.outbound.sendError(client, errorText(error));
  }
}
