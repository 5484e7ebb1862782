export { createNode, type NodeOptions } from './node.js';
export {
  resolveNodeConfig,
  loadNodeConfig,
  nodeConfigDataIssues,
  type NodeConfig,
  type ResolvedNodeConfig,
  type EndpointConfig,
  type AuthConfig,
  type ListenConfig,
  type HandlingMode,
  type HandlingConfig,
  type SyncConfig,
  type ConnectionConfig,
  type HeartbeatConfig,
  type DiscoveryConfig,
} from './config.js';
export {
  NodeConfigSchema,
  jsonSchemaDocument,
  ListenSchema,
  EndpointSchema,
  LimitsSchema,
  HandlingSchema,
  SyncSchema,
  ConnectionSchema,
  HeartbeatSchema,
  AuthSchema,
  AccessSchema,
  RateLimitsSchema,
  DiscoveryConfigSchema,
} from './config-schema.js';
export { schemaIssues, describeValue } from './config-validation.js';
export type {
  TopicMap,
  SyncTopicTypes,
  AnyTopics,
  AsyncTopic,
  SyncTopic,
  AsyncPayload,
  SyncRequestPayload,
  SyncResponsePayload,
  IncomingMessage,
  AsyncMessageHandler,
  SyncMessageHandler,
  AsyncMessageHandlers,
  SyncMessageHandlers,
  CommandHandler,
  CommandHandlers,
  CommandResult,
  JSONValue,
  SystemgeComponent,
  CommandComponent,
  LifecycleComponent,
  Application,
  ApplicationComponents,
  PluginContext,
  NodePlugin,
  PluginMetric,
  AcceptedPlugin,
} from './components.js';
export type {
  NodeStatus,
  SyncResponse,
  SyncOutcome,
  SyncRequest,
  AsyncMessageOptions,
  SyncRequestOptions,
  RequestOptions,
  PeerInfo,
  NodeEvents,
  NodeEventName,
  SystemgeNode,
} from './node-types.js';
export {
  NODE_METRICS,
  NODE_TOPIC_METRICS,
  SYNC_LATENCY_BUCKETS_MS,
  MAX_TOPIC_SERIES,
  OTHER_TOPIC,
  type NodeMetricSpec,
  type NodeMetricType,
  type NodeStats,
  type TopicCounts,
} from './stats.js';
export { silentLogger, type Logger, type LogFn } from './logger.js';
export { EventLoopProbe, type ProcessDescription } from './event-loop-probe.js';
export { BALANCE_STRATEGIES, type BalanceStrategy } from './messaging/balancer.js';
export { DEFAULT_REQUEST_RETRIES, MAX_REQUEST_RETRIES } from './messaging/balanced.js';
export {
  ConfigError,
  type ConfigIssue,
  NodeStatusError,
  NodeStoppedError,
  NoRouteError,
  PeerNotConnectedError,
  PeerLostError,
  SyncTimeoutError,
  SyncFailureError,
  NoHandlerError,
  BackpressureError,
  DuplicateNameError,
  HandshakeError,
  HandshakeTimeoutError,
  HeartbeatTimeoutError,
  ConnectAttemptsError,
  PeerReconnectingError,
  ReconnectQueueFullError,
  QueuedMessagesDiscardedError,
  UnknownCommandError,
  AuthenticationError,
  InvalidTopicError,
  InvalidArgumentError,
  SelfDialError,
  InsecureListenError,
  ConnectionSupersededError,
} from './errors.js';
export { MAX_TIMER_MS } from './timers.js';
export type { AccessControlConfig } from './connect/access-control.js';
export type { RateLimitConfig } from './messaging/rate-limits.js';
export type { CodedError, NodeErrorCode, ProtocolErrorCode, SystemgeErrorCode } from './error-codes.js';
// The protocol's errors, so applications can handle every Systemge error through this package alone.
export {
  SystemgeError,
  isSystemgeError,
  ProtocolError,
  FrameTooLargeError,
  InvalidFrameError,
  UnknownFrameKindError,
  TruncatedFrameError,
  EmptyTopicError,
  FieldTooLargeError,
  InvalidUTF8Error,
  PayloadEncodingError,
  PayloadEncodingUnsupportedError,
  ProtocolVersionError,
  InvalidLimitsError,
  ConnectionClosedError,
  ConnectionError,
  DialError,
  ListenError,
  type Payload,
} from '@systemge/protocol';
export {
  answerCommandRequest,
  decodeCommandResult,
  parseCommandFailure,
  parseCommandRequest,
  type CommandFailure,
  type CommandRequest,
} from './command-protocol.js';
export {
  remoteCommands,
  REMOTE_COMMAND_TOPIC,
  CommandNotPermittedError,
  RemoteCommandsUnauthenticatedError,
  type RemoteCommandsOptions,
} from './remote-commands.js';
export type {
  Discovery,
  Member,
  MemberRecord,
  MembershipEvent,
  MembershipListener,
  SkippedRecords,
} from './discovery/discovery.js';
export {
  MembershipView,
  ViewDiscovery,
  memberFromRecord,
  checkMemberRecord,
  plainMetadata,
  assertOpen,
  type MemberDescription,
} from './discovery/membership.js';
export { staticDiscovery, type StaticDiscoveryOptions, type StaticMember } from './discovery/static-discovery.js';
export {
  manualDiscovery,
  type ManualDiscovery,
  type ManualDiscoveryOptions,
  type ManualMember,
} from './discovery/manual-discovery.js';
export { DiscoveryUnavailableError, DiscoveryStateError } from './discovery/discovery-errors.js';
export {
  type ConnectTo,
  type NodeDiscoveryOptions,
  type DiscoveryState,
  type DiscoveryMemberState,
  CONNECT_TO_ALL_KEY,
} from './discovery/mesh.js';
