import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/** An option given to `websocketComponent()` is invalid; `option` names it. */
export class WebSocketConfigError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_WS_CONFIG';
  /** The option at fault, e.g. `maxMessageBytes`. */
  readonly option: string;
  constructor(option: string, message: string, options?: SystemgeErrorOptions) {
    super(WebSocketConfigError.code, `invalid WebSocket option ${option}: ${message}`, options);
    this.option = option;
  }
}

/** An outgoing message cannot be encoded: empty topic, or a payload JSON/msgpack cannot represent. */
export class WebSocketEncodeError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_WS_ENCODE';
  readonly topic: string;
  constructor(topic: string, message: string, options?: SystemgeErrorOptions) {
    super(WebSocketEncodeError.code, `cannot encode WebSocket message on topic ${JSON.stringify(topic)}: ${message}`, options);
    this.topic = topic;
  }
}

/** The WebSocket server could not listen on the requested host and port. `cause` holds the socket error. */
export class WebSocketListenError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_WS_LISTEN';
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, options?: SystemgeErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(WebSocketListenError.code, `WebSocket server cannot listen on ${host}:${port}${cause}`, options);
    this.host = host;
    this.port = port;
  }
}

/** The operation needs the component in another state, e.g. `start()` while it is already started. */
export class WebSocketStateError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_WS_STATE';
  constructor(message: string, options?: SystemgeErrorOptions) {
    super(WebSocketStateError.code, message, options);
  }
}
