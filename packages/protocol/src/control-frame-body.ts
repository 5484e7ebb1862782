// Control frames (handshake, its answer, topic changes, goodbye) arrive as msgpack maps from peers
// that may not be trusted yet: this part checks such a body field by field and copies only what it
// knows, so nothing else of the map reaches the node.
import { EmptyTopicError, FieldTooLargeError, type ProtocolError } from './errors.js';
import { type Frame, FrameKind } from './frames.js';
import type { ProtocolLimits } from './limits.js';

// A plain map only: msgpack also yields Dates (timestamp extension) and C1Type markers, which are objects too.
function isObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Topic list of a control frame. In a handshake (`lenient`), topics over `maxTopicBytes` are left
 * out instead of refusing the frame: the sender could not know this side's limits yet, and a topic
 * this side cannot carry is one it never routes. Later topic frames are checked strictly.
 */
function topicList(v: unknown, field: string, limits: ProtocolLimits, lenient: boolean): string[] | string | ProtocolError {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return `${field} must be an array of strings`;
  const out: string[] = [];
  for (const t of v) {
    if (typeof t !== 'string') return `${field} must be an array of strings`;
    if (t.length === 0) return new EmptyTopicError();
    const bytes = Buffer.byteLength(t, 'utf8');
    if (bytes > limits.maxTopicBytes) {
      if (lenient) continue;
      return new FieldTooLargeError('topic', bytes, limits.maxTopicBytes);
    }
    out.push(t);
  }
  return out;
}

const LIMIT_NAMES: readonly (keyof ProtocolLimits)[] = [
  'maxFrameBytes',
  'maxTopicBytes',
  'maxPayloadBytes',
  'maxSyncTokenBytes',
  'maxNodeNameBytes',
  'maxHandshakeFrameBytes',
];

/** Announced limits: a map of positive integers; unknown keys (from newer peers) are ignored. */
function announcedLimits(v: unknown): Partial<ProtocolLimits> | undefined | string {
  if (v === undefined) return undefined;
  if (!isObject(v)) return 'handshake limits must be a map of positive integers';
  const out: Partial<ProtocolLimits> = {};
  for (const key of LIMIT_NAMES) {
    if (!Object.hasOwn(v, key)) continue;
    const value = v[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
      return `handshake limit ${key} must be a positive integer`;
    }
    out[key] = value;
  }
  return out;
}

/** Most names an `encodings` list may hold, and the longest name: a list is a few short names. */
const MAX_ENCODINGS = 32;
const MAX_ENCODING_NAME = 64;

/** Announced payload encodings: a list of short names, kept as sent (names this side does not know are ignored later). */
function announcedEncodings(v: unknown): string[] | undefined | string {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > MAX_ENCODINGS) return `handshake encodings must be an array of at most ${MAX_ENCODINGS} names`;
  const out: string[] = [];
  for (const name of v) {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_ENCODING_NAME) {
      return `handshake encodings must be names of 1 to ${MAX_ENCODING_NAME} characters`;
    }
    out.push(name);
  }
  return out;
}

function stringRecord(v: unknown): Record<string, string> | undefined | string {
  if (v === undefined) return undefined;
  if (!isObject(v)) return 'info must be a map of strings';
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') return 'info must be a map of strings';
    Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Checks a decoded control body and copies only the known fields. Returns a message for malformed bodies. */
export function validateControl(kind: FrameKind, body: unknown, limits: ProtocolLimits): Frame | string | ProtocolError {
  if (!isObject(body)) return 'control frame body must be a map';
  if (kind === FrameKind.Goodbye) {
    if (typeof body.code !== 'string' || typeof body.reason !== 'string') return 'goodbye needs string code and reason';
    return { kind, code: body.code.slice(0, 256), reason: body.reason.slice(0, 1024) };
  }
  const lenient = kind === FrameKind.Handshake || kind === FrameKind.HandshakeAck;
  const asyncTopics = topicList(body.asyncTopics, 'asyncTopics', limits, lenient);
  if (!Array.isArray(asyncTopics)) return asyncTopics;
  const syncTopics = topicList(body.syncTopics, 'syncTopics', limits, lenient);
  if (!Array.isArray(syncTopics)) return syncTopics;
  if (kind === FrameKind.TopicsAdded || kind === FrameKind.TopicsRemoved) {
    return { kind, asyncTopics, syncTopics };
  }
  if (typeof body.version !== 'number' || !Number.isInteger(body.version)) return 'handshake version must be an integer';
  if (typeof body.name !== 'string') return 'handshake name must be a string';
  if (body.name.length === 0) return 'handshake name must not be empty';
  const nameBytes = Buffer.byteLength(body.name, 'utf8');
  if (nameBytes > limits.maxNodeNameBytes) return new FieldTooLargeError('name', nameBytes, limits.maxNodeNameBytes);
  const info = stringRecord(body.info);
  if (typeof info === 'string') return info;
  const peerLimits = announcedLimits(body.limits);
  if (typeof peerLimits === 'string') return peerLimits;
  const encodings = announcedEncodings(body.encodings);
  if (typeof encodings === 'string') return encodings;
  if (kind === FrameKind.HandshakeAck) {
    return { kind, version: body.version, name: body.name, asyncTopics, syncTopics, info, limits: peerLimits, encodings };
  }
  if (body.auth !== undefined && typeof body.auth !== 'string') return 'handshake auth must be a string';
  return {
    kind: FrameKind.Handshake,
    version: body.version,
    name: body.name,
    asyncTopics,
    syncTopics,
    auth: body.auth,
    info,
    limits: peerLimits,
    encodings,
  };
}
