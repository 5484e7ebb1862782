import type { FrameKind } from './frames.js';

/** Options accepted by every Systemge error constructor. */
export interface SystemgeErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every error thrown or reported by Systemge packages.
 * Compare errors by `code`, not with `instanceof`: two copies of a package
 * in one process have two different classes but the same codes.
 */
export class SystemgeError extends Error {
  /** Stable machine-readable code, e.g. `SYSTEMGE_ERR_FRAME_TOO_LARGE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: SystemgeErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Where a protocol error was found, so the receiver can answer a sync request with a failure. */
export interface ProtocolErrorContext extends SystemgeErrorOptions {
  frameKind?: FrameKind;
  topic?: string;
  syncToken?: string;
  /** Makes fatal an error that otherwise rejects one frame (e.g. a bad field in a handshake, which cannot be retried). */
  fatal?: boolean;
  /** Whose limit was broken when it is not this side's own, e.g. `peer "b"`; named in the message. */
  limitOwner?: string;
}

/**
 * An error found while decoding or encoding frames.
 * `fatal` means the byte stream can no longer be trusted and the connection is closed;
 * a non-fatal error rejects one well-delimited frame and the connection keeps going.
 */
export class ProtocolError extends SystemgeError {
  readonly fatal: boolean;
  readonly frameKind: FrameKind | undefined;
  readonly topic: string | undefined;
  readonly syncToken: string | undefined;

  constructor(code: string, message: string, fatal: boolean, context?: ProtocolErrorContext) {
    super(code, message, context);
    this.fatal = fatal;
    this.frameKind = context?.frameKind;
    this.topic = context?.topic;
    this.syncToken = context?.syncToken;
  }
}

/** A frame declared a length above `maxFrameBytes` (or, for the first frame, `maxHandshakeFrameBytes`). Fatal. */
export class FrameTooLargeError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_FRAME_TOO_LARGE';
  readonly size: number;
  readonly limit: number;
  /** The limit that was broken: `maxFrameBytes` or `maxHandshakeFrameBytes`. */
  readonly limitName: 'maxFrameBytes' | 'maxHandshakeFrameBytes';
  constructor(size: number, limit: number, limitName: 'maxFrameBytes' | 'maxHandshakeFrameBytes' = 'maxFrameBytes') {
    super(FrameTooLargeError.code, `frame of ${size} bytes exceeds ${limitName} ${limit}`, true);
    this.size = size;
    this.limit = limit;
    this.limitName = limitName;
  }
}

/**
 * A structured payload msgpack cannot carry (a function, a symbol, a circular or too deeply nested value...).
 * Thrown by the sender before anything is written; `topic` names the message's topic. Not fatal.
 */
export class PayloadEncodingError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE';
  constructor(topic: string, reason: string, context?: ProtocolErrorContext) {
    super(PayloadEncodingError.code, `payload for topic "${topic}" cannot be encoded: ${reason}`, false, { ...context, topic });
  }
}

/**
 * A payload whose encoding a peer does not accept: a structured (msgpack) payload for a peer that
 * announced no `msgpack` in its handshake, because it predates structured payloads and would close
 * the connection on such a frame. Thrown by the sender before anything is written (`topic`,
 * `peers` and `encoding` say which); a broadcast skips such peers and reports them (see the node's
 * README). Not fatal.
 */
export class PayloadEncodingUnsupportedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_PAYLOAD_ENCODING_UNSUPPORTED';
  readonly topic: string;
  /** The peers that do not accept the encoding. */
  readonly peers: readonly string[];
  /** The payload's encoding, e.g. `msgpack`. */
  readonly encoding: string;
  constructor(topic: string, peers: readonly string[], encoding: string, accepted: readonly string[], options?: SystemgeErrorOptions) {
    const who = peers.length === 1 ? `peer "${peers[0]}" does` : `peers ${peers.map((p) => `"${p}"`).join(', ')} do`;
    super(
      PayloadEncodingUnsupportedError.code,
      `payload for topic "${topic}" is ${encoding}-encoded, which ${who} not accept (accepted: ${accepted.join(', ')})`,
      options,
    );
    this.topic = topic;
    this.peers = peers;
    this.encoding = encoding;
  }
}

/** A frame whose structure is broken (bad lengths, undecodable body). Fatal unless stated. */
export class InvalidFrameError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_INVALID_FRAME';
  constructor(message: string, fatal = true, context?: ProtocolErrorContext) {
    super(InvalidFrameError.code, `invalid frame: ${message}`, fatal, context);
  }
}

/** A frame with a kind byte this protocol version does not know. Fatal. */
export class UnknownFrameKindError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_UNKNOWN_FRAME_KIND';
  readonly kind: number;
  constructor(kind: number) {
    super(UnknownFrameKindError.code, `unknown frame kind ${kind}`, true);
    this.kind = kind;
  }
}

/** The stream ended in the middle of a frame. Fatal. */
export class TruncatedFrameError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_TRUNCATED_FRAME';
  readonly received: number;
  readonly expected: number;
  constructor(received: number, expected: number) {
    super(TruncatedFrameError.code, `stream ended inside a frame: received ${received} of ${expected} bytes`, true);
    this.received = received;
    this.expected = expected;
  }
}

/** A message with an empty topic. The frame is rejected, the connection kept. */
export class EmptyTopicError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_EMPTY_TOPIC';
  constructor(context?: ProtocolErrorContext) {
    super(EmptyTopicError.code, 'topic must be a non-empty string', context?.fatal ?? false, context);
  }
}

/**
 * A field (topic, payload, sync token, node name) longer than its limit. The frame is rejected, the connection
 * kept, except in a handshake, which cannot be retried (fatal then). `limitOwner` names the peer when the
 * limit is the peer's (learned in the handshake) rather than this side's.
 */
export class FieldTooLargeError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_FIELD_TOO_LARGE';
  readonly field: 'topic' | 'payload' | 'syncToken' | 'name';
  readonly size: number;
  readonly limit: number;
  readonly limitOwner: string | undefined;
  constructor(field: 'topic' | 'payload' | 'syncToken' | 'name', size: number, limit: number, context?: ProtocolErrorContext) {
    const limitName =
      field === 'topic'
        ? 'maxTopicBytes'
        : field === 'payload'
          ? 'maxPayloadBytes'
          : field === 'syncToken'
            ? 'maxSyncTokenBytes'
            : 'maxNodeNameBytes';
    const owner = context?.limitOwner === undefined ? '' : ` of ${context.limitOwner}`;
    super(FieldTooLargeError.code, `${field} of ${size} bytes exceeds ${limitName} ${limit}${owner}`, context?.fatal ?? false, context);
    this.field = field;
    this.size = size;
    this.limit = limit;
    this.limitOwner = context?.limitOwner;
  }
}

/** A text field that is not valid UTF-8. The frame is rejected, the connection kept. */
export class InvalidUTF8Error extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_INVALID_UTF8';
  readonly field: string;
  constructor(field: string, context?: ProtocolErrorContext) {
    super(InvalidUTF8Error.code, `${field} is not valid UTF-8`, false, context);
    this.field = field;
  }
}

/** The peer speaks a protocol version this side cannot talk to. */
export class ProtocolVersionError extends ProtocolError {
  static readonly code = 'SYSTEMGE_ERR_PROTOCOL_VERSION';
  readonly remoteVersion: number;
  readonly localVersion: number;
  constructor(remoteVersion: number, localVersion: number) {
    super(ProtocolVersionError.code, `peer speaks protocol version ${remoteVersion}, this node speaks ${localVersion}`, true);
    this.remoteVersion = remoteVersion;
    this.localVersion = localVersion;
  }
}

/** Limits given to a codec or transport are not positive integers, or contradict each other. */
export class InvalidLimitsError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_INVALID_LIMITS';
  constructor(message: string) {
    super(InvalidLimitsError.code, message);
  }
}

/** A send or close on a connection that is already closed. */
export class ConnectionClosedError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CONNECTION_CLOSED';
  constructor(message = 'connection is closed', options?: SystemgeErrorOptions) {
    super(ConnectionClosedError.code, message, options);
  }
}

/** A transport could not open a connection to a remote address. */
export class DialError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_DIAL_FAILED';
  readonly address: string;
  constructor(address: string, reason: string, options?: SystemgeErrorOptions) {
    super(DialError.code, `cannot connect to ${address}: ${reason}`, options);
    this.address = address;
  }
}

/** A transport could not listen on the requested address. */
export class ListenError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_LISTEN_FAILED';
  readonly address: string;
  constructor(address: string, reason: string, options?: SystemgeErrorOptions) {
    super(ListenError.code, `cannot listen on ${address}: ${reason}`, options);
    this.address = address;
  }
}

/** A socket-level failure on an open connection (reset, broken pipe, TLS alert...). */
export class ConnectionError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_CONNECTION';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(ConnectionError.code, message, options);
  }
}

/** True when `error` is a Systemge error with the given code (works across package copies). */
export function isSystemgeError(error: unknown, code?: string): error is SystemgeError {
  if (typeof error !== 'object' || error === null) return false;
  const c = (error as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('SYSTEMGE_ERR_')) return false;
  return code === undefined || c === code;
}
