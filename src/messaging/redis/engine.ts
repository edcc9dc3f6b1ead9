/**
 * RedisEngine: the messaging engine contract (../engine.ts) over Redis >= 7.0,
 * so that several server processes are one application.
 *
 *  - Channel state lives in Redis (history stream, meta, idempotency results,
 *    presence; functions.ts has the data model and the epoch design). Every
 *    state change is one Redis function call: atomic on the server.
 *  - Live events travel over pub/sub; this node subscribes only to channels with
 *    local subscribers (optionally sharded pub/sub: SSUBSCRIBE/SPUBLISH).
 *  - When the subscriber connection comes back after a loss, node-redis has
 *    resubscribed and confirmed every channel; the engine then asks the hub to
 *    resync them all from history, which closes any gap.
 *  - Fail fast: while Redis is unreachable every call rejects at once with
 *    EngineUnavailableError; calls in flight are bounded (maxPendingCommands) and
 *    time out (commandTimeoutMs). The connections reconnect by themselves.
 */

import { randomBytes } from 'node:crypto';
import {
  type Engine,
  type EngineHandler,
  EngineUnavailableError,
  type HistoryPage,
  type HistoryRequest,
  type PresenceStats,
  type PublishOutcome,
  type PublishRequest,
} from '../engine.js';
import type { ClientInfo, Publication } from '../protocol.js';
import { answerWithin, CommandRunner, toEngineError } from './commands.js';
import { createConnection, type RedisConnection } from './connection.js';
import { Fn, LIBRARY_CODE } from './functions.js';
import { type ChannelKeys, channelKeys, decodeFeedMessage, toPublication } from './keys.js';
import { type RedisEngineOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { RedisPresence } from './presence.js';
import { PublishBatcher } from './publish-batch.js';

const DEFAULT_IDEMPOTENCY_TTL_MS = 5 * 60_000;

export class RedisEngine implements Engine {
  readonly name = 'redis';
  readonly #options: ResolvedOptions;
  #connection: RedisConnection | undefined;
  #handler: EngineHandler | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #lastReady = false;
  #resyncDue = false;
  readonly #commands: CommandRunner;
  readonly #presence: RedisPresence;
  readonly #publishes: PublishBatcher;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Locally subscribed channels, by their pub/sub channel name. */
  readonly #byFeed = new Map<string, string>();
  readonly #subscribed = new Set<string>();
  /** Serializes subscribe/unsubscribe per channel (the hub may flip quickly). */
  readonly #channelOps = new Map<string, Promise<unknown>>();
  readonly #keysCache = new Map<string, ChannelKeys>();

  constructor(options: RedisEngineOptions) {
    this.#options = resolveOptions(options);
    this.#commands = new CommandRunner(
      () => this.#requireConnection(),
      this.#options.maxPendingCommands,
      this.#options.commandTimeoutMs,
    );
    this.#publishes = new PublishBatcher(this.#commands, !this.#options.cluster);
    this.#presence = new RedisPresence(
      this.#commands,
      (channel) => this.#keys(channel),
      this.#options.sharded,
      !this.#options.cluster,
    );
  }

  async start(handler: EngineHandler): Promise<void> {
    if (this.#handler) throw new Error('RedisEngine.start() may be called once');
    this.#handler = handler;
    const connection = createConnection(this.#options, {
      state: () => this.#reportReadiness(),
      resubscribed: () => this.#feedRestored(),
      error: (err) => this.#options.onError(err),
    });
    try {
      await connection.connect();
      await connection.loadLibrary(LIBRARY_CODE);
    } catch (err) {
      await connection.close();
      throw new EngineUnavailableError(`Redis engine could not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#connection = connection;
    this.#sweepTimer = setInterval(() => {
      if (this.ready()) this.#presence.sweep(this.#subscribed);
    }, this.#options.presenceSweepMs);
    this.#sweepTimer.unref();
    this.#reportReadiness();
  }

  ready(): boolean {
    const c = this.#connection;
    return !this.#closed && c !== undefined && c.commandsReady() && c.feedReady();
  }

  async close(): Promise<void> {
    if (this.#closed || this.#closing) return this.#closing;
    clearInterval(this.#sweepTimer);
    this.#closing = this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const connection = this.#connection;
    // Remove what this node put into presence, telling the other nodes (best effort:
    // each call is bounded by the command timeout; when Redis is down, leases expire).
    await this.#presence.removeOwn();
    this.#closed = true;
    if (!connection) return;
    this.#subscribed.clear();
    this.#byFeed.clear();
    await connection.close();
    this.#lastReady = false;
  }

  // ------------------------------------------------------------ live feed

  subscribe(channel: string): Promise<void> {
    return this.#serialize(channel, async () => {
      if (this.#subscribed.has(channel)) return;
      const connection = this.#requireConnection();
      if (!connection.feedReady()) throw new EngineUnavailableError('Redis pub/sub connection is not ready');
      const keys = this.#keys(channel);
      this.#byFeed.set(keys.pubsub, channel);
      try {
        await answerWithin(
          connection.subscribe(keys.pubsub, this.#options.sharded, this.#onFeed),
          this.#options.commandTimeoutMs,
        );
      } catch (err) {
        this.#byFeed.delete(keys.pubsub);
        throw toEngineError(err);
      }
      this.#subscribed.add(channel);
    });
  }

  unsubscribe(channel: string): Promise<void> {
    return this.#serialize(channel, async () => {
      if (!this.#subscribed.delete(channel)) return;
      const keys = this.#keys(channel);
      this.#byFeed.delete(keys.pubsub);
      const connection = this.#connection;
      if (!connection || this.#closed) return;
      // Once forgotten locally, a failing UNSUBSCRIBE only leaves extra traffic that
      // #onFeed ignores; the subscriber's next reconnect drops it for good.
      await connection.unsubscribe(keys.pubsub, this.#options.sharded, this.#onFeed).catch(() => {});
    });
  }

  readonly #onFeed = (message: string, pubsub: string): void => {
    const channel = this.#byFeed.get(pubsub);
    const handler = this.#handler;
    if (channel === undefined || !handler || this.#closed) return;
    let decoded: ReturnType<typeof decodeFeedMessage>;
    try {
      decoded = decodeFeedMessage(message);
    } catch (err) {
      this.#options.onError(
        new Error(`ignoring a malformed message on ${pubsub}: ${(err as Error).message}`),
      );
      return;
    }
    if (decoded.kind === 'publication') handler.publication(channel, decoded.pub);
    else if (decoded.kind === 'join') handler.join(channel, decoded.info);
    else handler.leave(channel, decoded.info);
  };

  /** The feed came back: resync once commands work too (the hub reads history right away). */
  #feedRestored(): void {
    this.#resyncDue = true;
    this.#reportReadiness();
  }

  #reportReadiness(): void {
    const handler = this.#handler;
    if (!handler) return;
    const ready = this.ready();
    if (ready !== this.#lastReady) {
      this.#lastReady = ready;
      handler.readiness(ready);
    }
    if (ready && this.#resyncDue) {
      this.#resyncDue = false;
      if (this.#subscribed.size > 0) handler.resync([...this.#subscribed]);
    }
  }

  // ------------------------------------------------------------ publish and history

  async publish(request: PublishRequest): Promise<PublishOutcome> {
    const keys = this.#keys(request.channel);
    const key = request.idempotencyKey;
    return this.#publishes.publish(
      [keys.meta, keys.stream, key === undefined ? keys.meta : keys.idempotency(key)],
      [
        newEpoch(),
        JSON.stringify(request.data ?? null),
        request.info ? JSON.stringify(request.info) : '',
        String(Math.max(0, Math.floor(request.history.size))),
        String(Math.max(0, Math.floor(request.history.ttlMs))),
        String(
          key === undefined
            ? 0
            : Math.max(1, Math.floor(request.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS)),
        ),
        keys.pubsub,
        this.#options.sharded ? '1' : '0',
      ],
    );
  }

  async history(request: HistoryRequest): Promise<HistoryPage> {
    const keys = this.#keys(request.channel);
    const reply = (await this.#commands.fcall(
      Fn.history,
      [keys.meta, keys.stream],
      [
        newEpoch(),
        request.since?.epoch ?? '',
        String(Math.max(0, Math.floor(request.since?.offset ?? 0))),
        String(Math.max(0, Math.floor(request.limit))),
        request.reverse ? '1' : '0',
      ],
    )) as unknown[];
    const epoch = String(reply[0]);
    const publications: Publication[] = [];
    for (let i = 2; i + 3 < reply.length; i += 4) {
      publications.push(
        toPublication(
          epoch,
          Number(reply[i]),
          Number(reply[i + 1]),
          String(reply[i + 2]),
          String(reply[i + 3]),
        ),
      );
    }
    return { publications, top: { epoch, offset: Number(reply[1]) } };
  }

  // ------------------------------------------------------------ presence (presence.ts)

  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    return this.#presence.publishEvent(channel, 'join', info);
  }

  publishLeave(channel: string, info: ClientInfo): Promise<void> {
    return this.#presence.publishEvent(channel, 'leave', info);
  }

  addPresence(channel: string, info: ClientInfo, ttlMs: number): Promise<void> {
    return this.#presence.add(channel, info, ttlMs);
  }

  removePresence(channel: string, clientId: string): Promise<void> {
    return this.#presence.remove(channel, clientId);
  }

  presence(channel: string): Promise<ClientInfo[]> {
    return this.#presence.members(channel);
  }

  presenceStats(channel: string): Promise<PresenceStats> {
    return this.#presence.stats(channel);
  }

  // ------------------------------------------------------------ plumbing

  #keys(channel: string): ChannelKeys {
    if (typeof channel !== 'string') throw new TypeError('channel must be a string');
    let keys = this.#keysCache.get(channel);
    if (!keys) {
      keys = channelKeys(this.#options.prefix, channel);
      // Bounded: the cache only saves string building, so dropping it wholesale is fine.
      if (this.#keysCache.size >= 10_000) this.#keysCache.clear();
      this.#keysCache.set(channel, keys);
    }
    return keys;
  }

  #requireConnection(): RedisConnection {
    if (this.#closed) throw new EngineUnavailableError('Redis engine is closed');
    if (!this.#connection) throw new EngineUnavailableError('Redis engine is not started');
    return this.#connection;
  }

  #serialize(channel: string, op: () => Promise<void>): Promise<void> {
    const previous = this.#channelOps.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(op);
    this.#channelOps.set(channel, next);
    const cleanup = () => {
      if (this.#channelOps.get(channel) === next) this.#channelOps.delete(channel);
    };
    next.then(cleanup, cleanup);
    return next;
  }
}

/** Random hex digits drawn in bulk: a candidate epoch goes with every publish and history call. */
const EPOCH_DIGITS = 12;
let epochPool = '';
let epochAt = 0;

/** A fresh random candidate epoch (12 hex digits); Redis keeps it only when it starts or rotates one. */
function newEpoch(): string {
  if (epochAt + EPOCH_DIGITS > epochPool.length) {
    epochPool = randomBytes((EPOCH_DIGITS / 2) * 512).toString('hex');
    epochAt = 0;
  }
  epochAt += EPOCH_DIGITS;
  return epochPool.slice(epochAt - EPOCH_DIGITS, epochAt);
}
