export {
  PROTOCOL_VERSION,
  FrameKind,
  frameKindName,
  isMessageFrame,
  payloadByteLength,
  type MessageKind,
  type Payload,
  type MessageFrame,
  type TopicSet,
  type AnnouncedLimits,
  type AnnouncedEncodings,
  type HandshakeFrame,
  type HandshakeAckFrame,
  type TopicsFrame,
  type HeartbeatFrame,
  type GoodbyeFrame,
  type ControlFrame,
  type Frame,
} from './frames.js';
export { DEFAULT_LIMITS, resolveLimits, type ProtocolLimits } from './limits.js';
export {
  SystemgeError,
  ProtocolError,
  FrameTooLargeError,
  InvalidFrameError,
  PayloadEncodingError,
  PayloadEncodingUnsupportedError,
  UnknownFrameKindError,
  TruncatedFrameError,
  EmptyTopicError,
  FieldTooLargeError,
  InvalidUTF8Error,
  ProtocolVersionError,
  InvalidLimitsError,
  ConnectionClosedError,
  ConnectionError,
  DialError,
  ListenError,
  isSystemgeError,
  type SystemgeErrorOptions,
  type ProtocolErrorContext,
} from './errors.js';
export {
  encodeFrame,
  encodeMessageInto,
  encodeMessageFieldsInto,
  messageFieldsBound,
  messageFrameBound,
  FRAME_PREFIX_BYTES,
  MESSAGE_HEADER_BYTES,
  PayloadEncoding,
  payloadEncoding,
} from './frame-encoder.js';
export { FrameDecoder, messageFrame, type FrameSink, type KnownTokenLookup, type MessageFieldsHandler } from './frame-decoder.js';
export {
  packPayload,
  unpackPayload,
  MAP_EXTENSION_TYPE,
  PAYLOAD_ENCODING_NAMES,
  ACCEPTED_ENCODINGS,
  BASE_ENCODINGS,
  encodingSet,
  acceptsEncoding,
  encodingNames,
  type PayloadEncodingName,
} from './payload-codec.js';
export { EARLY_FLUSH_BYTES, FrameWriter, type ByteSink, type FrameWriterOptions } from './frame-writer.js';
export {
  createStreamConnection,
  type StreamConnectionInfo,
  type StreamConnectionOptions,
} from './stream-connection.js';
export { listenOnSockets, type SocketListenerOptions } from './socket-listener.js';
export type {
  RemoteAddress,
  CloseInfo,
  CloseOptions,
  ConnectionHandlers,
  PeerCertificateInfo,
  Connection,
  AcceptFilter,
  ListenOptions,
  Listener,
  DialTarget,
  DialOptions,
  Transport,
} from './transport.js';
export { childLogger, silentLogger, type Logger, type LogFn } from './logger.js';
