import { Packr } from 'msgpackr';
import { packPayload } from './payload-codec.js';
import { EmptyTopicError, FieldTooLargeError, FrameTooLargeError, InvalidFrameError } from './errors.js';
import {
  FrameKind,
  type ControlFrame,
  type Frame,
  type MessageFrame,
  type MessageKind,
  type Payload,
  type SyncTokenInput,
  syncTokenText,
} from './frames.js';
import type { ProtocolLimits } from './limits.js';

/*
 * Wire format, all integers big-endian:
 *
 *   u32 length          bytes that follow (kind + body); checked against maxFrameBytes first
 *   u8  kind            FrameKind
 *   body:
 *     message kinds (1-4): u8 encoding (0: UTF-8 text, 1: raw bytes, 2: msgpack value)
 *                          | u16 topicLen | topic
 *                          | u16 tokenLen | token | payload (rest of the frame)
 *     heartbeat (20, 21):  u32 nonce
 *     other control kinds: one msgpack map
 *
 * Message frames use a fixed binary header because they are the hot path: it encodes
 * strings straight into the output buffer with no intermediate object; control frames
 * are rare and structured, so msgpack keeps them flexible.
 */

export const FRAME_PREFIX_BYTES = 4;
/** u32 length + u8 kind + u8 flags + u16 topic length + u16 token length. */
export const MESSAGE_HEADER_BYTES = 10;
/**
 * How a message frame's payload is encoded: the byte after the kind. Strings and bytes go as they are;
 * anything else is one msgpack value. A peer that predates `Msgpack` closes the connection on such a
 * frame, so handshakes announce the encodings their sender accepts (`encodings`, see `encodingSet`);
 * from `Msgpack` on, an unknown encoding rejects that message alone (`SYSTEMGE_ERR_INVALID_FRAME`, not fatal).
 */
export const PayloadEncoding = {
  Text: 0,
  Binary: 1,
  Msgpack: 2,
} as const;
export type PayloadEncoding = (typeof PayloadEncoding)[keyof typeof PayloadEncoding];

/** The encoding a payload value is sent with. */
export function payloadEncoding(payload: unknown): PayloadEncoding {
  if (typeof payload === 'string') return PayloadEncoding.Text;
  return payload instanceof Uint8Array ? PayloadEncoding.Binary : PayloadEncoding.Msgpack;
}

/*
 * A structured payload is packed once per frame: messageFrameBound packs it to learn its size and keeps
 * the bytes for encodeMessageInto, which follows at once (the same frame goes to every target).
 * The entry is dropped in a microtask so it never keeps a payload alive.
 */
let packedFrame: MessageFrame | undefined;
let packedValue: unknown;
let packedBytes: Buffer | undefined;
function dropPacked(): void {
  packedFrame = undefined;
  packedValue = undefined;
  packedBytes = undefined;
}

function packedPayload(frame: MessageFrame): Buffer {
  if (packedFrame === frame && packedValue === frame.payload && packedBytes !== undefined) return packedBytes;
  const bytes = packPayload(frame.topic, frame.payload);
  if (packedFrame === undefined) queueMicrotask(dropPacked);
  packedFrame = frame;
  packedValue = frame.payload;
  packedBytes = bytes;
  return bytes;
}

// Strings above this many UTF-16 units are measured exactly instead of reserving 3 bytes per unit.
const EXACT_MEASURE_THRESHOLD = 4096;

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

function strBound(s: string): number {
  return s.length > EXACT_MEASURE_THRESHOLD ? Buffer.byteLength(s, 'utf8') : s.length * 3;
}

/** An upper bound of the encoded size of a message frame, prefix included. */
export function messageFrameBound(frame: MessageFrame): number {
  const payload = frame.payload;
  // A structured payload counts as its packed bytes (kept for the encoding that follows).
  const plain = typeof payload === 'string' || payload instanceof Uint8Array ? payload : packedPayload(frame);
  return messageFieldsBound(frame.topic, plain, frame.syncToken);
}

/**
 * `messageFrameBound` of a message given by its fields, for a text or bytes payload (a structured
 * payload goes through a frame: `messageFrameBound`).
 */
export function messageFieldsBound(topic: string, payload: string | Uint8Array, syncToken: SyncTokenInput | undefined): number {
  return (
    MESSAGE_HEADER_BYTES +
    strBound(topic) +
    (syncToken === undefined ? 0 : typeof syncToken === 'string' ? syncToken.length * 3 : syncToken.tokenByteLength) +
    (typeof payload === 'string' ? strBound(payload) : payload.byteLength)
  );
}

// Strings up to this many UTF-16 units are copied by a loop while they are ASCII (topics, tokens, short
// payloads): cheaper than a call into the UTF-8 encoder for a few bytes.
const ASCII_LOOP_MAX = 24;

/** Writes `s` as UTF-8 at `p`, returns the byte count. */
function writeUtf8(buf: Buffer, s: string, p: number): number {
  const n = s.length;
  if (n <= ASCII_LOOP_MAX) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[p + i] = c;
    }
    if (i === n) return n;
  }
  return buf.write(s, p, 'utf8');
}

/**
 * Encodes a message frame into `buf` at `offset`, which must have `messageFrameBound(frame)` bytes free.
 * Returns the offset after the frame. Throws a ProtocolError (nothing counted as written) when the
 * frame breaks a limit.
 */
export function encodeMessageInto(frame: MessageFrame, buf: Buffer, offset: number, limits: ProtocolLimits): number {
  const payload = frame.payload;
  const packed = typeof payload === 'string' || payload instanceof Uint8Array ? undefined : packedPayload(frame);
  return encodeMessageFieldsInto(frame.kind, frame.topic, payload, frame.syncToken, packed, buf, offset, limits);
}

/**
 * `encodeMessageInto` of a message given by its fields (no frame object). `packed`: a structured
 * payload's msgpack bytes (`payload` is then only named in errors); undefined for text and bytes.
 */
export function encodeMessageFieldsInto(
  kind: MessageKind,
  topic: string,
  payload: Payload,
  syncToken: SyncTokenInput | undefined,
  packed: Uint8Array | undefined,
  buf: Buffer,
  offset: number,
  limits: ProtocolLimits,
): number {
  let p = offset + 8;
  const topicLen = writeUtf8(buf, topic, p);
  if (topicLen === 0) throw new EmptyTopicError({ frameKind: kind, syncToken: syncTokenText(syncToken) });
  if (topicLen > limits.maxTopicBytes) {
    throw new FieldTooLargeError('topic', topicLen, limits.maxTopicBytes, { frameKind: kind, syncToken: syncTokenText(syncToken) });
  }
  buf.writeUInt16BE(topicLen, offset + 6);
  p += topicLen;
  let tokenLen = 0;
  if (syncToken !== undefined) {
    if (typeof syncToken === 'string') tokenLen = writeUtf8(buf, syncToken, p + 2);
    else {
      tokenLen = syncToken.tokenByteLength;
      syncToken.writeToken(buf, p + 2);
    }
    if (tokenLen > limits.maxSyncTokenBytes) {
      throw new FieldTooLargeError('syncToken', tokenLen, limits.maxSyncTokenBytes, { frameKind: kind, topic });
    }
  }
  if (tokenLen === 0 && kind !== FrameKind.AsyncMessage) {
    // The receiver rejects such a frame and could not even answer it: refuse it here.
    throw new InvalidFrameError('sync frame without a sync token', false, { frameKind: kind, topic });
  }
  buf.writeUInt16BE(tokenLen, p);
  p += 2 + tokenLen;
  let payloadLen: number;
  let flags: PayloadEncoding = PayloadEncoding.Text;
  if (typeof payload === 'string') {
    payloadLen = writeUtf8(buf, payload, p);
  } else if (packed === undefined) {
    const bytes = payload as Uint8Array;
    flags = PayloadEncoding.Binary;
    payloadLen = bytes.byteLength;
    buf.set(bytes, p);
  } else {
    flags = PayloadEncoding.Msgpack;
    payloadLen = packed.byteLength;
    buf.set(packed, p);
  }
  if (payloadLen > limits.maxPayloadBytes) {
    throw new FieldTooLargeError('payload', payloadLen, limits.maxPayloadBytes, {
      frameKind: kind,
      topic,
      syncToken: syncTokenText(syncToken),
    });
  }
  p += payloadLen;
  const length = p - offset - FRAME_PREFIX_BYTES;
  if (length > limits.maxFrameBytes) throw new FrameTooLargeError(length, limits.maxFrameBytes);
  buf.writeUInt32BE(length, offset);
  buf[offset + 4] = kind;
  buf[offset + 5] = flags;
  return p;
}

function controlBody(frame: ControlFrame): Buffer {
  switch (frame.kind) {
    case FrameKind.Handshake:
      return packr.pack({
        version: frame.version,
        name: frame.name,
        asyncTopics: frame.asyncTopics,
        syncTopics: frame.syncTopics,
        ...(frame.auth === undefined ? {} : { auth: frame.auth }),
        ...(frame.info === undefined ? {} : { info: frame.info }),
        ...(frame.limits === undefined ? {} : { limits: frame.limits }),
        ...(frame.encodings === undefined ? {} : { encodings: frame.encodings }),
      });
    case FrameKind.HandshakeAck:
      return packr.pack({
        version: frame.version,
        name: frame.name,
        asyncTopics: frame.asyncTopics,
        syncTopics: frame.syncTopics,
        ...(frame.info === undefined ? {} : { info: frame.info }),
        ...(frame.limits === undefined ? {} : { limits: frame.limits }),
        ...(frame.encodings === undefined ? {} : { encodings: frame.encodings }),
      });
    case FrameKind.TopicsAdded:
    case FrameKind.TopicsRemoved:
      return packr.pack({ asyncTopics: frame.asyncTopics, syncTopics: frame.syncTopics });
    case FrameKind.Goodbye:
      return packr.pack({ code: frame.code, reason: frame.reason });
    case FrameKind.Heartbeat:
    case FrameKind.HeartbeatAck: {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(frame.nonce >>> 0, 0);
      return b;
    }
    default:
      throw new InvalidFrameError(`cannot encode frame kind ${String((frame as { kind: unknown }).kind)}`, false);
  }
}

/** Topics announced in control frames obey the same limits as message topics: the receiver refuses them otherwise. */
function checkTopics(topics: string[], kind: FrameKind, limits: ProtocolLimits): void {
  for (const topic of topics) {
    if (topic.length === 0) throw new EmptyTopicError({ frameKind: kind });
    const bytes = topic.length * 3 <= limits.maxTopicBytes ? topic.length : Buffer.byteLength(topic, 'utf8');
    if (bytes > limits.maxTopicBytes) throw new FieldTooLargeError('topic', bytes, limits.maxTopicBytes, { frameKind: kind, topic });
  }
}

/** Encodes any frame into a new buffer, prefix included. */
export function encodeFrame(frame: Frame, limits: ProtocolLimits): Buffer {
  if (frame.kind <= 4) {
    const m = frame as MessageFrame;
    const tmp = Buffer.allocUnsafe(messageFrameBound(m));
    const end = encodeMessageInto(m, tmp, 0, limits);
    return tmp.subarray(0, end);
  }
  if ('asyncTopics' in frame) {
    checkTopics(frame.asyncTopics, frame.kind, limits);
    checkTopics(frame.syncTopics, frame.kind, limits);
  }
  const body = controlBody(frame as ControlFrame);
  const length = body.length + 1;
  if (length > limits.maxFrameBytes) throw new FrameTooLargeError(length, limits.maxFrameBytes);
  const out = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + length);
  out.writeUInt32BE(length, 0);
  out[4] = frame.kind;
  body.copy(out, 5);
  return out;
}
