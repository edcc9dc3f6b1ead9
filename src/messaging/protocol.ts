/**
 * The socketeer messaging protocol, version 1, JSON encoding: the wire types
 * shared by the server hub, the Node client and the browser SDK. This module
 * is environment-neutral (no Node or DOM APIs) so the browser SDK can import it.
 *
 * Shape of the conversation (docs/protocol.md is the full reference):
 *  - The client opens a WebSocket offering the subprotocol `socketeer.v1.json`
 *    (a handshake without it is refused: HTTP 400 naming the subprotocol).
 *  - Every client frame is one UTF-8 JSON text message: a Command with a
 *    correlation `id` (positive integer, unique among the client's pending
 *    commands). The server answers each command exactly once with a Reply
 *    carrying the same id: either `result` or `error`.
 *  - Server frames without an id are Pushes (`push` names the kind).
 *  - The first command must be `connect`; anything else before it gets the
 *    error `not-connected`.
 *
 * Positions: each publication in a channel has an `offset` (1, 2, 3, ... per
 * channel, no gaps) and the channel's `epoch` (an opaque string that changes
 * whenever the channel's history may have been lost). A position
 * `{epoch, offset}` names "everything up to and including offset" in that
 * epoch; offset 0 means "nothing yet".
 */

export const SUBPROTOCOL = 'socketeer.v1.json';
export const PROTOCOL_VERSION = 1;

export interface StreamPosition {
  epoch: string;
  /** Offset of the last publication covered; 0 when the channel has none. */
  offset: number;
}

/** Who a connection is: set by the server's authenticate hook. */
export interface ClientInfo {
  /** Application user id ('' for anonymous connections). */
  user: string;
  /** Unique id of one connection (two tabs of one user = two clients). */
  client: string;
  /** Public data about the user/connection chosen by the server (e.g. a display name). */
  info?: unknown;
}

export interface Publication {
  offset: number;
  epoch: string;
  data: unknown;
  /** The publisher, when a client published (absent for server-side publishes). */
  info?: ClientInfo;
  /** Server time of acceptance, ms since the Unix epoch. */
  ts: number;
}

// ---------------------------------------------------------------- commands

export interface ConnectParams {
  /** Credential for the server's authenticate hook. */
  token?: string;
  /** Free-form data passed to the authenticate hook. */
  data?: unknown;
  /** Client name/version for logs, e.g. "socketeer-js/0.2". */
  name?: string;
  /**
   * Channels to (re)subscribe in the same round trip, with the position the
   * client already holds for each (omit `since` for a fresh subscription).
   */
  subs?: Record<string, { since?: StreamPosition }>;
}

export interface SubscribeParams {
  channel: string;
  /** Recover from this position: deliver exactly the publications after it. */
  since?: StreamPosition;
}

export interface PublishParams {
  channel: string;
  data: unknown;
  /**
   * Idempotency key (1-64 chars, unique per client for the dedup window): a
   * publish retried with the same key gets the same {epoch, offset} and is
   * delivered once.
   */
  key?: string;
}

export interface HistoryParams {
  channel: string;
  /** Publications after this position (default: from the oldest retained). */
  since?: StreamPosition;
  /** At most this many (server caps it; default and cap in docs/protocol.md). */
  limit?: number;
  /** Newest first. */
  reverse?: boolean;
}

export type Command =
  | { id: number; cmd: 'connect'; params?: ConnectParams }
  | { id: number; cmd: 'subscribe'; params: SubscribeParams }
  | { id: number; cmd: 'unsubscribe'; params: { channel: string } }
  | { id: number; cmd: 'publish'; params: PublishParams }
  | { id: number; cmd: 'history'; params: HistoryParams }
  | { id: number; cmd: 'presence'; params: { channel: string } }
  | { id: number; cmd: 'presence_stats'; params: { channel: string } }
  | { id: number; cmd: 'rpc'; params: { method: string; data?: unknown } }
  | { id: number; cmd: 'refresh'; params: { token: string } };

export type CommandName = Command['cmd'];

// ---------------------------------------------------------------- results

export interface SubscribeResult {
  /** The channel's position once the subscription is live. */
  epoch: string;
  offset: number;
  /**
   * true: every publication after `since` was delivered (as `pub` pushes sent
   * BEFORE this reply, in offset order, once) — no gap. false: the history no
   * longer covers the gap (trimmed, expired, epoch changed); the application
   * must be told. Absent when the subscribe had no `since`.
   */
  recovered?: boolean;
  /** Whether the channel has presence / join-leave pushes enabled. */
  presence: boolean;
  joinLeave: boolean;
}

export interface ConnectResult {
  client: string;
  user: string;
  version: number;
  /** ms until the token expires (client should `refresh` before), if it expires. */
  expiresIn?: number;
  /** Data from the authenticate hook for the client. */
  data?: unknown;
  /** One entry per channel in ConnectParams.subs: a result or an error. */
  subs: Record<string, SubscribeResult | { error: ErrorBody }>;
  /**
   * Heartbeat (absent = off): the server sends a frame at least every
   * `pingInterval` ms (a `ping` push when it has nothing else to send) and
   * closes with 4005 a connection it heard nothing from for 2 x pingInterval.
   * The client answers every `ping` with a Pong frame and treats the
   * connection as dead when it hears nothing for pingInterval + a grace.
   */
  pingInterval?: number;
}

export interface PublishResult {
  epoch: string;
  offset: number;
}

export interface HistoryResult {
  publications: Publication[];
  /** The channel's current top position. */
  epoch: string;
  offset: number;
}

export type UnsubscribeResult = Record<string, never>;

export interface RpcResult {
  /** What the server's handler for the method returned (absent for undefined). */
  data?: unknown;
}

export interface RefreshResult {
  /** ms until the new token expires, if it expires. */
  expiresIn?: number;
}

export interface PresenceResult {
  members: ClientInfo[];
}

export interface PresenceStatsResult {
  /** Connections present. */
  clients: number;
  /** Unique users among them. */
  users: number;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** true: the same command may succeed if retried later (e.g. engine unavailable). */
  temporary: boolean;
}

/**
 * One per command. A command whose `id` cannot be read (not JSON, not an
 * object, missing or invalid id) is answered with `id: 0` and `bad-request`.
 */
export type Reply = { id: number; result: unknown } | { id: number; error: ErrorBody };

/** The client's answer to a `ping` push: no id, no reply. Any frame counts as a sign of life. */
export interface Pong {
  pong: true;
}

// ---------------------------------------------------------------- pushes

export type Push =
  | { push: 'pub'; channel: string; pub: Publication }
  | { push: 'join'; channel: string; info: ClientInfo }
  | { push: 'leave'; channel: string; info: ClientInfo }
  /** The server ended this subscription; `code` is one of UnsubscribeCodes: 2500-2999 = subscribe
   *  again with your position (you will get `recovered` telling whether anything was lost). */
  | { push: 'unsubscribed'; channel: string; code: number; reason: string }
  /**
   * The server is about to close the connection with `code`; `reconnect`
   * says whether the client should reconnect (and recover) or stop.
   */
  | { push: 'disconnect'; code: number; reason: string; reconnect: boolean }
  /** A server-to-client message outside channels (e.g. from an RPC handler). */
  | { push: 'message'; data: unknown }
  /** Heartbeat (ConnectResult.pingInterval): answer with a Pong frame `{"pong":true}`. */
  | { push: 'ping' };

// ---------------------------------------------------------------- error codes

/** The encoded Ping push and Pong frame (constant: sent as they are). */
export const PING_FRAME = '{"push":"ping"}';
export const PONG_FRAME = '{"pong":true}';

export const ErrorCodes = {
  /** Not JSON, not an object, missing/invalid id, cmd or params. */
  badRequest: 'bad-request',
  unknownCommand: 'unknown-command',
  notConnected: 'not-connected',
  alreadyConnected: 'already-connected',
  unauthorized: 'unauthorized',
  tokenExpired: 'token-expired',
  permissionDenied: 'permission-denied',
  /** Channel name malformed or its namespace unknown. */
  badChannel: 'bad-channel',
  alreadySubscribed: 'already-subscribed',
  notSubscribed: 'not-subscribed',
  /** The feature is disabled for this namespace (history, presence, client publish). */
  notAvailable: 'not-available',
  methodNotFound: 'method-not-found',
  tooManyRequests: 'too-many-requests',
  limitExceeded: 'limit-exceeded',
  /** The engine (e.g. Redis) cannot be reached: temporary. */
  unavailable: 'unavailable',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// ---------------------------------------------------------------- unsubscribe codes
// Codes of the `unsubscribed` push (after Centrifugo): 2000-2499 = final, the
// client must not resubscribe by itself; 2500-2999 = resubscribe (with `since`).

export const UnsubscribeCodes = {
  /** The application ended the subscription (server-side unsubscribe). */
  server: 2000,
  /** The subscription's publications could not be delivered in order (a gap the
   *  history no longer covers, or the epoch changed): resubscribe with `since`;
   *  the reply's `recovered` says whether anything was lost. */
  insufficientState: 2500,
} as const;

/** Whether an `unsubscribed` code tells the client to subscribe again by itself. */
export function shouldResubscribe(code: number): boolean {
  return code >= 2500 && code <= 2999;
}

// ---------------------------------------------------------------- close codes
// RFC 6455 §7.4.2: 4000-4999 are for private use by applications. Convention
// (after Centrifugo): 4000-4499 = the client should reconnect (and recover);
// 4500-4999 = terminal, the client must not reconnect by itself.

export const CloseCodes = {
  /** Server shutting down or node draining: reconnect (to another node) and recover. */
  shutdown: 4000,
  /** Outbound queue overflowed: reconnect and recover from history; nothing is lost. */
  slowConsumer: 4001,
  /** No `connect` command within the server's connect timeout. */
  connectTimeout: 4002,
  /** Engine unavailable or state lost on the server: reconnect later. */
  engineUnavailable: 4003,
  /** The token expired and was not refreshed: reconnect with a fresh token. */
  tokenExpired: 4004,
  /** Heartbeat: the server heard nothing from the client for 2 x pingInterval (network dead?). */
  noPong: 4005,
  /** Unauthorized: do not reconnect with the same credentials. */
  unauthorized: 4500,
  /** Repeated malformed commands or protocol misuse. */
  badRequest: 4501,
  /** Disconnected by the application (e.g. user banned). */
  forceNoReconnect: 4502,
  /** Per-connection limits (subscriptions, message rate) exceeded. */
  limitExceeded: 4503,
} as const;

/** Whether a close code tells the client to reconnect by itself. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false;
  return true;
}
