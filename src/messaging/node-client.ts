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

import { type ClientOptions, WhatwgWebSocket } from '../index.js';
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

export class MessagingClient extends CoreClient {
  constructor(url: string | URL, options: NodeMessagingClientOptions = {}) {
    const { socket, ...rest } = options;
    const socketOptions: ClientOptions = { heartbeatInterval: 15_000, heartbeatTimeout: 10_000, ...socket };
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
