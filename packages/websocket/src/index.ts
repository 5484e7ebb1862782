export {
  websocketComponent,
  type WebSocketComponent,
  type WebSocketComponentOptions,
  type WebSocketComponentApplication,
  type WebSocketMessageHandler,
  type WebSocketMessageHandlers,
  type WebSocketHTTPHost,
  type WebSocketTLSOptions,
} from './websocket-component.js';
export type { WebSocketClient, DisconnectReason } from './websocket-client.js';
export type { WebSocketMessage, WireFormat } from './wire-codec.js';
export { WebSocketConfigError, WebSocketEncodeError, WebSocketListenError } from './websocket-errors.js';
