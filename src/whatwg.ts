/**
 * socketeer/whatwg: the browser's WebSocket API for Node (WHATWG WebSockets Standard).
 *
 *   import { WebSocket } from 'socketeer/whatwg';
 */

export type { ClientOptions } from './node/client/options.js';
export { type BinaryType, CloseEvent, type CloseEventInit, WebSocket } from './node/whatwg.js';
