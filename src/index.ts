/**
 * socketeer: the public API.
 *
 *   import { WebSocketServer, WebSocket } from 'socketeer';
 *
 * The sans-I/O protocol core is available separately as 'socketeer/protocol', and
 * the browser's WebSocket API as 'socketeer/whatwg' (also exported here as WhatwgWebSocket).
 */

export { type ClientOptions, checkClientOptions } from './node/client/options.js';
export { PreparedMessage } from './node/prepared-message.js';
export {
  ReconnectingWebSocket,
  type ReconnectingWebSocketEventMap,
  type ReconnectOptions,
} from './node/reconnecting.js';
export type {
  Authenticator,
  AuthResult,
  ProtocolSelector,
  ServerOptions,
} from './node/server/config.js';
export {
  type UpgradeCallback,
  WebSocketServer,
  type WebSocketServerEventMap,
} from './node/server/server.js';
export { ServerWebSocket } from './node/server/server-websocket.js';
export type { RefusalReason, ServerStats } from './node/server/stats.js';
export { createWebSocketStream } from './node/stream.js';
export {
  type SendData,
  type SendOptions,
  WebSocket,
  type WebSocketMessage,
  type WriteCallback,
} from './node/websocket.js';
export { CloseEvent, WebSocket as WhatwgWebSocket } from './node/whatwg.js';
export { CloseCode } from './protocol/constants.js';
export { HandshakeError, InvalidStateError, ProtocolError } from './protocol/errors.js';
