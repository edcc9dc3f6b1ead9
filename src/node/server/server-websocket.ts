import { InvalidStateError } from '../../protocol/errors.js';
import { kServerSide } from '../internal.js';
import { WebSocket } from '../websocket.js';
import type { TopicRegistry } from './topics.js';

/**
 * A connection accepted by a WebSocketServer: the WebSocket API plus what the
 * server learned during the handshake (`user` from authenticate, the client's
 * address) and topic subscriptions for server.publish().
 */
export class ServerWebSocket<User = unknown> extends WebSocket {
  /**
   * What the `authenticate` hook returned as `user` (undefined without the
   * hook, or when it accepted without one).
   */
  user: User;
  /** The client's address (through trusted proxies when trustProxy is set). */
  clientAddress: string;
  /** Whether the client reached the edge over TLS (through trusted proxies). */
  clientSecure: boolean;
  /** Created on the first subscribe(): most connections never subscribe. */
  private subscriptions: Set<string> | undefined;

  /** Created by WebSocketServer only. */
  constructor(
    private readonly registry: TopicRegistry<ServerWebSocket<User>>,
    user: User,
    client: { address: string; secure: boolean },
  ) {
    super(kServerSide);
    this.user = user;
    this.clientAddress = client.address;
    this.clientSecure = client.secure;
  }

  /** Receive the messages server.publish() sends to `topic`. */
  subscribe(topic: string): void {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    if (this.readyState === WebSocket.CLOSED) {
      throw new InvalidStateError('cannot subscribe: the WebSocket is CLOSED');
    }
    this.subscriptions ??= new Set();
    this.subscriptions.add(topic);
    this.registry.add(topic, this);
  }

  unsubscribe(topic: string): void {
    if (this.subscriptions?.delete(topic)) this.registry.remove(topic, this);
  }

  /** The topics this connection is subscribed to. */
  get topics(): string[] {
    return [...(this.subscriptions ?? [])];
  }

  /** Leave every topic (the connection closed). */
  unsubscribeAll(): void {
    for (const topic of this.subscriptions ?? []) this.registry.remove(topic, this);
    this.subscriptions = undefined;
  }
}
