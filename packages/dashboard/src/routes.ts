import { type CommandResult, UnknownCommandError } from '@systemge/node';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { isLoopbackHost, type TokenCheck } from '@systemge/access';
import { hostnameOf, originAllowed, presentedToken } from './access.js';
import type { DashboardNodeDetails, DashboardNodeSummary, Topology } from './dashboard.js';
import {
  DashboardError,
  DashboardForbiddenError,
  DashboardInternalError,
  DashboardRequestError,
  DashboardUnauthorizedError,
  RouteNotFoundError,
  UnknownNodeError,
} from './errors.js';
import type { LiveFeed } from './live-feed.js';
import { loadUIFiles, UI_CONTENT_SECURITY_POLICY } from './ui-files.js';

/** Who asked for an operation, for the audit log. */
export interface Caller {
  /** Remote address of the HTTP or WebSocket client. */
  remote: string;
  via: 'http' | 'ws';
  /** Correlation id a WebSocket client gave its command; echoed in the `command` message. */
  id?: unknown;
}

/** What the routes need from the dashboard. */
export interface DashboardCore {
  readonly feed: LiveFeed;
  list(): DashboardNodeSummary[];
  details(name: string): Promise<DashboardNodeDetails>;
  run(name: string, command: string, args: string[], caller: Caller): Promise<CommandResult>;
  runAll(command: string, caller: Caller): Promise<Record<string, { result: CommandResult } | { error: string; code: string }>>;
  prometheus(): Promise<{ contentType: string; body: string }>;
  health(): Record<string, unknown>;
  topology(): Topology;
}

export interface AccessRules {
  tokenCheck: TokenCheck | undefined;
  allowedOrigins: ReadonlySet<string> | undefined;
  loopbackOnly: boolean;
}

interface ErrorBody {
  error: string;
  code: string;
  commands?: string[];
}

/** `{ error, code }` and the HTTP status for anything a handler throws. */
function errorReply(error: unknown): { status: number; body: ErrorBody } {
  const e = error as Partial<FastifyError> & { code?: string; available?: string[] };
  if (e instanceof DashboardError) return { status: e.statusCode, body: { error: e.message, code: e.code } };
  if (e?.code === UnknownCommandError.code) {
    return { status: 404, body: { error: e.message ?? 'unknown command', code: e.code, commands: e.available ?? [] } };
  }
  // Fastify's own 4xx: malformed JSON, empty JSON body, unsupported media type, body too large.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: e.message ?? 'bad request', code: DashboardRequestError.code } };
  }
  const internal = new DashboardInternalError(e?.message ?? String(error));
  return { status: 500, body: { error: internal.message, code: internal.code } };
}

function commandBody(body: unknown): { command: string; args: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DashboardRequestError('body must be a JSON object {"command": string, "args"?: string[]}');
  }
  const { command, args } = body as { command?: unknown; args?: unknown };
  if (typeof command !== 'string' || command === '') throw new DashboardRequestError('"command" must be a non-empty string');
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
    throw new DashboardRequestError('"args" must be an array of strings');
  }
  return { command, args: (args as string[] | undefined) ?? [] };
}

function caller(request: FastifyRequest, via: Caller['via']): Caller {
  return { remote: request.ip, via };
}

/** Registers the browser UI, the JSON API, `/metrics` and `/ws` behind the access checks. */
export function registerRoutes(app: FastifyInstance, core: DashboardCore, rules: AccessRules): void {
  const allowedHostnames = new Set<string>();
  for (const origin of rules.allowedOrigins ?? []) {
    try {
      allowedHostnames.add(new URL(origin).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase());
    } catch {
      // An entry that is not a URL can never match an Origin header either.
    }
  }

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    const host = request.headers.host;
    // Without a token, a loopback dashboard answers only to loopback host names: a page that
    // points its own domain at 127.0.0.1 must not reach the API.
    if (rules.tokenCheck === undefined && rules.loopbackOnly) {
      const hostname = host === undefined ? '' : hostnameOf(host).toLowerCase();
      if (!isLoopbackHost(hostname) && !allowedHostnames.has(hostname)) {
        throw new DashboardForbiddenError(`host ${JSON.stringify(host ?? '')} is not allowed`);
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, rules.allowedOrigins, rules.loopbackOnly)) {
      throw new DashboardForbiddenError(`origin ${JSON.stringify(origin)} is not allowed`);
    }
    // The page and its assets hold no data: a browser must load them to ask for the token.
    const isPage = (request.routeOptions.config as { page?: boolean } | undefined)?.page === true;
    if (rules.tokenCheck !== undefined && !isPage && !rules.tokenCheck.matches(presentedToken(request.headers))) {
      void reply.header('www-authenticate', 'Bearer realm="systemge-dashboard"');
      throw new DashboardUnauthorizedError();
    }
  });

  // The API reads JSON only. Fastify also parses text/plain by default, which would turn a text body into
  // a 400 about its shape; without that parser any other media type gets 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error, _request, reply) => {
    const { status, body } = errorReply(error);
    void reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new RouteNotFoundError(request.method, request.url.split('?')[0] ?? '');
    void reply.code(404).send({ error: error.message, code: error.code });
  });

  for (const [path, file] of loadUIFiles()) {
    app.get(path, { config: { page: true } }, (request, reply) => {
      void reply.header('cache-control', file.cacheControl).header('etag', file.etag).type(file.contentType);
      if (path === '/') void reply.header('content-security-policy', UI_CONTENT_SECURITY_POLICY);
      if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
      const gzip = file.gzipped !== undefined && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
      void reply.header('vary', 'accept-encoding');
      if (gzip) void reply.header('content-encoding', 'gzip');
      return reply.send(gzip ? file.gzipped : file.body);
    });
  }

  app.get('/api/health', () => core.health());
  app.get('/api/nodes', () => ({ nodes: core.list() }));
  app.get('/api/topology', () => core.topology());
  app.get<{ Params: { name: string } }>('/api/nodes/:name', (request) => core.details(request.params.name));

  for (const command of ['start', 'stop', 'restart'] as const) {
    app.post(`/api/nodes/${command}`, async (request) => ({ results: await core.runAll(command, caller(request, 'http')) }));
  }
  for (const command of ['start', 'stop', 'restart'] as const) {
    app.post<{ Params: { name: string } }>(`/api/nodes/:name/${command}`, async (request) => ({
      result: await core.run(request.params.name, command, [], caller(request, 'http')),
    }));
  }
  app.post<{ Params: { name: string } }>('/api/nodes/:name/command', async (request) => {
    const { command, args } = commandBody(request.body);
    return { result: await core.run(request.params.name, command, args, caller(request, 'http')) };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await core.prometheus();
    return reply.type(contentType).send(body);
  });

  app.get('/ws', { websocket: true }, (socket: WebSocket, request: FastifyRequest) => {
    const feed = core.feed;
    feed.add(socket);
    feed.send(socket, { type: 'nodes', nodes: core.list() });
    feed.send(socket, { type: 'topology', ...core.topology() });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      void onClientMessage(core, socket, data, isBinary, caller(request, 'ws'));
    });
    socket.on('error', () => {
      // A client that vanished mid-frame; its close event removes it from the feed.
    });
  });
}

/** `{ type: 'command', name, command, args?, id? }` from a WebSocket client. */
async function onClientMessage(core: DashboardCore, socket: WebSocket, data: RawData, isBinary: boolean, from: Caller): Promise<void> {
  let id: unknown;
  try {
    if (isBinary) throw new DashboardRequestError('messages must be JSON text');
    let message: { type?: unknown; name?: unknown; id?: unknown };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch (error) {
      throw new DashboardRequestError('message is not valid JSON', { cause: error });
    }
    if (typeof message !== 'object' || message === null) throw new DashboardRequestError('message must be a JSON object');
    id = message.id;
    if (message.type !== 'command')
      throw new DashboardRequestError(`unknown message type ${JSON.stringify(message.type)}; expected "command"`);
    if (typeof message.name !== 'string') throw new DashboardRequestError('"name" must be the node name');
    const { command, args } = commandBody(message);
    try {
      // Its outcome reaches every client, this one included, as a `command` message.
      await core.run(message.name, command, args, { ...from, id });
    } catch (error) {
      if ((error as { code?: string }).code === UnknownNodeError.code) throw error;
    }
  } catch (error) {
    const { body } = errorReply(error);
    core.feed.send(socket, { type: 'error', id, ...body });
  }
}
