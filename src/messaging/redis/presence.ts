/**
 * Presence on Redis: per channel a hash (client -> user + info) and a sorted set
 * of lease expiries (Redis 7.0 has no per-field HEXPIRE). The hub refreshes its
 * clients' leases; a node that dies stops refreshing, and whichever node sweeps
 * the channel first removes the expired entries and publishes their leaves —
 * atomically inside one function call, so each leave is published once.
 */

import type { PresenceStats } from '../engine.js';
import type { ClientInfo } from '../protocol.js';
import type { CommandRunner } from './commands.js';
import { Fn } from './functions.js';
import { type ChannelKeys, decodePresenceValue, encodePresenceEvent, encodePresenceValue } from './keys.js';

/** Channels per sweep call (bounded work per call on the server). */
const SWEEP_CHANNELS = 200;

export class RedisPresence {
  /** Entries this node added (removed, with their leaves, on close). */
  readonly #own = new Map<string, Map<string, ClientInfo>>();

  constructor(
    private readonly commands: CommandRunner,
    private readonly keysOf: (channel: string) => ChannelKeys,
    private readonly sharded: boolean,
    /** One server (not a cluster): a call may touch the keys of many channels. */
    private readonly batched: boolean,
  ) {}

  /** A join or leave to every node subscribed to the channel. */
  async publishEvent(channel: string, kind: 'join' | 'leave', info: ClientInfo): Promise<void> {
    const keys = this.keysOf(channel);
    await this.commands.call(keys.pubsub, [
      this.sharded ? 'SPUBLISH' : 'PUBLISH',
      keys.pubsub,
      encodePresenceEvent(kind, info),
    ]);
  }

  async add(channel: string, info: ClientInfo, ttlMs: number): Promise<void> {
    const keys = this.keysOf(channel);
    const lease = Math.max(1, Math.floor(ttlMs));
    await this.commands.fcall(
      Fn.presenceAdd,
      [keys.presence, keys.presenceLeases],
      [info.client, encodePresenceValue(info), String(lease)],
    );
    let own = this.#own.get(channel);
    if (!own) this.#own.set(channel, (own = new Map()));
    own.set(info.client, info);
  }

  async remove(channel: string, clientId: string): Promise<void> {
    const own = this.#own.get(channel);
    own?.delete(clientId);
    if (own?.size === 0) this.#own.delete(channel);
    const keys = this.keysOf(channel);
    await this.commands.fcall(Fn.presenceRemove, [keys.presence, keys.presenceLeases], [clientId]);
  }

  async members(channel: string): Promise<ClientInfo[]> {
    const keys = this.keysOf(channel);
    const values = (await this.commands.fcall(
      Fn.presenceGet,
      [keys.presence, keys.presenceLeases],
      this.#feedArgs(keys),
    )) as string[];
    return values.map((v) => decodePresenceValue(String(v)));
  }

  async stats(channel: string): Promise<PresenceStats> {
    const keys = this.keysOf(channel);
    const reply = (await this.commands.fcall(
      Fn.presenceStats,
      [keys.presence, keys.presenceLeases],
      this.#feedArgs(keys),
    )) as number[];
    return { clients: Number(reply[0]), users: Number(reply[1]) };
  }

  /**
   * Removes expired leases (of dead nodes) in these channels, publishing their leaves.
   * Every subscribed channel is swept every presenceSweepMs, whether or not it has
   * presence (the engine does not know): on one server, SWEEP_CHANNELS channels per
   * function call instead of one call (one round trip, one reply) per channel. On a
   * cluster every call must stay in one hash slot: one call per channel.
   */
  sweep(channels: Iterable<string>): void {
    if (!this.batched) {
      for (const channel of channels) this.#sweepCall([channel]);
      return;
    }
    let batch: string[] = [];
    for (const channel of channels) {
      batch.push(channel);
      if (batch.length === SWEEP_CHANNELS) {
        this.#sweepCall(batch);
        batch = [];
      }
    }
    if (batch.length > 0) this.#sweepCall(batch);
  }

  #sweepCall(channels: string[]): void {
    const keys: string[] = [];
    const args: string[] = [this.sharded ? '1' : '0'];
    for (const channel of channels) {
      const k = this.keysOf(channel);
      keys.push(k.presence, k.presenceLeases);
      args.push(k.pubsub);
    }
    this.commands.fcall(Fn.presenceSweep, keys, args).catch(() => {}); // the next sweep tries again
  }

  /** Removes every entry this node added and tells the other nodes (best effort, bounded by timeouts). */
  async removeOwn(): Promise<void> {
    const removals: Promise<unknown>[] = [];
    for (const [channel, clients] of this.#own) {
      for (const info of clients.values())
        removals.push(this.#removeWithLeave(channel, info).catch(() => {}));
    }
    await Promise.all(removals);
    this.#own.clear();
  }

  async #removeWithLeave(channel: string, info: ClientInfo): Promise<void> {
    const keys = this.keysOf(channel);
    const removed = await this.commands.fcall(
      Fn.presenceRemove,
      [keys.presence, keys.presenceLeases],
      [info.client],
    );
    // Only when it was still there: the hub may have removed it (and published the leave) already.
    if (Number(removed) === 1) await this.publishEvent(channel, 'leave', info);
  }

  #feedArgs(keys: ChannelKeys): string[] {
    return [keys.pubsub, this.sharded ? '1' : '0'];
  }
}
