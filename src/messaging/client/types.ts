import type { ClientInfo, Publication, StreamPosition } from '../protocol.js';

/**
 * The part of a WebSocket the client uses: the browser's WebSocket and
 * socketeer's WhatwgWebSocket (Node) both fit. Handlers are typed `unknown`
 * so that both classes' own handler types are accepted as they are.
 */
export interface WebSocketLike {
  readonly protocol: string;
  onopen: unknown;
  onmessage: unknown;
  onclose: unknown;
  onerror: unknown;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols: string | string[]) => WebSocketLike;

export interface MessagingClientOptions {
  /** The WebSocket class (browser: the global one; Node: socketeer's WhatwgWebSocket). */
  WebSocket?: WebSocketConstructor;
  /** Credential sent in `connect`. */
  token?: string;
  /** Called before every connection attempt and before the token expires; wins over `token`. */
  getToken?: () => string | Promise<string>;
  /** Free-form data for the server's authenticate hook. */
  data?: unknown;
  /** Client name for server logs (default "socketeer-js"). */
  name?: string;
  /** ms until publish/history/presence/rpc fail with TimeoutError, counted from the call (default 10000). */
  timeout?: number;
  /** ms to wait for the `connect` reply before trying again (default 10000). */
  connectTimeout?: number;
  /** Reconnect delay window in ms: full jitter between 0 and min(max, min * 2^attempt) (defaults 500, 20000). */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Commands kept while offline; beyond it they are rejected at once (default 1000). */
  maxQueued?: number;
  /**
   * Heartbeat: ms beyond the server's announced pingInterval to wait for a
   * frame before treating the connection as dead and reconnecting (default 10000).
   */
  pingGrace?: number;
  /** Random source in [0, 1) for jitter and idempotency keys (tests inject one). */
  random?: () => number;
}

export type ClientState = 'disconnected' | 'connecting' | 'connected';
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed';

export interface PublicationEvent extends Publication {
  channel: string;
}

export interface PresenceEvent {
  channel: string;
  info: ClientInfo;
}

export interface SubscribedEvent extends StreamPosition {
  channel: string;
  /**
   * Present when the subscription asked to recover from a position (after a
   * reconnect, a gap, or `since`): true = every publication after it was (or
   * is being) delivered, in order, once; false = the server could not recover
   * them (history trimmed, expired or lost): publications were missed.
   */
  recovered?: boolean;
  /** The position the subscription tried to recover from. */
  since?: StreamPosition;
}

export interface SubscribingEvent {
  channel: string;
  /** Why: e.g. 'connection lost', 'gap after offset 41', 'subscribe'. */
  reason: string;
}

export interface UnsubscribedEvent {
  channel: string;
  /** The server's code for a server-side unsubscribe; 0 when the application unsubscribed. */
  code: number;
  reason: string;
}

export interface ChannelErrorEvent {
  channel: string;
  error: Error;
}

export interface SubscriptionEvents {
  publication: PublicationEvent;
  join: PresenceEvent;
  leave: PresenceEvent;
  subscribing: SubscribingEvent;
  subscribed: SubscribedEvent;
  unsubscribed: UnsubscribedEvent;
  error: ChannelErrorEvent;
}

export interface ClientEvents {
  state: { state: ClientState; previous: ClientState };
  connecting: { code: number; reason: string };
  connected: { client: string; user: string; data?: unknown };
  /** The client stopped and will not reconnect by itself. */
  disconnected: { code: number; reason: string };
  /** Something went wrong that the client handles itself (it reconnects or retries); for logs. */
  error: { error: Error; channel?: string };
  /** A server-to-client message outside channels. */
  message: { data: unknown };
  /** Every subscription's events, for applications that handle all channels in one place. */
  publication: PublicationEvent;
  join: PresenceEvent;
  leave: PresenceEvent;
  subscribed: SubscribedEvent;
  unsubscribed: UnsubscribedEvent;
}

export interface PublishOptions {
  /** Idempotency key (1-64 chars); generated when absent. Reuse it to retry a publish safely. */
  key?: string;
  /** ms until TimeoutError, counted from the call (default: the client's timeout). */
  timeout?: number;
}

export interface HistoryOptions {
  since?: StreamPosition;
  limit?: number;
  reverse?: boolean;
  timeout?: number;
}
