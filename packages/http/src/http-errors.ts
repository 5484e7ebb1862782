import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/** An option given to `httpComponent()` (or a route, or an address list entry) is invalid; `option` names it. */
export class HTTPConfigError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HTTP_CONFIG';
  /** The option at fault, e.g. `port`, `allow`, `routes["GET /x"]`. */
  readonly option: string;
  constructor(option: string, message: string, options?: SystemgeErrorOptions) {
    super(HTTPConfigError.code, `invalid HTTP option ${option}: ${message}`, options);
    this.option = option;
  }
}

/** A route with the same method and URL is already registered on the component, the given Fastify instance or a mount. */
export class RouteExistsError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HTTP_ROUTE_EXISTS';
  readonly method: string;
  readonly url: string;
  constructor(method: string, url: string, options?: SystemgeErrorOptions) {
    super(RouteExistsError.code, `route ${method} ${url} is already registered`, options);
    this.method = method;
    this.url = url;
  }
}

/**
 * The operation needs the component in another state, e.g. `register()` or `use()` while it is serving,
 * or a route with Fastify options added while serving (those are declared at start).
 */
export class HTTPStateError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HTTP_STATE';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(HTTPStateError.code, message, options);
  }
}

/** The HTTP server could not listen on the requested host and port. `cause` holds the socket error. */
export class HTTPListenError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_HTTP_LISTEN';
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, options?: SystemgeErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(HTTPListenError.code, `HTTP server cannot listen on ${host}:${port}${cause}`, options);
    this.host = host;
    this.port = port;
  }
}
