import { FrameKind, type MessageFrame, type MessageKind, messageFrame, type Payload, payloadByteLength } from '@systemge/protocol';
import type { IncomingMessage, TopicMap } from '../components.js';
import { errorText, type NodeContext } from '../context.js';
import { NoHandlerError } from '../errors.js';
import type { SystemgeNode } from '../node-types.js';
import { timerDelay } from '../timers.js';
import type { Peer } from '../peers/peer.js';
import { Dispatcher } from './dispatcher.js';
import { sendFields } from './send-fields.js';
import { acceptsPayload, encodingUnsupported } from './payload-encodings.js';
import type { TopicHandlers } from './handlers.js';
import type { ConnectionRateLimiter } from './rate-limits.js';

const SUCCESS_PAYLOAD_TYPES = 'a value msgpack can encode (not a function or a symbol)';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** What the inbound path needs from its neighbours. */
export interface InboundNeighbours<T extends TopicMap> {
  handlers: TopicHandlers<T>;
  /** The node handlers receive as their second argument. */
  node: SystemgeNode<T>;
  /** The peer's current connection (a request that came on a superseded connection is answered on its successor). */
  currentConnectionOf(peer: Peer): Peer;
}

/**
 * Incoming messages of ready peers: admission (per-peer rate limits) → dispatcher (handling mode,
 * bounded queues) → handler → response. Every sync request it accepts gets exactly one answer
 * (response or failure) while the connection is open.
 */
export class Inbound<T extends TopicMap> {
  private readonly ctx: NodeContext;
  private readonly n: InboundNeighbours<T>;
  readonly dispatcher: Dispatcher<Peer>;

  constructor(ctx: NodeContext, neighbours: InboundNeighbours<T>) {
    this.ctx = ctx;
    this.n = neighbours;
    const { mode, queueSize, concurrency } = ctx.config.handling;
    this.dispatcher = new Dispatcher<Peer>(mode, queueSize, concurrency, (peer, frame) => this.handle(peer, frame));
  }

  /** An async message or sync request from a ready peer. */
  onMessage(peer: Peer, frame: MessageFrame): void {
    if (peer.limiter !== undefined && !this.admit(peer, peer.limiter, frame)) return;
    this.dispatcher.dispatch(peer, frame);
  }

  /**
   * `onMessage` from the frame's fields. When the message can run at once (no rate limit to apply,
   * concurrent handling) its handler runs without a frame object; otherwise the frame is built.
   */
  onMessageFields(
    peer: Peer,
    kind: MessageKind,
    topic: string,
    payload: Payload,
    syncToken: string | undefined,
    payloadBytes: number | undefined,
  ): void {
    const dispatcher = this.dispatcher;
    if (peer.limiter === undefined && dispatcher.immediate) {
      dispatcher.starting();
      dispatcher.ran(peer, this.handleFields(peer, kind, topic, payload, syncToken));
      return;
    }
    this.onMessage(peer, messageFrame(kind, topic, payload, syncToken, payloadBytes));
  }

  /** A closed peer: drops what it still had queued. Returns how many. */
  forget(peer: Peer): number {
    return this.dispatcher.forget(peer);
  }

  /** Applies the peer's incoming rate limits. False when the message was delayed or dropped. */
  private admit(peer: Peer, limiter: ConnectionRateLimiter, frame: MessageFrame): boolean {
    const size = payloadByteLength(frame);
    const waitMs = limiter.admit(size);
    if (waitMs === 0) return true;
    const counters = this.ctx.counters;
    counters.rateLimited++;
    if (limiter.mode === 'drop') {
      counters.rateLimitDrops++;
      this.ctx.logger.warn({ peer: peer.name, topic: frame.topic }, 'message over the rate limit dropped');
      if (frame.kind === FrameKind.SyncRequest) {
        this.sendFailure(peer, frame.topic, frame.syncToken as string, `rate limit of ${peer.name} exceeded on ${this.ctx.name}`);
      }
      return false;
    }
    // Backpressure: stop reading until the tokens are there, then deliver this message first.
    peer.pauseReading();
    this.ctx.clock.setTimeout(() => {
      if (peer.state === 'ready') {
        limiter.messages?.force(1);
        limiter.bytes?.force(size);
        this.dispatcher.dispatch(peer, frame);
      }
      peer.resumeReading();
    }, timerDelay(waitMs));
    return false;
  }

  /** Runs the handler of one incoming message (called by the dispatcher). Never throws. */
  private handle(peer: Peer, frame: MessageFrame): void | Promise<void> {
    return this.handleFields(peer, frame.kind, frame.topic, frame.payload, frame.syncToken);
  }

  private handleFields(
    peer: Peer,
    kind: MessageKind,
    topic: string,
    payload: Payload,
    syncToken: string | undefined,
  ): void | Promise<void> {
    const counters = this.ctx.counters;
    const message: IncomingMessage = { topic, payload, origin: peer.name, syncToken };
    counters.topic(topic).received++;
    if (kind === FrameKind.AsyncMessage) {
      counters.asyncReceived++;
      const handler = this.n.handlers.async.get(topic);
      if (handler === undefined) {
        counters.noHandlerMessages++;
        this.ctx.logger.warn({ peer: peer.name, topic: topic }, new NoHandlerError(topic).message);
        return;
      }
      try {
        const result = handler(message, this.n.node);
        if (isThenable(result)) return this.reportLater(topic, result);
      } catch (error) {
        this.onHandlerError(topic, error);
      }
      return;
    }
    counters.syncRequestsReceived++;
    const token = syncToken as string;
    const handler = this.n.handlers.sync.get(topic);
    if (handler === undefined) {
      counters.noHandlerMessages++;
      this.sendFailure(peer, topic, token, new NoHandlerError(topic).message);
      return;
    }
    let result: unknown;
    try {
      result = handler(message, this.n.node);
    } catch (error) {
      this.onHandlerError(topic, error);
      this.sendFailure(peer, topic, token, errorText(error));
      return;
    }
    if (isThenable(result)) return this.answerLater(peer, topic, token, result);
    this.sendResponse(peer, topic, token, result);
  }

  // The closures for a handler's promise live in functions of their own: a closure over handleFields'
  // locals would make every call allocate a context for them, promise or not.

  /** An async handler's promise: its rejection is reported. */
  private reportLater(topic: string, result: PromiseLike<unknown>): Promise<void> {
    return Promise.resolve(result).then(undefined, (error: unknown) => this.onHandlerError(topic, error));
  }

  /** A sync handler's promise: its value is the response, its rejection a failure. */
  private answerLater(peer: Peer, topic: string, token: string, result: PromiseLike<unknown>): Promise<void> {
    return Promise.resolve(result).then(
      (value) => this.sendResponse(peer, topic, token, value),
      (error: unknown) => {
        this.onHandlerError(topic, error);
        this.sendFailure(peer, topic, token, errorText(error));
      },
    );
  }

  private onHandlerError(topic: string, error: unknown): void {
    this.ctx.counters.handlerErrors++;
    this.ctx.logger.error({ topic, err: error }, 'handler failed');
  }

  private sendResponse(from: Peer, topic: string, token: string, payload: unknown): void {
    if (typeof payload === 'function' || typeof payload === 'symbol') {
      this.ctx.counters.handlerErrors++;
      this.sendFailure(from, topic, token, `handler for ${topic} returned ${typeof payload}, expected ${SUCCESS_PAYLOAD_TYPES}`);
      return;
    }
    const peer = this.n.currentConnectionOf(from);
    if (peer.connection.closed) return;
    if (!acceptsPayload(peer, payload)) {
      // A requester that predates structured payloads would close the connection on this answer.
      const error = encodingUnsupported(topic, [peer]);
      this.ctx.counters.encodingRefusals++;
      this.ctx.logger.debug({ peer: peer.name, topic, code: error.code }, `${error.message}; answered with a failure`);
      this.sendFailure(peer, topic, token, error.message);
      return;
    }
    try {
      sendFields(peer.connection, FrameKind.SyncResponse, topic, payload, token);
      this.ctx.counters.syncResponsesSent++;
    } catch (error) {
      // A response over the limits still owes the requester an answer.
      this.sendFailure(peer, topic, token, errorText(error));
    }
  }

  /** Answers a sync request with a failure (text capped at 4096 characters). */
  sendFailure(from: Peer, topic: string, token: string, text: string): void {
    const peer = this.n.currentConnectionOf(from);
    if (peer.connection.closed) return;
    try {
      sendFields(peer.connection, FrameKind.SyncFailure, topic, text.slice(0, 4096), token);
      this.ctx.counters.syncFailuresSent++;
    } catch (error) {
      this.ctx.logger.error({ peer: peer.name, err: error }, 'could not send failure response');
    }
  }
}
