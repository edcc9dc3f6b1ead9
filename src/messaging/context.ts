/**
 * What a session needs from its hub: settings, hooks, namespaces, the engine
 * and the live feeds. (An interface of its own so session.ts and hub.ts do not
 * import each other.)
 */

import type { IncomingMessage } from 'node:http';
import type { Engine } from './engine.js';
import type { Feeds } from './feeds.js';
import type { Namespace } from './namespaces.js';
import { type ClientInfo, type ErrorBody, type ErrorCode, ErrorCodes } from './protocol.js';

/** What the authenticate hook sees. */
export interface ConnectContext {
  token: string | undefined;
  data: unknown;
  /** The client's name/version, if it sent one. */
  name: string | undefined;
  /** The HTTP upgrade request (headers, URL, cookies); undefined on refresh. */
  request: IncomingMessage | undefined;
  /** The client's address (through trusted proxies when the WebSocket server trusts them). */
  clientAddress: string | undefined;
  /** true when the client sent `refresh` (the same user is required). */
  refresh: boolean;
}

/** Who the connection is, as decided by the authenticate hook. */
export interface Identity {
  /** Application user id ('' = anonymous). */
  user: string;
  /** Public data about the user, shown to others in presence and publications (e.g. a display name). */
  info?: unknown;
  /** When the credential expires (ms since the Unix epoch): the client must `refresh` before. */
  expiresAt?: number;
  /** Returned to the client in the connect result. */
  data?: unknown;
}

export type Authenticate = (
  context: ConnectContext,
) => Identity | null | undefined | false | Promise<Identity | null | undefined | false>;

export interface ChannelContext {
  client: ClientInfo;
  channel: string;
  /** The channel's namespace ('' = default). */
  namespace: string;
}

export type CanSubscribe = (context: ChannelContext) => boolean | Promise<boolean>;
export type CanPublish = (context: ChannelContext & { data: unknown }) => boolean | Promise<boolean>;
export type RpcHandler = (context: { client: ClientInfo; data: unknown }) => unknown;

/**
 * Thrown by hooks and RPC handlers to answer with a specific error code
 * (anything else thrown becomes `internal`, and the hub emits 'error').
 */
export class HubError extends Error {
  override readonly name = 'HubError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly temporary = false,
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return { code: this.code, message: this.message, temporary: this.temporary };
  }
}

export function errorBody(code: ErrorCode, message: string, temporary = false): ErrorBody {
  return { code, message, temporary };
}

export const UNAVAILABLE = errorBody(ErrorCodes.unavailable, 'the engine is unavailable; retry later', true);

export interface HubSettings {
  connectTimeout: number;
  maxOutboundBytes: number;
  maxSubscriptions: number;
  /** Commands per second (0 = no limit) and the burst allowed above it. */
  commandRate: number;
  commandBurst: number;
  maxCommandsInFlight: number;
  maxBadCommands: number;
  historyLimit: number;
  maxHistoryLimit: number;
  idempotencyTtl: number;
  /** Keyed publishes per connection per idempotency window (session-parts.ts KeyBudget). */
  maxIdempotencyKeys: number;
  presenceTtl: number;
  recoveryHold: number;
  /** History pages being read and sent for recoveries at once, hub-wide (recovery-gate.ts). */
  maxConcurrentRecoveries: number;
  /** Heartbeat interval in ms (0 = off): session-heartbeat.ts. */
  pingInterval: number;
}

export interface HubHooks {
  authenticate: Authenticate | undefined;
  canSubscribe: CanSubscribe | undefined;
  canPublish: CanPublish | undefined;
  rpc: ReadonlyMap<string, RpcHandler>;
}

/** A session as the hub tracks it. */
export interface SessionLike {
  readonly client: string;
  /** Close the connection with a disconnect push (reconnect advice from the code). */
  disconnect(code: number, reason: string): void;
  /** Re-register presence for every subscription that has it (keeps entries alive). */
  refreshPresence(): void;
}

export interface HubContext {
  readonly settings: HubSettings;
  readonly hooks: HubHooks;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly engine: Engine;
  readonly feeds: Feeds;
  /** Resolves once the engine has started. */
  readonly started: Promise<void>;
  sessionConnected(session: SessionLike): void;
  sessionClosed(session: SessionLike, code: number, reason: string): void;
  /** A hook or the engine failed unexpectedly. */
  reportError(error: unknown): void;
}
