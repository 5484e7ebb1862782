import type { Payload } from '@systemge/protocol';
import type { Logger } from './logger.js';
import type { SystemgeNode } from './node-types.js';

/**
 * Optional compile-time map of topics to payload types.
 * `async` maps a topic to its payload; `sync` maps a topic to its request and response payloads.
 * A payload type may be any value msgpack carries: strings, bytes, objects, arrays, numbers, `Date`...
 * Declare it with `type` or with `interface`s (no index signature needed).
 *
 * ```ts
 * interface Topics {
 *   async: { 'chat.message': { room: string; text: string } };
 *   sync: { 'math.add': { request: { a: number; b: number }; response: number } };
 * }
 * ```
 */
export interface TopicMap {
  /** Topic → payload. */
  async: object;
  /** Topic → `{ request; response }`. An entry without both makes that topic's payloads `never`. */
  sync: object;
}

/** One sync topic's payload types. */
export interface SyncTopicTypes<Req = Payload, Res = Payload> {
  request: Req;
  response: Res;
}

/** The default map: any topic, any payload. */
export interface AnyTopics extends TopicMap {
  async: Record<string, Payload>;
  sync: Record<string, SyncTopicTypes>;
}

export type AsyncTopic<T extends TopicMap> = keyof T['async'] & string;
export type SyncTopic<T extends TopicMap> = keyof T['sync'] & string;
export type AsyncPayload<T extends TopicMap, K extends AsyncTopic<T>> = T['async'][K];
export type SyncRequestPayload<T extends TopicMap, K extends SyncTopic<T>> = T['sync'][K] extends { request: infer R } ? R : never;
export type SyncResponsePayload<T extends TopicMap, K extends SyncTopic<T>> = T['sync'][K] extends { response: infer R } ? R : never;

/** A message delivered to a handler. */
export interface IncomingMessage<P extends Payload = Payload> {
  readonly topic: string;
  readonly payload: P;
  /** Name of the sending node, from its handshake (never from the frame). */
  readonly origin: string;
  /** Set for sync requests. */
  readonly syncToken: string | undefined;
}

export type AsyncMessageHandler<P extends Payload = Payload, T extends TopicMap = AnyTopics> = (
  message: IncomingMessage<P>,
  node: SystemgeNode<T>,
) => void | Promise<void>;

/** Returns the response payload; a throw or rejection becomes a failure response carrying the error message. */
export type SyncMessageHandler<P extends Payload = Payload, R extends Payload = Payload, T extends TopicMap = AnyTopics> = (
  message: IncomingMessage<P>,
  node: SystemgeNode<T>,
) => R | Promise<R>;

export type AsyncMessageHandlers<T extends TopicMap = AnyTopics> = {
  [K in AsyncTopic<T>]?: AsyncMessageHandler<AsyncPayload<T, K>, T>;
};

export type SyncMessageHandlers<T extends TopicMap = AnyTopics> = {
  [K in SyncTopic<T>]?: SyncMessageHandler<SyncRequestPayload<T, K>, SyncResponsePayload<T, K>, T>;
};

/** A value JSON can carry: what commands return when they return data. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/**
 * What a command returns: text for the operator, or data (any JSON value). Data reaches callers
 * as data: `node.command()`, the dashboard API's `result`, and `systemge command` (printed as JSON).
 */
export type CommandResult = JSONValue;

/** A command: gets its arguments, returns text or data for the operator. */
export type CommandHandler = (args: string[]) => CommandResult | Promise<CommandResult>;
export type CommandHandlers = Record<string, CommandHandler>;

/** An application that exchanges messages with other nodes. */
export interface SystemgeComponent<T extends TopicMap = AnyTopics> {
  getAsyncMessageHandlers?(): AsyncMessageHandlers<T>;
  getSyncMessageHandlers?(): SyncMessageHandlers<T>;
}

/** An application that offers commands (to the console, the dashboard and `node.command`). */
export interface CommandComponent {
  getCommandHandlers(): CommandHandlers;
}

/** An application that wants to know when the node starts and stops. */
export interface LifecycleComponent<T extends TopicMap = AnyTopics> {
  /** Runs after the node listens and has dialed its endpoints; a throw fails `start()`. */
  onStart?(node: SystemgeNode<T>): void | Promise<void>;
  /** Runs when the node stops, before its connections close. */
  onStop?(node: SystemgeNode<T>): void | Promise<void>;
}

/** Any object; its components are found by the methods it has. */
export type Application<T extends TopicMap = AnyTopics> = ApplicationComponents<T>;

/**
 * The methods an application may have. Plugin packages add theirs by augmenting this interface
 * (`declare module '@systemge/node' { interface ApplicationComponents<T> { … } }`), so an
 * application written inline type-checks once the plugin package is imported.
 */
export interface ApplicationComponents<T extends TopicMap = AnyTopics>
  extends Partial<SystemgeComponent<T>>,
    Partial<CommandComponent>,
    LifecycleComponent<T> {}

/**
 * One labelled value a plugin reports through `getMetrics()`. Samples with the same `name`
 * form one metric: they share `help`, `type` and the label names.
 */
export interface PluginMetric {
  /** Metric name without the registry prefix, e.g. `http_requests_total` (counters end in `_total`). */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** Label values by label name, e.g. `{ route: 'GET /users/:id', status: '2xx' }`. */
  labels?: Record<string, string>;
  value: number;
}

/** What a plugin gets when the node starts it. */
export interface PluginContext<T extends TopicMap = AnyTopics> {
  node: SystemgeNode<T>;
  application: Application<T>;
  logger: Logger;
}

/**
 * Extends a node with another face (HTTP, WebSocket, a dashboard client...).
 * Packages such as `@systemge/http` implement it; the node depends on none of them.
 * Plugins start in order after the node's listener and dials, and stop in reverse order first.
 */
export interface NodePlugin<T extends TopicMap = AnyTopics> {
  /** Unique within a node, e.g. `http`. */
  readonly name: string;
  start(context: PluginContext<T>): Promise<void> | void;
  stop(context: PluginContext<T>): Promise<void> | void;
  /** Extra commands, merged with the node's (names must not clash). */
  getCommandHandlers?(): CommandHandlers;
  /** Plain totals for the `stats` command and dashboards: a flat record of numbers, read on demand. */
  getStats?(): Record<string, number>;
  /** Samples for Prometheus and dashboards, labelled, read on demand (at scrape time). */
  getMetrics?(): PluginMetric[];
  /** Details for the `status` command and dashboards (addresses, client counts...). */
  describe?(): Record<string, unknown>;
}

/**
 * A plugin a node with topic map `T` accepts: one typed for `T` (e.g. `httpComponent()` written inline in
 * `plugins`, which infers `T` from the node), or one declared without a map (`const http = httpComponent()`),
 * which sees the node through the untyped `AnyTopics` view.
 */
export type AcceptedPlugin<T extends TopicMap = AnyTopics> = [AnyTopics] extends [T]
  ? NodePlugin<T>
  : NodePlugin<T> | NodePlugin<AnyTopics>;
