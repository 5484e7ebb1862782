import { isUtf8 } from 'node:buffer';
import { Unpackr } from 'msgpackr';
import {
  EmptyTopicError,
  FieldTooLargeError,
  FrameTooLargeError,
  InvalidFrameError,
  InvalidUTF8Error,
  type ProtocolError,
  TruncatedFrameError,
  UnknownFrameKindError,
} from './errors.js';
import { FRAME_PREFIX_BYTES, PayloadEncoding } from './frame-encoder.js';
import { unpackPayload } from './payload-codec.js';
import { validateControl } from './control-frame-body.js';
import { type Frame, FrameKind, type MessageFrame, type MessageKind, type Payload } from './frames.js';
import type { ProtocolLimits } from './limits.js';
import { TOPIC_CACHE_BYTES, TopicCache } from './topic-cache.js';

/** The topic strings decoders share (bounded, see TopicCache). */
export const topicCache = new TopicCache();

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

/**
 * A valid message frame (async message, sync request, response or failure) as its fields:
 * `payloadBytes` is the encoded size of a structured payload, undefined for text and bytes.
 */
export type MessageFieldsHandler = (
  kind: MessageKind,
  topic: string,
  payload: Payload,
  syncToken: string | undefined,
  payloadBytes: number | undefined,
) => void;

/**
 * Recognises a response's sync token from its UTF-8 bytes `buf[start, end)` before it is decoded:
 * when they are one of the receiver's own tokens (one of its pending requests), it returns a string
 * that stands for it, which the frame then carries as its token; else undefined, and the token is
 * decoded as usual. The string is the token itself or any value the receiver's own delivery
 * recognises (the node returns a marker no decoded token can equal, and makes no string at all).
 */
export type KnownTokenLookup = (buf: Uint8Array, start: number, end: number) => string | undefined;

/** Receives what a FrameDecoder finds. */
export interface FrameSink {
  /** A complete, valid frame (message frames too, unless `onMessage` is there). */
  onFrame(frame: Frame): void;
  /** When present, message frames come here as fields and no frame object is built for them. */
  onMessage?: MessageFieldsHandler | undefined;
  /**
   * When present, asked about the sync token of each response and failure before it is decoded: a
   * string returned is used as the token (see `KnownTokenLookup`), so responses to this side's
   * requests cost no token string.
   */
  knownToken?: KnownTokenLookup | undefined;
  /** A rejected frame (`error.fatal === false`) or a broken stream (`fatal === true`, nothing more is decoded). */
  onError(error: ProtocolError): void;
}

/**
 * Streaming decoder for length-prefixed frames. Any split or coalescing of the input
 * bytes yields the same frames. The declared length is checked against `maxFrameBytes`
 * before any body byte is buffered, so memory per decoder is bounded by that limit.
 * Complete frames inside a chunk are parsed in place; only a frame that straddles
 * chunks is kept as references to the received chunks and joined once, when complete, so
 * memory follows the bytes that arrived rather than the length the prefix announced.
 */
export class FrameDecoder {
  private readonly limits: ProtocolLimits;
  private readonly sink: FrameSink;
  /** The sink takes message frames as fields (`onMessage`). */
  private readonly fields: boolean;
  /** The sink recognises its own tokens (`knownToken`). */
  private readonly knownTokens: boolean;
  private readonly header = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  private headerFilled = 0;
  /** Pieces of a frame that straddles chunks; kept by reference and joined once, when complete. */
  private parts: Buffer[] = [];
  private partialFilled = 0;
  /** Body length of the straddling frame, 0 when there is none. */
  private partialSize = 0;
  private rest: Buffer | null = null;
  private paused = false;
  private failed = false;
  /** The topic cache entry of the last topic (see decodeTopic). */
  private topicSlot = 0;
  private ended = false;
  /** True until the first frame has been parsed, when that frame is a handshake: it is held to `maxHandshakeFrameBytes`. */
  private first: boolean;

  /**
   * `options.handshakeFirst`: the first frame of the stream is a handshake (or its answer), held to
   * `maxHandshakeFrameBytes` instead of `maxFrameBytes`. Connections set it; a bare codec does not.
   */
  constructor(limits: ProtocolLimits, sink: FrameSink, options?: { handshakeFirst?: boolean }) {
    this.limits = limits;
    this.sink = sink;
    this.fields = typeof sink.onMessage === 'function';
    this.knownTokens = typeof sink.knownToken === 'function';
    this.first = options?.handshakeFirst === true;
  }

  /** True after a fatal error; further input is ignored. */
  get broken(): boolean {
    return this.failed;
  }

  /** Bytes held for an incomplete frame (never more than maxFrameBytes + 4). */
  get bufferedBytes(): number {
    return this.headerFilled + this.partialFilled + (this.rest?.length ?? 0);
  }

  /** Stops delivering frames (the rest of the current chunk is kept) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const rest = this.rest;
    if (rest !== null) {
      this.rest = null;
      this.push(rest);
    }
    if (this.ended && !this.paused && this.rest === null) this.end();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Feeds bytes. Never throws on bad input: errors go to the sink. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    if (this.paused || this.rest !== null) {
      this.rest = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
      return;
    }
    const len = chunk.length;
    let off = 0;
    if (this.partialSize > 0) {
      const size = this.partialSize;
      const n = Math.min(size - this.partialFilled, len);
      this.parts.push(n === len ? chunk : chunk.subarray(0, n));
      this.partialFilled += n;
      // A body trickled in tiny chunks is compacted so the list of pieces stays short.
      if (this.parts.length >= 64 && this.partialFilled < this.parts.length * 1024) {
        this.parts = [Buffer.concat(this.parts, this.partialFilled)];
      }
      off = n;
      if (this.partialFilled < size) return;
      const body = Buffer.concat(this.parts, size);
      this.parts = [];
      this.partialFilled = 0;
      this.partialSize = 0;
      this.parseBody(body, 0, size);
    } else if (this.headerFilled > 0) {
      const n = Math.min(FRAME_PREFIX_BYTES - this.headerFilled, len);
      chunk.copy(this.header, this.headerFilled, 0, n);
      this.headerFilled += n;
      off = n;
      if (this.headerFilled < FRAME_PREFIX_BYTES) return;
      this.headerFilled = 0;
      const size = this.header.readUInt32BE(0);
      if (!this.checkSize(size)) return;
      const avail = len - off;
      if (avail < size) {
        this.startPartial(chunk, off, size);
        return;
      }
      this.parseBody(chunk, off, off + size);
      off += size;
    }
    while (off < len) {
      if (this.failed) return;
      if (this.paused) {
        this.rest = chunk.subarray(off);
        return;
      }
      if (len - off < FRAME_PREFIX_BYTES) {
        chunk.copy(this.header, 0, off, len);
        this.headerFilled = len - off;
        return;
      }
      const size = chunk.readUInt32BE(off);
      if (!this.checkSize(size)) return;
      off += FRAME_PREFIX_BYTES;
      if (len - off < size) {
        this.startPartial(chunk, off, size);
        return;
      }
      this.parseBody(chunk, off, off + size);
      off += size;
    }
  }

  /** Signals the end of the stream: an unfinished frame is reported as truncated. */
  end(): void {
    if (this.failed) return;
    if (this.rest !== null) {
      // Frames held back by pause() are still to come; finish once resume() has delivered them.
      this.ended = true;
      return;
    }
    this.ended = false;
    if (this.partialSize > 0) {
      this.fail(new TruncatedFrameError(FRAME_PREFIX_BYTES + this.partialFilled, FRAME_PREFIX_BYTES + this.partialSize));
    } else if (this.headerFilled > 0) {
      this.fail(new TruncatedFrameError(this.headerFilled, FRAME_PREFIX_BYTES));
    }
    this.parts = [];
    this.partialFilled = 0;
    this.partialSize = 0;
    this.rest = null;
  }

  private startPartial(chunk: Buffer, off: number, size: number): void {
    // Memory follows what actually arrived, not what the prefix announced.
    this.parts = [chunk.subarray(off)];
    this.partialSize = size;
    this.partialFilled = chunk.length - off;
  }

  private checkSize(size: number): boolean {
    if (this.first) {
      // The first frame is the handshake (or its answer), sent before the peer is authenticated:
      // a small cap keeps what an unauthenticated connection can make this side hold small.
      const cap = Math.min(this.limits.maxHandshakeFrameBytes, this.limits.maxFrameBytes);
      if (size > cap) {
        const name = cap < this.limits.maxFrameBytes ? 'maxHandshakeFrameBytes' : 'maxFrameBytes';
        this.fail(new FrameTooLargeError(size, cap, name));
        return false;
      }
    } else if (size > this.limits.maxFrameBytes) {
      this.fail(new FrameTooLargeError(size, this.limits.maxFrameBytes));
      return false;
    }
    if (size === 0) {
      this.fail(new InvalidFrameError('zero-length frame has no kind byte'));
      return false;
    }
    return true;
  }

  private fail(error: ProtocolError): void {
    this.failed = true;
    this.parts = [];
    this.partialFilled = 0;
    this.partialSize = 0;
    this.rest = null;
    this.headerFilled = 0;
    this.sink.onError(error);
  }

  private reject(error: ProtocolError): void {
    if (error.fatal) this.fail(error);
    else this.sink.onError(error);
  }

  private parseBody(buf: Buffer, start: number, end: number): void {
    this.first = false;
    const kind = buf[start] as number;
    if (kind >= 1 && kind <= 4) {
      this.parseMessage(kind as MessageKind, buf, start + 1, end);
      return;
    }
    switch (kind) {
      case FrameKind.Heartbeat:
      case FrameKind.HeartbeatAck:
        if (end - start !== 5) {
          this.reject(new InvalidFrameError(`heartbeat body must be 4 bytes, got ${end - start - 1}`));
          return;
        }
        this.sink.onFrame({ kind, nonce: buf.readUInt32BE(start + 1) });
        return;
      case FrameKind.Handshake:
      case FrameKind.HandshakeAck:
      case FrameKind.TopicsAdded:
      case FrameKind.TopicsRemoved:
      case FrameKind.Goodbye:
        this.parseControl(kind, buf, start + 1, end);
        return;
      default:
        this.reject(new UnknownFrameKindError(kind));
    }
  }

  private parseMessage(kind: MessageKind, buf: Buffer, p: number, end: number): void {
    const limits = this.limits;
    if (end - p < 5) {
      this.reject(new InvalidFrameError(`message body of ${end - p} bytes is shorter than its 5-byte header`));
      return;
    }
    const flags = buf[p] as number;
    const topicLen = buf.readUInt16BE(p + 1);
    const topicStart = p + 3;
    const topicEnd = topicStart + topicLen;
    if (topicEnd + 2 > end) {
      this.reject(new InvalidFrameError(`topic length ${topicLen} runs past the end of the frame`));
      return;
    }
    const tokenLen = buf.readUInt16BE(topicEnd);
    const tokenStart = topicEnd + 2;
    const tokenEnd = tokenStart + tokenLen;
    if (tokenEnd > end) {
      this.reject(new InvalidFrameError(`sync token length ${tokenLen} runs past the end of the frame`));
      return;
    }
    // The frame is well delimited from here on: a bad field rejects this message only.
    let syncToken: string | undefined;
    if (tokenLen > 0) {
      if (tokenLen > limits.maxSyncTokenBytes) {
        this.reject(new FieldTooLargeError('syncToken', tokenLen, limits.maxSyncTokenBytes, { frameKind: kind }));
        return;
      }
      if (this.knownTokens && kind >= FrameKind.SyncResponse) {
        syncToken = (this.sink.knownToken as KnownTokenLookup)(buf, tokenStart, tokenEnd);
      }
      syncToken ??= utf8Text(buf, tokenStart, tokenEnd);
      if (syncToken === undefined) {
        this.reject(new InvalidUTF8Error('syncToken', { frameKind: kind }));
        return;
      }
    } else if (kind !== FrameKind.AsyncMessage) {
      this.reject(new InvalidFrameError('sync frame without a sync token', false, { frameKind: kind }));
      return;
    }
    if (topicLen === 0) {
      this.reject(new EmptyTopicError({ frameKind: kind, syncToken }));
      return;
    }
    if (topicLen > limits.maxTopicBytes) {
      this.reject(new FieldTooLargeError('topic', topicLen, limits.maxTopicBytes, { frameKind: kind, syncToken }));
      return;
    }
    const topic = this.decodeTopic(buf, topicStart, topicEnd);
    if (topic === undefined) {
      this.reject(new InvalidUTF8Error('topic', { frameKind: kind, syncToken }));
      return;
    }
    if (flags > PayloadEncoding.Msgpack) {
      // Perhaps a newer peer's encoding: the frame is well delimited, so only this message is refused.
      this.reject(new InvalidFrameError(`unknown payload encoding 0x${flags.toString(16)}`, false, { frameKind: kind, topic, syncToken }));
      return;
    }
    const payloadLen = end - tokenEnd;
    if (payloadLen > limits.maxPayloadBytes) {
      this.reject(new FieldTooLargeError('payload', payloadLen, limits.maxPayloadBytes, { frameKind: kind, topic, syncToken }));
      return;
    }
    let payload: string | Uint8Array;
    if (flags === PayloadEncoding.Binary) {
      payload = buf.subarray(tokenEnd, end);
    } else if (flags === PayloadEncoding.Msgpack) {
      let value: unknown;
      try {
        value = unpackPayload(buf.subarray(tokenEnd, end));
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        this.reject(new InvalidFrameError(`undecodable msgpack payload: ${reason}`, false, { frameKind: kind, topic, syncToken, cause }));
        return;
      }
      this.emitMessage(kind, topic, value, syncToken, payloadLen);
      return;
    } else {
      const text = utf8Text(buf, tokenEnd, end);
      if (text === undefined) {
        this.reject(new InvalidUTF8Error('payload', { frameKind: kind, topic, syncToken }));
        return;
      }
      payload = text;
    }
    this.emitMessage(kind, topic, payload, syncToken, undefined);
  }

  private emitMessage(
    kind: MessageKind,
    topic: string,
    payload: Payload,
    syncToken: string | undefined,
    payloadBytes: number | undefined,
  ): void {
    if (this.fields) (this.sink.onMessage as MessageFieldsHandler)(kind, topic, payload, syncToken, payloadBytes);
    else this.sink.onFrame(messageFrame(kind, topic, payload, syncToken, payloadBytes));
  }

  /**
   * The topic as a string, undefined when it is not UTF-8. Topics repeat, so their strings are
   * kept in the shared topic cache: a repeat costs a byte comparison (and a hash, unless it is the
   * same topic as this decoder's last) instead of validating, decoding and a new string.
   */
  private decodeTopic(buf: Buffer, start: number, end: number): string | undefined {
    let slot = this.topicSlot;
    if (topicCache.matches(slot, buf, start, end)) return topicCache.string(slot);
    if (end - start <= TOPIC_CACHE_BYTES) {
      slot = TopicCache.slot(buf, start, end);
      if (topicCache.matches(slot, buf, start, end)) {
        this.topicSlot = slot;
        return topicCache.string(slot);
      }
    }
    const topic = utf8Text(buf, start, end);
    if (topic === undefined) return undefined;
    if (end - start <= TOPIC_CACHE_BYTES) {
      topicCache.store(slot, buf, start, end, topic);
      this.topicSlot = slot;
    }
    return topic;
  }

  private parseControl(kind: FrameKind, buf: Buffer, p: number, end: number): void {
    let body: unknown;
    try {
      body = unpackr.unpack(buf.subarray(p, end));
    } catch (cause) {
      this.reject(new InvalidFrameError(`undecodable msgpack body: ${(cause as Error).message}`, true, { frameKind: kind, cause }));
      return;
    }
    const result = validateControl(kind, body, this.limits);
    if (typeof result === 'string') {
      this.reject(new InvalidFrameError(result, true, { frameKind: kind }));
      return;
    }
    if (result instanceof Error && !result.fatal && (kind === FrameKind.Handshake || kind === FrameKind.HandshakeAck)) {
      // A handshake is sent once: rejecting it alone would leave the peer waiting for an answer.
      this.fail(fatalCopy(result));
      return;
    }
    if (result instanceof Error) {
      this.reject(result);
      return;
    }
    this.sink.onFrame(result);
  }
}

/**
 * A message frame from its fields, as the decoder reports it: `payloadBytes` only for a structured
 * payload, in its own object shape so text and byte frames stay monomorphic.
 */
export function messageFrame(
  kind: MessageKind,
  topic: string,
  payload: Payload,
  syncToken: string | undefined,
  payloadBytes?: number | undefined,
): MessageFrame {
  return payloadBytes === undefined ? { kind, topic, payload, syncToken } : { kind, topic, payload, syncToken, payloadBytes };
}

/**
 * `buf[start, end)` as a string, undefined when those bytes are not UTF-8 (the strict definition of
 * `isUtf8`: no overlong forms, no surrogates, nothing above U+10FFFF). Decoding replaces every
 * invalid sequence with U+FFFD, so a string without U+FFFD came from valid UTF-8 and needs no second
 * pass or view over the bytes (a string of Latin-1 characters is answered without a scan). A string
 * with U+FFFD may still be valid (the character itself, EF BF BD): the strict check decides.
 */
export function utf8Text(buf: Buffer, start: number, end: number): string | undefined {
  const text = buf.toString('utf8', start, end);
  if (text.indexOf('\uFFFD') === -1 || isUtf8(buf.subarray(start, end))) return text;
  return undefined;
}

/** The same error, fatal, for a handshake that cannot be answered. */
function fatalCopy(error: ProtocolError): ProtocolError {
  const context = { frameKind: error.frameKind, fatal: true, cause: error.cause };
  if (error instanceof FieldTooLargeError) {
    return new FieldTooLargeError(error.field, error.size, error.limit, { ...context, limitOwner: error.limitOwner });
  }
  if (error instanceof EmptyTopicError) return new EmptyTopicError(context);
  return new InvalidFrameError(error.message, true, context);
}
