import type { ProtocolLimits } from './limits.js';

/** Version of the wire protocol carried in the handshake. Peers with a different major version refuse each other. */
export const PROTOCOL_VERSION = 1;

/** The kind byte that follows a frame's length prefix. */
export const FrameKind = {
  /** Fire-and-forget message to a topic. */
  AsyncMessage: 1,
  /** Request expecting a response per receiving node, matched by sync token. */
  SyncRequest: 2,
  /** Successful response to a sync request. */
  SyncResponse: 3,
  /** Failed response to a sync request; the payload is the error text. */
  SyncFailure: 4,
  /** First frame of the dialing side: version, name, topics, credentials. */
  Handshake: 16,
  /** The listening side's answer to a handshake: its name and topics. */
  HandshakeAck: 17,
  /** Topics a node started handling. */
  TopicsAdded: 18,
  /** Topics a node stopped handling. */
  TopicsRemoved: 19,
  /** Liveness probe. */
  Heartbeat: 20,
  /** Answer to a liveness probe. */
  HeartbeatAck: 21,
  /** Last frame before a close: a code and a human-readable reason. */
  Goodbye: 22,
} as const;

export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];
export type MessageKind = 1 | 2 | 3 | 4;

/** Name of a frame kind for logs and metrics labels. */
export function frameKindName(kind: number): string {
  for (const [name, value] of Object.entries(FrameKind)) if (value === kind) return name;
  return `unknown(${kind})`;
}

/**
 * A payload is any value msgpack can carry: text and raw bytes go as they are (no extra encoding);
 * objects, arrays, numbers, booleans, `null`, `Date`, `Set`, typed arrays, `bigint` and nestings of
 * them go as one msgpack value. The receiver gets the same kind of value back, a `Map` as a `Map`
 * (nested ones too). Functions, symbols and circular values are refused at the sender.
 */
export type Payload = unknown;

/**
 * A sync token written into a frame from its parts instead of from a string: a requester's own
 * tokens, which it never needs as strings on the hot path. Its bytes are ASCII.
 */
export interface SyncTokenSource {
  /** How many bytes `writeToken` writes. */
  readonly tokenByteLength: number;
  /** Writes the token's bytes at `offset`. */
  writeToken(buf: Uint8Array, offset: number): void;
  /** The same token as a string (for error reports and connections that take frames only). */
  readonly token: string;
}

/** A sync token as a string or from its parts. */
export type SyncTokenInput = string | SyncTokenSource;

/** The string of a sync token given either way. */
export function syncTokenText(token: SyncTokenInput | undefined): string | undefined {
  return token === undefined || typeof token === 'string' ? token : token.token;
}

/**
 * An application message: async message, sync request, or sync response.
 * Every message frame has the same shape so hot paths stay monomorphic.
 */
export interface MessageFrame {
  kind: MessageKind;
  /** Non-empty topic. Responses repeat the topic of their request. */
  topic: string;
  /** Text, bytes or a structured value. For `SyncFailure` the error text. */
  payload: Payload;
  /** Correlates a sync request with its responses; undefined for async messages. */
  syncToken: string | undefined;
  /** Encoded size of a structured payload, set by the decoder (text and bytes are measured directly). */
  payloadBytes?: number;
}

/**
 * Bytes a received payload took on the wire (UTF-16 units for text, as rate limits count them),
 * for limits and counters.
 */
export function payloadByteLength(frame: MessageFrame): number {
  const payload = frame.payload;
  if (typeof payload === 'string') return payload.length;
  if (payload instanceof Uint8Array) return payload.byteLength;
  return frame.payloadBytes ?? 0;
}

/** Topics a node handles, announced in handshakes and topic updates. */
export interface TopicSet {
  asyncTopics: string[];
  syncTopics: string[];
}

/**
 * The receive limits a node announces in its handshake, so its peer refuses locally, with a typed
 * error, what this node would refuse. Absent in handshakes from nodes that predate the field:
 * the receiver then assumes its own limits.
 */
export type AnnouncedLimits = Partial<ProtocolLimits>;

/**
 * The payload encodings a node accepts, by name (`text`, `bytes`, `msgpack`), announced in its
 * handshake so its peer never sends it a payload it would refuse. Absent in handshakes from nodes
 * that predate structured payloads: the receiver then sends them text and bytes only. Names this
 * side does not know (a newer peer's) are ignored.
 */
export type AnnouncedEncodings = string[];

/** First frame sent by the dialing side. */
export interface HandshakeFrame extends TopicSet {
  kind: typeof FrameKind.Handshake;
  version: number;
  name: string;
  /** Optional credential. Never logged. */
  auth?: string | undefined;
  /** Free-form details about the node (e.g. its listen address), at most a few hundred bytes. */
  info?: Record<string, string> | undefined;
  /** The dialer's receive limits. */
  limits?: AnnouncedLimits | undefined;
  /** The payload encodings the dialer accepts. */
  encodings?: AnnouncedEncodings | undefined;
}

/** The listening side's answer to a handshake. */
export interface HandshakeAckFrame extends TopicSet {
  kind: typeof FrameKind.HandshakeAck;
  version: number;
  name: string;
  info?: Record<string, string> | undefined;
  /** The listener's receive limits. */
  limits?: AnnouncedLimits | undefined;
  /** The payload encodings the listener accepts. */
  encodings?: AnnouncedEncodings | undefined;
}

export interface TopicsFrame extends TopicSet {
  kind: typeof FrameKind.TopicsAdded | typeof FrameKind.TopicsRemoved;
}

export interface HeartbeatFrame {
  kind: typeof FrameKind.Heartbeat | typeof FrameKind.HeartbeatAck;
  /** Echoed back in the ack, u32. */
  nonce: number;
}

export interface GoodbyeFrame {
  kind: typeof FrameKind.Goodbye;
  /** Machine-readable reason, e.g. `SYSTEMGE_ERR_FRAME_TOO_LARGE` or `normal`. */
  code: string;
  reason: string;
}

export type ControlFrame = HandshakeFrame | HandshakeAckFrame | TopicsFrame | HeartbeatFrame | GoodbyeFrame;
export type Frame = MessageFrame | ControlFrame;

/** True for async messages, sync requests and sync responses. */
export function isMessageFrame(frame: Frame): frame is MessageFrame {
  return frame.kind <= 4;
}
