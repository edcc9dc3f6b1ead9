/**
 * socketeer/messaging/client: the messaging client for Node. The same client
 * as the browser SDK (src/messaging/client/, environment-neutral), with
 * socketeer's WhatwgWebSocket as its WebSocket, since Node 20 has no global
 * one, and a heartbeat so that a silently dead network is noticed.
 *
 *   import { MessagingClient } from 'socketeer/messaging/client';
 *   const client = new MessagingClient('ws://localhost:8000/messaging', { token });
 *   client.subscribe('chat:lobby').on('publication', (p) => console.log(p.offset, p.data));
 *   client.connect();
 */

import { type ClientOptions, checkClientOptions, WhatwgWebSocket } from '../index.js';
import { MessagingClient as CoreClient } from './client/client.js';
import type { MessagingClientOptions, WebSocketConstructor } from './client/types.js';

export * from './client/index.js';

export interface NodeMessagingClientOptions extends MessagingClientOptions {
  /**
   * Options for socketeer's WebSocket client (headers, TLS, proxy, ...). Its
   * heartbeat defaults to a ping every 15 s with a 10 s timeout: browsers
   * cannot ping, but a Node process can and should notice a dead peer itself.
   */
  socket?: ClientOptions;
}

/** Browsers cannot ping, but a Node process can and should notice a dead peer itself. */
const SOCKET_DEFAULTS: ClientOptions = { heartbeatInterval: 15_000, heartbeatTimeout: 10_000 };

/**
 * The WebSocket options, checked now: the socket is only built at connect()
 * (and again on each reconnect), where a bad option would surface as an error
 * event, far from the line that gave it.
 */
function checkSocketOptions(socket: unknown, ownWebSocket: boolean): ClientOptions {
  if (socket === undefined) return { ...SOCKET_DEFAULTS };
  if (ownWebSocket) {
    throw new TypeError(
      "options.socket configures socketeer's WebSocket client; with options.WebSocket, configure your class yourself",
    );
  }
  if (typeof socket !== 'object' || socket === null || Array.isArray(socket)) {
    throw new TypeError(
      `options.socket must be an object of WebSocket client options (headers, TLS, proxy, heartbeat, ...); got ${socket === null ? 'null' : Array.isArray(socket) ? 'an array' : typeof socket}`,
    );
  }
  const merged: ClientOptions = { ...SOCKET_DEFAULTS, ...socket };
  try {
    checkClientOptions(merged);
  } catch (error) {
    const Refusal = error instanceof RangeError ? RangeError : TypeError;
    throw new Refusal(`options.socket: ${(error as Error).message}`, { cause: error });
  }
  return merged;
}

export class MessagingClient extends CoreClient {
  constructor(url: string | URL, options: NodeMessagingClientOptions = {}) {
    const { socket, ...rest } = options;
    const socketOptions = checkSocketOptions(socket, rest.WebSocket !== undefined);
    const WebSocket =
      rest.WebSocket ??
      (class extends WhatwgWebSocket {
        constructor(address: string, protocols: string | string[]) {
          super(address, protocols, socketOptions);
        }
      } as WebSocketConstructor);
    super(url, { ...rest, WebSocket });
  }
}
