import type {
  ConnectionClosedError,
  ConnectionError,
  DialError,
  EmptyTopicError,
  FieldTooLargeError,
  FrameTooLargeError,
  InvalidFrameError,
  InvalidLimitsError,
  InvalidUTF8Error,
  ListenError,
  PayloadEncodingError,
  PayloadEncodingUnsupportedError,
  ProtocolVersionError,
  SystemgeError,
  TruncatedFrameError,
  UnknownFrameKindError,
} from '@systemge/protocol';
import type {
  AuthenticationError,
  BackpressureError,
  ConfigError,
  ConnectAttemptsError,
  ConnectionSupersededError,
  DuplicateNameError,
  HandshakeError,
  HandshakeTimeoutError,
  HeartbeatTimeoutError,
  InsecureListenError,
  InvalidArgumentError,
  InvalidTopicError,
  NodeStatusError,
  NodeStoppedError,
  NoHandlerError,
  NoRouteError,
  PeerLostError,
  PeerNotConnectedError,
  PeerReconnectingError,
  QueuedMessagesDiscardedError,
  ReconnectQueueFullError,
  SelfDialError,
  SyncFailureError,
  SyncTimeoutError,
  UnknownCommandError,
} from './errors.js';

type CodeOf<C extends { readonly code: string }> = C['code'];

/** Codes of the errors `@systemge/protocol` defines (frames, limits, connections). */
export type ProtocolErrorCode = CodeOf<
  | typeof FrameTooLargeError
  | typeof InvalidFrameError
  | typeof UnknownFrameKindError
  | typeof TruncatedFrameError
  | typeof EmptyTopicError
  | typeof FieldTooLargeError
  | typeof InvalidUTF8Error
  | typeof PayloadEncodingError
  | typeof PayloadEncodingUnsupportedError
  | typeof ProtocolVersionError
  | typeof InvalidLimitsError
  | typeof ConnectionClosedError
  | typeof ConnectionError
  | typeof DialError
  | typeof ListenError
>;

/** Codes of the errors a node defines. */
export type NodeErrorCode = CodeOf<
  | typeof ConfigError
  | typeof NodeStatusError
  | typeof NodeStoppedError
  | typeof NoRouteError
  | typeof PeerNotConnectedError
  | typeof PeerLostError
  | typeof SyncTimeoutError
  | typeof SyncFailureError
  | typeof NoHandlerError
  | typeof BackpressureError
  | typeof DuplicateNameError
  | typeof HandshakeError
  | typeof HandshakeTimeoutError
  | typeof HeartbeatTimeoutError
  | typeof ConnectAttemptsError
  | typeof PeerReconnectingError
  | typeof ReconnectQueueFullError
  | typeof QueuedMessagesDiscardedError
  | typeof UnknownCommandError
  | typeof AuthenticationError
  | typeof InvalidTopicError
  | typeof InvalidArgumentError
  | typeof SelfDialError
  | typeof InsecureListenError
  | typeof ConnectionSupersededError
>;

/** Every code a node or its protocol layer reports (docs/errors.md explains each). Plugins add their own. */
export type SystemgeErrorCode = ProtocolErrorCode | NodeErrorCode;

/** A `SystemgeError` whose `code` is one of `C`: switch on `code` to handle each case. */
export type CodedError<C extends string = SystemgeErrorCode> = SystemgeError & { readonly code: C };
