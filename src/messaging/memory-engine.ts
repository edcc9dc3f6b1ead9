/**
 * The in-process engine: the default for one server process. All state lives
 * in this process's memory, so it is lost on restart — which is exactly what a
 * fresh epoch per channel tells clients (they get `recovered: false`).
 *
 * Memory is bounded by the options the hub passes: history size per channel,
 * TTLs for history, channel meta, idempotency results and presence. One timer
 * per engine sweeps what expired (unref'd: it never keeps the process alive).
 */

import { randomBytes } from 'node:crypto';
import type {
  Engine,
  EngineHandler,
  HistoryPage,
  HistoryRequest,
  PresenceStats,
  PublishOutcome,
  PublishRequest,
} from './engine.js';
import { checkInteger, checkKnownKeys } from './options.js';
import type { ClientInfo, Publication } from './protocol.js';

export interface MemoryEngineOptions {
  /** How often expired history, channels, idempotency results and presence are swept (ms, default 1000). */
  sweepInterval?: number;
  /** How long a channel's epoch and top offset outlive its last publish or read (ms, default 1 hour,
   *  at least the history TTL). After that the channel starts over in a new epoch. */
  metaTtl?: number;
  /** How long a channel that was only read (never published to, no local subscriber) is remembered
   *  (ms, default 60 s). Reads of fresh names must not pin state for an hour each: one connection
   *  reading distinct names at the command rate would otherwise hold ~190 MB. */
  emptyChannelTtl?: number;
}

interface ChannelState {
  epoch: string;
  top: number;
  /** Retained publications in offset order: pubs[i].offset === top - pubs.length + 1 + i. */
  pubs: Publication[];
  historyTtlMs: number;
  expiresAt: number;
}

interface PresenceEntry {
  info: ClientInfo;
  expiresAt: number;
}

interface IdempotencyEntry {
  epoch: string;
  offset: number;
  expiresAt: number;
}

const WHAT = 'MemoryEngine';

/**
 * The data as it will be sent, checked once, up front, that JSON can encode it
 * (a BigInt or a cycle from a server-side publish would otherwise fail later,
 * once per subscriber, after taking an offset), and stored as the engine's own
 * copy: the caller may go on changing its object, and in-process subscribers
 * are handed the stored one, frozen (local.ts). undefined is stored as null,
 * as the Redis engine stores it.
 */
function storedCopy(channel: string, data: unknown): unknown {
  if (data === undefined) return null;
  let json: string | undefined;
  let problem: string | undefined;
  try {
    json = JSON.stringify(data);
    if (json === undefined) problem = `a ${typeof data} is not a JSON value`;
  } catch (error) {
    problem = (error as Error).message.split('\n')[0]; // V8's cycle message goes on for lines
  }
  if (problem !== undefined || json === undefined) {
    throw new TypeError(
      `MemoryEngine: the data published to ${JSON.stringify(channel)} cannot be encoded as JSON (${problem}); publish JSON values only`,
    );
  }
  return JSON.parse(json);
}

export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

export class MemoryEngine implements Engine {
  readonly name = 'memory';
  private handler: EngineHandler | undefined;
  private readonly channels = new Map<string, ChannelState>();
  private readonly idempotency = new Map<string, Map<string, IdempotencyEntry>>();
  private readonly members = new Map<string, Map<string, PresenceEntry>>();
  /** Channels with local subscribers: only these reach the handler. */
  private readonly subscribed = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweepInterval: number;
  private readonly metaTtl: number;
  private readonly emptyChannelTtl: number;
  private closed = false;

  constructor(options: MemoryEngineOptions = {}) {
    checkKnownKeys(WHAT, options, ['sweepInterval', 'metaTtl', 'emptyChannelTtl']);
    this.sweepInterval =
      checkInteger(WHAT, 'sweepInterval', options.sweepInterval, 1, 2 ** 31 - 1, 'ms') ?? 1000;
    this.metaTtl = checkInteger(WHAT, 'metaTtl', options.metaTtl, 1, 2 ** 31 - 1, 'ms') ?? 3_600_000;
    this.emptyChannelTtl = Math.min(
      this.metaTtl,
      checkInteger(WHAT, 'emptyChannelTtl', options.emptyChannelTtl, 1, 2 ** 31 - 1, 'ms') ?? 60_000,
    );
  }

  /** Channels whose state this engine holds (for observability and tests). */
  get channelCount(): number {
    return this.channels.size;
  }

  async start(handler: EngineHandler): Promise<void> {
    if (this.handler) throw new Error('MemoryEngine: start() was already called (one engine per hub)');
    this.handler = handler;
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepInterval);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.subscribed.clear();
    this.members.clear();
  }

  ready(): boolean {
    return !this.closed;
  }

  async subscribe(channel: string): Promise<void> {
    this.subscribed.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.subscribed.delete(channel);
  }

  async publish(request: PublishRequest): Promise<PublishOutcome> {
    const now = Date.now();
    const { channel, idempotencyKey } = request;
    if (idempotencyKey !== undefined) {
      const seen = this.idempotency.get(channel)?.get(idempotencyKey);
      if (seen && seen.expiresAt > now) return { epoch: seen.epoch, offset: seen.offset, duplicate: true };
    }
    const data = storedCopy(channel, request.data);
    const state = this.channel(channel, now);
    const { size, ttlMs } = request.history;
    state.historyTtlMs = ttlMs;
    state.expiresAt = now + Math.max(this.metaTtl, ttlMs);
    state.top++;
    const pub: Publication = { offset: state.top, epoch: state.epoch, data, ts: now };
    if (request.info) pub.info = request.info;
    if (size > 0) {
      state.pubs.push(pub);
      if (state.pubs.length > size) state.pubs.splice(0, state.pubs.length - size);
    } else if (state.pubs.length > 0) {
      state.pubs = [];
    }
    if (idempotencyKey !== undefined) {
      let keys = this.idempotency.get(channel);
      if (!keys) this.idempotency.set(channel, (keys = new Map()));
      const ttl = request.idempotencyTtlMs ?? 300_000;
      keys.set(idempotencyKey, { epoch: state.epoch, offset: state.top, expiresAt: now + ttl });
    }
    // Delivered before the publish resolves: a subscriber sees offsets in order.
    if (this.subscribed.has(channel)) this.handler?.publication(channel, pub);
    return { epoch: state.epoch, offset: state.top, duplicate: false };
  }

  async history(request: HistoryRequest): Promise<HistoryPage> {
    const now = Date.now();
    const state = this.channel(request.channel, now);
    // A read keeps a channel with publications for metaTtl, an empty one only briefly.
    state.expiresAt = Math.max(
      state.expiresAt,
      now + (state.top === 0 ? this.emptyChannelTtl : this.metaTtl),
    );
    this.expireHistory(state, now);
    const top = { epoch: state.epoch, offset: state.top };
    const first = state.top - state.pubs.length + 1;
    let start = 0;
    const since = request.since;
    if (since && since.epoch === state.epoch) start = Math.max(0, since.offset + 1 - first);
    const available = state.pubs.length - start;
    const count = Math.max(0, Math.min(request.limit, available));
    if (count === 0) return { publications: [], top };
    const publications = request.reverse
      ? state.pubs.slice(state.pubs.length - count).reverse()
      : state.pubs.slice(start, start + count);
    return { publications, top };
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    if (this.subscribed.has(channel)) this.handler?.join(channel, info);
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    if (this.subscribed.has(channel)) this.handler?.leave(channel, info);
  }

  async addPresence(channel: string, info: ClientInfo, ttlMs: number): Promise<void> {
    let entries = this.members.get(channel);
    if (!entries) this.members.set(channel, (entries = new Map()));
    entries.set(info.client, { info, expiresAt: Date.now() + ttlMs });
  }

  async removePresence(channel: string, clientId: string): Promise<void> {
    const entries = this.members.get(channel);
    if (!entries) return;
    entries.delete(clientId);
    if (entries.size === 0) this.members.delete(channel);
  }

  async presence(channel: string): Promise<ClientInfo[]> {
    const now = Date.now();
    const out: ClientInfo[] = [];
    for (const entry of this.members.get(channel)?.values() ?? []) {
      if (entry.expiresAt > now) out.push(entry.info);
    }
    return out;
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const members = await this.presence(channel);
    return { clients: members.length, users: new Set(members.map((m) => m.user)).size };
  }

  /** The channel's state, created (in a new epoch) when absent or expired. */
  private channel(name: string, now: number): ChannelState {
    let state = this.channels.get(name);
    if (state && this.expired(name, state, now)) state = undefined;
    if (!state) {
      state = { epoch: newEpoch(), top: 0, pubs: [], historyTtlMs: 0, expiresAt: now + this.emptyChannelTtl };
      this.channels.set(name, state);
    }
    return state;
  }

  /** A channel with local subscribers keeps its epoch and top offset: its subscribers hold positions in it. */
  private expired(name: string, state: ChannelState, now: number): boolean {
    return state.expiresAt <= now && !this.subscribed.has(name);
  }

  private expireHistory(state: ChannelState, now: number): void {
    if (state.pubs.length === 0 || state.historyTtlMs === 0) return;
    const cutoff = now - state.historyTtlMs;
    let drop = 0;
    while (drop < state.pubs.length && state.pubs[drop]!.ts <= cutoff) drop++;
    if (drop > 0) state.pubs.splice(0, drop);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [name, state] of this.channels) {
      if (this.expired(name, state, now)) this.channels.delete(name);
      else this.expireHistory(state, now);
    }
    for (const [channel, keys] of this.idempotency) {
      for (const [key, entry] of keys) if (entry.expiresAt <= now) keys.delete(key);
      if (keys.size === 0) this.idempotency.delete(channel);
    }
    for (const [channel, entries] of this.members) {
      for (const [client, entry] of entries) {
        if (entry.expiresAt > now) continue;
        entries.delete(client);
        // The node that held this member stopped refreshing it: tell the channel it left.
        if (this.subscribed.has(channel)) this.handler?.leave(channel, entry.info);
      }
      if (entries.size === 0) this.members.delete(channel);
    }
  }
}
