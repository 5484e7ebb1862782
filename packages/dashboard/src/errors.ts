import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/**
 * An error the dashboard answers a request with. `statusCode` is the HTTP status of the
 * JSON `{ error, code }` reply; WebSocket clients get the same `code`.
 */
export class DashboardError extends SystemgeError {
  readonly statusCode: number;
  constructor(code: string, message: string, statusCode: number, options?: SystemgeErrorOptions) {
    super(code, message, options);
    this.statusCode = statusCode;
  }
}

/** The dashboard would listen on a non-loopback address without a token. Thrown by `createDashboard`. */
export class DashboardTokenRequiredError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_TOKEN_REQUIRED';
  readonly host: string;
  /** Which listener: `dashboard` (the HTTP server, option `host`) or `systemge` (option `systemge.host`). */
  readonly listener: string;
  constructor(host: string, what: string) {
    super(
      DashboardTokenRequiredError.code,
      `${what} host ${JSON.stringify(host)} is not a loopback address: set the dashboard token (option token) to require it from every client and remote node`,
      500,
    );
    this.host = host;
    this.listener = what;
  }
}

/** A dashboard option is out of range or malformed; `option` names it. Thrown by `createDashboard`. */
export class DashboardOptionError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_INVALID_OPTION';
  readonly option: string;
  /** What the option must be, without the option's name. */
  readonly requirement: string;
  constructor(option: string, requirement: string, options?: SystemgeErrorOptions) {
    super(DashboardOptionError.code, `dashboard option ${option} must be ${requirement}`, 500, options);
    this.requirement = requirement;
    this.option = option;
  }
}

/** The dashboard is not in the state the call needs, e.g. `start()` on a dashboard that was started before. */
export class DashboardStateError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_STATE';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(DashboardStateError.code, message, 500, options);
  }
}

/** No node with this name is registered with the dashboard. HTTP 404. */
export class UnknownNodeError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_UNKNOWN_NODE';
  readonly node: string;
  constructor(node: string, known: readonly string[]) {
    super(UnknownNodeError.code, `unknown node ${JSON.stringify(node)}; known: ${known.join(', ') || '(none)'}`, 404);
    this.node = node;
  }
}

/** `addNode` with the name of a node the dashboard already shows. */
export class DuplicateNodeError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_DUPLICATE_NODE';
  readonly node: string;
  constructor(node: string) {
    super(DuplicateNodeError.code, `a node named ${JSON.stringify(node)} is already registered with the dashboard`, 409);
    this.node = node;
  }
}

/** A remote node's link is down, or it did not answer in time. HTTP 503. */
export class NodeUnavailableError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_NODE_UNAVAILABLE';
  readonly node: string;
  constructor(node: string, reason: string, options?: SystemgeErrorOptions) {
    super(NodeUnavailableError.code, `node ${JSON.stringify(node)} is unavailable: ${reason}`, 503, options);
    this.node = node;
  }
}

/** A request body or WebSocket message is not valid JSON or has the wrong shape. HTTP 400. */
export class DashboardRequestError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(DashboardRequestError.code, message, 400, options);
  }
}

/** The request carries no token or a wrong one. HTTP 401. */
export class DashboardUnauthorizedError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_UNAUTHORIZED';
  constructor() {
    super(DashboardUnauthorizedError.code, 'missing or wrong dashboard token', 401);
  }
}

/** The request's `Origin` (or, without a token, its `Host`) is not allowed. HTTP 403. */
export class DashboardForbiddenError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_FORBIDDEN';
  constructor(reason: string) {
    super(DashboardForbiddenError.code, reason, 403);
  }
}

/** A command ran and threw; the message is the command's error. HTTP 500. */
export class CommandFailedError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_COMMAND_FAILED';
  readonly node: string;
  readonly command: string;
  constructor(node: string, command: string, message: string, options?: SystemgeErrorOptions) {
    super(CommandFailedError.code, `command ${JSON.stringify(command)} on node ${JSON.stringify(node)} failed: ${message}`, 500, options);
    this.node = node;
    this.command = command;
  }
}

/** No API route for this method and path. HTTP 404. */
export class RouteNotFoundError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_NOT_FOUND';
  constructor(method: string, path: string) {
    super(RouteNotFoundError.code, `no route ${method} ${path}`, 404);
  }
}

/** An unexpected failure inside the dashboard while answering; the dashboard keeps running. HTTP 500. */
export class DashboardInternalError extends DashboardError {
  static readonly code = 'SYSTEMGE_ERR_DASHBOARD_INTERNAL';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(DashboardInternalError.code, message, 500, options);
  }
}
