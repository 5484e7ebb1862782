import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatHost } from '@systemge/access';
import type {
  AnyTopics,
  Application,
  CommandHandlers,
  Logger,
  NodePlugin,
  PluginContext,
  PluginMetric,
  SystemgeNode,
  TopicMap,
} from '@systemge/node';
import type { WebSocket } from 'ws';
import { admissionRefusal } from './admission.js';
import { ClientRegistry } from './client-registry.js';
import { Counters } from './counters.js';
import { Inbound, isThenable, type WebSocketMessageHandler, type WebSocketMessageHandlers } from './inbound.js';
import {
  resolveOptions,
  type ResolvedOptions,
  type WebSocketComponentOptions,
  type WebSocketHTTPHost,
  type WebSocketTLSOptions,
} from './options.js';
import { Outbound } from './outbound.js';
import { listenOwn } from './own-server.js';
import { ClientState, type DisconnectReason, type WebSocketClient } from './websocket-client.js';
import { WebSocketConfigError, WebSocketStateError } from './websocket-errors.js';
import { OutgoingMessage } from './wire-codec.js';

/** The application component the WebSocket component reads its handlers and callbacks from. */
export interface WebSocketComponentApplication<T extends TopicMap = AnyTopics> {
  /** Handlers by topic, read at every start. */
  getWebsocketMessageHandlers?(): WebSocketMessageHandlers<T>;
  /** Runs once per client, when it has connected. A throw closes the client with 1011. */
  onConnect?(client: WebSocketClient, node: SystemgeNode<T>): void | Promise<void>;
  /** Runs once per client that got `onConnect`, however it went away (close frame, vanished, cut off, stop). */
  onDisconnect?(client: WebSocketClient, reason: DisconnectReason, node: SystemgeNode<T>): void | Promise<void>;
}

declare module '@systemge/node' {
  // An application with WebSocket handlers type-checks as a node application once this package is imported.
  interface ApplicationComponents<T extends TopicMap = AnyTopics> {
    getWebsocketMessageHandlers?(): WebSocketMessageHandlers<T>;
    onConnect?(client: WebSocketClient, node: SystemgeNode<T>): void | Promise<void>;
    onDisconnect?(client: WebSocketClient, reason: DisconnectReason, node: SystemgeNode<T>): void | Promise<void>;
  }
}

/** The WebSocket component: a `NodePlugin` plus clients, groups and sending. */
export interface WebSocketComponent<T extends TopicMap = AnyTopics> extends NodePlugin<T> {
  /** `ws://127.0.0.1:41234/ws` (or wss) while serving. */
  readonly url: string | undefined;
  /** Sends to one client. False when the id is unknown or the client was cut off as too slow. */
  send(clientId: string, topic: string, payload: unknown): boolean;
  /** Sends to each listed client; returns how many it was queued for. */
  multicast(clientIds: Iterable<string>, topic: string, payload: unknown): number;
  /** Sends to every member of a group; returns how many it was queued for. */
  groupcast(group: string, topic: string, payload: unknown): number;
  /** Sends to every client; returns how many it was queued for. */
  broadcast(topic: string, payload: unknown): number;
  /** Adds a client to a group (created on first join). False when the id is unknown. */
  joinGroup(clientId: string, group: string): boolean;
  /** Removes a client from a group; the group vanishes when empty. False when it was not a member. */
  leaveGroup(clientId: string, group: string): boolean;
  /** Names of the non-empty groups. */
  groups(): string[];
  /** Ids of a group's members (empty for an unknown group). */
  groupMembers(group: string): string[];
  /** Ids of the connected clients. */
  clients(): string[];
  client(clientId: string): WebSocketClient | undefined;
  /** Closes a client's connection (default 1000). False when the id is unknown. */
  disconnect(clientId: string, code?: number, reason?: string): boolean;
  /** `websocket:clients`, `websocket:groups`, `websocket:kick <id>` (prefix = `name`). */
  getCommandHandlers(): CommandHandlers;
  /** Counters; see the README for the keys. */
  getStats(): Record<string, number>;
  /** The same counters as labelled samples named `websocket_<key>`. */
  getMetrics(): PluginMetric[];
  describe(): Record<string, unknown>;
}

/**
 * The component's front: lifecycle, the endpoint and its admission, and the public API. Inbound messages
 * go to `Inbound`, outgoing bytes through `Outbound`, clients and groups live in `ClientRegistry`.
 */
class WebSocketComponentImpl<T extends TopicMap> implements WebSocketComponent<T> {
  readonly name: string;
  private readonly options: ResolvedOptions;
  private readonly tls: WebSocketTLSOptions | undefined;
  private readonly host: WebSocketHTTPHost | undefined;
  private readonly counters = new Counters();
  private readonly registry = new ClientRegistry();
  private readonly outbound: Outbound;
  private readonly inbound: Inbound<T>;
  handlers = new Map<string, WebSocketMessageHandler<T>>();
  private application: WebSocketComponentApplication<T> = {};
  node: SystemgeNode<T> | undefined;
  logger: Logger | undefined;
  private serving = false;
  private server: FastifyInstance | undefined;
  private ownAddress: { host: string; port: number } | undefined;
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(options: WebSocketComponentOptions) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
    this.tls = options.https;
    this.host = options.http;
    this.outbound = new Outbound(this.name, this.options, this.counters, () => this.logger);
    this.inbound = new Inbound<T>(this, this.options, this.counters, this.outbound);
    // Mount now: the HTTP component applies mounts when it starts, which may be before this plugin starts.
    this.host?.register((scope) => this.mount(scope));
  }

  get url(): string | undefined {
    if (this.host !== undefined) {
      const base = this.host.url;
      return base === undefined ? undefined : `${base.replace(/^http/, 'ws')}${this.options.path}`;
    }
    const a = this.ownAddress;
    return a === undefined ? undefined : `${this.tls === undefined ? 'ws' : 'wss'}://${formatHost(a.host)}:${a.port}${this.options.path}`;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(context: PluginContext<T>): Promise<void> {
    if (this.serving) throw new WebSocketStateError(`WebSocket component "${this.name}" is already started`);
    this.node = context.node;
    this.logger = context.logger;
    this.application = context.application as Application<T> & WebSocketComponentApplication<T>;
    const handlers = new Map<string, WebSocketMessageHandler<T>>();
    for (const [topic, handler] of Object.entries(this.application.getWebsocketMessageHandlers?.() ?? {})) {
      if (typeof handler !== 'function')
        throw new WebSocketConfigError(`getWebsocketMessageHandlers()[${JSON.stringify(topic)}]`, 'handler must be a function');
      handlers.set(topic, handler);
    }
    this.handlers = handlers;

    if (this.host === undefined) {
      const own = await listenOwn(this.options.host, this.options.port, this.tls, (scope) => this.mount(scope));
      this.server = own.fastify;
      this.ownAddress = own.address;
    }
    this.serving = true;
    if (this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.sweep(), this.options.pingIntervalMs);
      this.pingTimer.unref();
    }
    this.logger.info({ plugin: this.name, url: this.url }, 'WebSocket serving');
  }

  async stop(): Promise<void> {
    this.serving = false;
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    await this.closeAll(1001, 'server shutting down');
    const server = this.server;
    this.server = undefined;
    this.ownAddress = undefined;
    await server?.close();
  }

  /** Closes every client with a close frame, and cuts off those that do not answer within `closeTimeoutMs`. */
  private async closeAll(code: number, reason: string): Promise<void> {
    const clients = [...this.registry.values()];
    if (clients.length === 0) return;
    await new Promise<void>((resolve) => {
      let open = clients.length;
      const timer = setTimeout(() => {
        for (const c of clients) c.terminate(code, reason);
      }, this.options.closeTimeoutMs);
      for (const c of clients) {
        c.socket.once('close', () => {
          if (--open === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
        c.close(code, reason);
      }
    });
  }

  // ------------------------------------------------------------------ mounting and admission

  private async mount(scope: FastifyInstance): Promise<void> {
    // One @fastify/websocket per server: a second copy would route every upgrade twice.
    if (!scope.hasDecorator('websocketServer')) {
      await scope.register(fastifyWebsocket, {
        options: { maxPayload: this.options.maxMessageBytes },
        // ws itself closes the connection after a protocol error (1002, 1009...); terminating here would
        // drop that close frame.
        errorHandler: () => {},
        preClose: async () => {
          await this.closeAll(1001, 'server shutting down');
        },
      });
    }
    scope.get(
      this.options.path,
      { websocket: true, onRequest: (request, reply, done) => this.admit(request, reply, done) },
      (socket, request) => this.accept(socket, request),
    );
  }

  /** Runs before the upgrade: what is refused here never becomes a WebSocket. */
  private admit(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (!request.ws) {
      done();
      return;
    }
    const refusal = admissionRefusal(
      request,
      this.options,
      { name: this.name, serving: this.serving, clients: this.registry.size },
      this.counters,
    );
    if (refusal === undefined) {
      done();
      return;
    }
    this.logger?.debug({ plugin: this.name, address: request.ip, reason: refusal.message }, 'WebSocket upgrade refused');
    void reply.code(refusal.status).send({ statusCode: refusal.status, error: refusal.error, message: refusal.message });
  }

  private accept(socket: WebSocket, request: FastifyRequest): void {
    const node = this.node;
    if (!this.serving || node === undefined) {
      socket.close(1001, 'server shutting down');
      return;
    }
    if (this.registry.size >= this.options.maxClients) {
      // Upgrades admitted together can overshoot the check in admit().
      this.counters.refusedFull++;
      socket.close(1013, 'too many clients');
      return;
    }
    const raw: IncomingMessage = request.raw;
    const o = this.options;
    const client = new ClientState(randomUUID(), socket, request.ip, request.headers.origin, raw.headers, raw.socket, this.outbound, o);
    this.registry.add(client);
    this.counters.connections++;
    socket.on('message', (data, isBinary) => this.inbound.receive(client, data, isBinary));
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.counters.oversizeMessages++;
        client.serverReason ??= { code: 1009, reason: `message over maxMessageBytes (${o.maxMessageBytes})`, initiator: 'server' };
      } else {
        client.serverReason ??= { code: 1002, reason: error.message, initiator: 'server' };
      }
      this.logger?.debug({ plugin: this.name, client: client.id, err: error }, 'WebSocket protocol error');
    });
    socket.once('close', (code: number, reason: Buffer) => this.onClose(client, code, reason.toString('utf8')));

    try {
      client.announced = true;
      const result = this.application.onConnect?.(client, node);
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) => this.failConnect(client, error));
      }
    } catch (error) {
      this.failConnect(client, error);
    }
  }

  private failConnect(client: ClientState, error: unknown): void {
    this.logger?.warn({ plugin: this.name, client: client.id, err: error }, 'onConnect failed');
    client.close(1011, 'connection setup failed');
  }

  private onClose(client: ClientState, code: number, reason: string): void {
    if (client.closed) return;
    client.closed = true;
    clearTimeout(client.slowTimer);
    client.slowTimer = undefined;
    this.registry.remove(client);
    if (!client.announced) return;
    const why = client.serverReason ?? {
      code,
      reason: reason === '' && code === 1006 ? 'connection lost without a close frame' : reason,
      initiator: 'client' as const,
    };
    const node = this.node;
    if (node === undefined) return;
    try {
      const result = this.application.onDisconnect?.(client, why, node);
      if (isThenable(result))
        result.then(undefined, (error: unknown) => this.logger?.warn({ plugin: this.name, err: error }, 'onDisconnect failed'));
    } catch (error) {
      this.logger?.warn({ plugin: this.name, client: client.id, err: error }, 'onDisconnect failed');
    }
  }

  /** Liveness: a client that did not answer the previous ping is terminated, the others pinged again. */
  private sweep(): void {
    for (const client of this.registry.values()) {
      if (!client.alive) {
        this.counters.deadClientDisconnects++;
        client.terminate(1006, `no pong within ${this.options.pingIntervalMs} ms`);
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }

  // ------------------------------------------------------------------ sending

  send(clientId: string, topic: string, payload: unknown): boolean {
    const client = this.registry.get(clientId);
    return client === undefined ? false : this.outbound.deliver(client, new OutgoingMessage(topic, payload));
  }

  multicast(clientIds: Iterable<string>, topic: string, payload: unknown): number {
    const clients: ClientState[] = [];
    for (const id of clientIds) {
      const client = this.registry.get(id);
      if (client !== undefined) clients.push(client);
    }
    return this.outbound.deliverAll(clients, topic, payload);
  }

  groupcast(group: string, topic: string, payload: unknown): number {
    // A slow member cut off mid-loop leaves the group; members() is a snapshot.
    return this.outbound.deliverAll(this.registry.members(group), topic, payload);
  }

  broadcast(topic: string, payload: unknown): number {
    return this.outbound.deliverAll([...this.registry.values()], topic, payload);
  }

  // ------------------------------------------------------------------ groups and clients

  joinGroup(clientId: string, group: string): boolean {
    return this.registry.join(clientId, group);
  }

  leaveGroup(clientId: string, group: string): boolean {
    return this.registry.leave(clientId, group);
  }

  groups(): string[] {
    return this.registry.groups();
  }

  groupMembers(group: string): string[] {
    return this.registry.members(group).map((c) => c.id);
  }

  clients(): string[] {
    return this.registry.ids();
  }

  client(clientId: string): WebSocketClient | undefined {
    return this.registry.get(clientId);
  }

  disconnect(clientId: string, code = 1000, reason = ''): boolean {
    const client = this.registry.get(clientId);
    if (client === undefined) return false;
    client.close(code, reason);
    return true;
  }

  // ------------------------------------------------------------------ introspection

  getCommandHandlers(): CommandHandlers {
    const p = this.name;
    return {
      [`${p}:clients`]: () =>
        [...this.registry.values()].map((c) => ({
          id: c.id,
          remote: c.remoteAddress,
          groups: [...c.groups],
          connectedAt: new Date(c.connectedAt).toISOString(),
          bufferedBytes: c.bufferedBytes,
        })),
      [`${p}:groups`]: () => this.registry.groupSizes(),
      [`${p}:kick`]: (args) => {
        const id = args[0];
        if (id === undefined) throw new Error(`usage: ${p}:kick <client id>`);
        return this.disconnect(id, 1008, 'disconnected by operator') ? `client ${id} disconnected` : `no client ${id}`;
      },
    };
  }

  getStats(): Record<string, number> {
    return this.counters.snapshot(this.registry.size, this.registry.groupCount);
  }

  getMetrics(): PluginMetric[] {
    return this.counters.metrics(this.registry.size, this.registry.groupCount);
  }

  describe(): Record<string, unknown> {
    return {
      url: this.url,
      serving: this.serving,
      clients: this.registry.size,
      groups: this.registry.groupCount,
      sharedWith: this.host?.name,
    };
  }
}

/**
 * Creates the WebSocket component. Its handlers come from `application.getWebsocketMessageHandlers()`;
 * pass it to `createNode(config, app, { plugins: [ws] })`. With `{ http }` it shares that component's port.
 */
export function websocketComponent<T extends TopicMap = AnyTopics>(options: WebSocketComponentOptions = {}): WebSocketComponent<T> {
  return new WebSocketComponentImpl<T>(options);
}
