/**
 * The engine contract: what the messaging hub needs from the place where
 * channel state lives. Two implementations: the in-process memory engine (the
 * default, one node) and the Redis engine (many nodes = one application).
 * One contract test suite runs against both.
 *
 * Division of labour:
 *  - The ENGINE owns the truth about a channel: its epoch, its offsets, its
 *    bounded history, idempotency results and presence — and carries live
 *    publications/join/leave between nodes.
 *  - The HUB (one per server process) owns connections: who is subscribed
 *    locally, delivery order per connection, recovery seams (buffer live
 *    publications while history is read, merge by offset), and gap repair.
 *
 * Guarantees an engine gives:
 *  - publish() is atomic: idempotency check -> epoch -> next offset -> store in
 *    history -> trim/expire -> fan out. Offsets per channel are 1, 2, 3, ...
 *    within an epoch, never reused. It resolves only once the publication is
 *    stored (the client's ack depends on it).
 *  - The epoch changes whenever the history may have been lost (engine memory
 *    gone, failover to a replica that missed writes, channel expired): a
 *    position from an older epoch is never silently treated as current.
 *  - Live delivery (handler.publication) is in offset order per channel while
 *    the feed is healthy. When the feed may have missed something (pub/sub
 *    reconnect, resubscribe), the engine calls handler.resync(channels) and the
 *    hub catches those channels up from history(). The hub also repairs any
 *    out-of-sequence publication from history before giving up on it.
 *  - Methods reject with EngineUnavailableError when the backing store cannot be
 *    reached; they fail fast (no unbounded internal queue).
 */

import type { ClientInfo, Publication, StreamPosition } from './protocol.js';

export interface HistoryOptions {
  /** Keep at most this many publications (0 = no history; offsets still advance). */
  size: number;
  /** Drop publications older than this (ms); also the channel's idle lifetime: once
   *  it passes with no publish the channel's history/meta may expire, which rotates the epoch. */
  ttlMs: number;
}

export interface PublishRequest {
  channel: string;
  data: unknown;
  /** The publishing client, when a client published. */
  info?: ClientInfo;
  history: HistoryOptions;
  /** Idempotency: a second publish with the same key within `idempotencyTtlMs`
   *  returns the first result (duplicate: true) and is not delivered again. */
  idempotencyKey?: string;
  idempotencyTtlMs?: number;
}

export interface PublishOutcome extends StreamPosition {
  /** True when the idempotency key had been seen: nothing new was stored or delivered. */
  duplicate: boolean;
}

export interface HistoryRequest {
  channel: string;
  /** Publications with offset > since.offset (ignored when since.epoch is not current:
   *  then the result starts from the oldest retained and the hub reports recovered: false). */
  since?: StreamPosition;
  /** At most this many publications (>= 0; 0 = only the top position). */
  limit: number;
  /** Newest first. */
  reverse?: boolean;
}

export interface HistoryPage {
  publications: Publication[];
  /** The channel's current top (epoch + offset of the newest publication, 0 if none). */
  top: StreamPosition;
}

export interface PresenceStats {
  clients: number;
  users: number;
}

/** Callbacks the engine invokes for channels this node subscribed to. */
export interface EngineHandler {
  publication(channel: string, pub: Publication): void;
  join(channel: string, info: ClientInfo): void;
  leave(channel: string, info: ClientInfo): void;
  /** The live feed for these channels may have missed publications: catch up from history. */
  resync(channels: readonly string[]): void;
  /** Readiness changed (e.g. Redis connection lost/regained). */
  readiness(ready: boolean): void;
}

export interface Engine {
  /** For logs and /readyz, e.g. "memory" or "redis". */
  readonly name: string;
  /** Connects (if needed) and starts delivering to `handler`. Called once. */
  start(handler: EngineHandler): Promise<void>;
  /** Stops delivery and releases connections/timers. Presence entries this node added are removed. */
  close(): Promise<void>;
  /** Whether the engine can currently serve publishes and history. */
  ready(): boolean;

  /** Start receiving live events for `channel` on this node (called when its first local subscriber arrives).
   *  Resolves once the live feed is established, so a hub can read history after it without a gap. */
  subscribe(channel: string): Promise<void>;
  /** Stop receiving live events for `channel` (its last local subscriber left). */
  unsubscribe(channel: string): Promise<void>;

  publish(request: PublishRequest): Promise<PublishOutcome>;
  history(request: HistoryRequest): Promise<HistoryPage>;

  /** Fan out join/leave to every node subscribed to the channel (including this one). */
  publishJoin(channel: string, info: ClientInfo): Promise<void>;
  publishLeave(channel: string, info: ClientInfo): Promise<void>;

  /** Presence: add or refresh (the hub refreshes every ttl/3); entries not refreshed
   *  within `ttlMs` disappear (node died), and the engine then publishes their leave. */
  addPresence(channel: string, info: ClientInfo, ttlMs: number): Promise<void>;
  removePresence(channel: string, clientId: string): Promise<void>;
  presence(channel: string): Promise<ClientInfo[]>;
  presenceStats(channel: string): Promise<PresenceStats>;
}

/** Thrown/rejected by engines when the backing store cannot be reached; maps to a temporary error. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
}
