/**
 * Key names and pub/sub message codec of the Redis engine.
 *
 * All keys of one channel share the hash tag `{<channel>}` so that a function
 * call touching them lands in one Redis Cluster hash slot (and the pub/sub
 * channel, for SPUBLISH, in the same slot). Redis takes the tag from the
 * first `{` to the next `}`, so a `}` in the channel name would cut the tag
 * short and an empty tag would hash the whole key: the channel is escaped
 * (`%` -> `%25`, `}` -> `%7D`, empty -> `%`) — an injective mapping with no `}`.
 */

import type { ClientInfo, Publication } from '../protocol.js';

export interface ChannelKeys {
  /** Hash: e = epoch, o = top offset, r = replication id, h = history kept, t = ttl,
   *  f = a lower bound of the oldest history entry's timestamp (spares trim checks). */
  meta: string;
  /** Stream: the history, entry id `<offset>-0`. */
  stream: string;
  /** Hash: client -> "<user JSON>\n<info JSON>". */
  presence: string;
  /** Sorted set: client -> lease expiry (ms). */
  presenceLeases: string;
  /** Pub/sub channel carrying publications, joins and leaves. */
  pubsub: string;
  /** Idempotency result key for `key`. */
  idempotency(key: string): string;
}

export function hashTag(channel: string): string {
  if (channel === '') return '%';
  return channel.replace(/%/g, '%25').replace(/\}/g, '%7D');
}

export function channelKeys(prefix: string, channel: string): ChannelKeys {
  const base = `${prefix}{${hashTag(channel)}}`;
  return {
    meta: `${base}:meta`,
    stream: `${base}:history`,
    presence: `${base}:presence`,
    presenceLeases: `${base}:leases`,
    pubsub: `${base}:feed`,
    idempotency: (key) => `${base}:idem:${key}`,
  };
}

export type FeedMessage =
  | { kind: 'publication'; pub: Publication }
  | { kind: 'join'; info: ClientInfo }
  | { kind: 'leave'; info: ClientInfo };

function nthNewline(text: string, from: number): number {
  const at = text.indexOf('\n', from);
  if (at < 0) throw new Error('truncated feed message');
  return at;
}

/** Decodes a pub/sub message written by the function library (functions.ts) or by encodePresenceEvent. */
export function decodeFeedMessage(text: string): FeedMessage {
  const kind = text.slice(0, 2);
  if (kind === 'j\n' || kind === 'l\n') {
    const info = JSON.parse(text.slice(2)) as ClientInfo;
    return kind === 'j\n' ? { kind: 'join', info } : { kind: 'leave', info };
  }
  if (kind !== 'p\n') throw new Error(`unknown feed message kind ${JSON.stringify(kind)}`);
  const e = nthNewline(text, 2);
  const o = nthNewline(text, e + 1);
  const t = nthNewline(text, o + 1);
  const i = nthNewline(text, t + 1);
  const epoch = text.slice(2, e);
  const offset = Number(text.slice(e + 1, o));
  const ts = Number(text.slice(o + 1, t));
  const info = text.slice(t + 1, i);
  return { kind: 'publication', pub: toPublication(epoch, offset, ts, info, text.slice(i + 1)) };
}

export function toPublication(
  epoch: string,
  offset: number,
  ts: number,
  info: string,
  data: string,
): Publication {
  const pub: Publication = { offset, epoch, data: JSON.parse(data), ts };
  if (info !== '') pub.info = JSON.parse(info) as ClientInfo;
  return pub;
}

export function encodePresenceEvent(kind: 'join' | 'leave', info: ClientInfo): string {
  return `${kind === 'join' ? 'j' : 'l'}\n${JSON.stringify(info)}`;
}

/** The presence hash value: the user first (for unique-user counts in Lua; JSON-quoted so it
 *  holds no raw newline), then the info. */
export function encodePresenceValue(info: ClientInfo): string {
  return `${JSON.stringify(info.user)}\n${JSON.stringify(info)}`;
}

export function decodePresenceValue(value: string): ClientInfo {
  return JSON.parse(value.slice(value.indexOf('\n') + 1)) as ClientInfo;
}
