export {
  websocketComponent,
  type WebSocketComponent,
  type WebSocketComponentApplication,
} from './websocket-component.js';
export type { WebSocketMessageHandler, WebSocketMessageHandlers } from './inbound.js';
export type { WebSocketComponentOptions, WebSocketHTTPHost, WebSocketTLSOptions } from './options.js';
export type { WebSocketClient, DisconnectReason } from './websocket-client.js';
export type { WebSocketMessage, WireFormat } from './wire-codec.js';
export { WebSocketConfigError, WebSocketEncodeError, WebSocketListenError, WebSocketStateError } from './websocket-errors.js';
