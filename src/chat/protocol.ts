/**
 * The chat's JSON protocol (README "The chat protocol"), validated without
 * trusting anything the client sends. Client -> server:
 *   { "type": "join", "room": "lobby", "nick": "alice", "since"?: { "epoch", "offset" } }
 *   { "type": "message", "text": "hello", "key"?: "idempotency key" }
 * Server -> client:
 *   { "type": "welcome", "room", "nick", "users": [...], "history": [ChatMessage], "epoch", "offset", "recovered"? }
 *   { "type": "presence", "event": "join" | "leave", "nick" }   (a delta: the full list goes
 *     only to the joiner, in welcome, so a join costs O(members), not O(members^2))
 *   { "type": "message", "id", "room", "nick", "text", "ts", "epoch", "offset", "key"? }
 *   { "type": "error", "code", "message" }
 * A room is a messaging channel: `offset` numbers its messages 1, 2, 3, ... within
 * `epoch`, and a join with `since` gets exactly the messages after that position.
 */

import type { Publication } from '../messaging/index.js';
import { isSingleScript, scriptsOf } from './nickname.js';

export const MAX_TEXT_LENGTH = 1000;
export const MAX_NICK_LENGTH = 24;
export const MAX_ROOM_LENGTH = 32;
/** Larger frames are abuse: the connection is closed with 1008. */
export const MAX_CHAT_FRAME = 4096;
/** Messages a newcomer gets on join. */
export const HISTORY_SIZE = 50;
const MAX_KEY_LENGTH = 64;
const MAX_EPOCH_LENGTH = 64;

export interface Position {
  epoch: string;
  offset: number;
}

export interface ChatMessage extends Position {
  type: 'message';
  /** The message's offset in its room (kept under its old name for existing clients). */
  id: number;
  room: string;
  nick: string;
  text: string;
  ts: number;
  /** The sender's idempotency key, so its page can match the message to what it sent. */
  key?: string;
}

export type ClientMessage =
  | { type: 'join'; room: string; nick: string; since?: Position; token?: string }
  | { type: 'message'; text: string; key?: string };

export type ErrorCode =
  | 'invalid-json'
  | 'invalid-type'
  | 'invalid-nick'
  | 'invalid-room'
  | 'invalid-text'
  | 'nick-taken'
  | 'room-limit'
  | 'not-joined'
  | 'invalid-since'
  | 'invalid-key'
  | 'unavailable'
  | 'binary-not-supported';

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string };

const NICK = /^[\p{L}\p{N}_.-]+(?: [\p{L}\p{N}_.-]+)*$/u;
const ROOM = /^[a-z0-9][a-z0-9_-]*$/;

/** Idempotency keys and tab tokens: short, URL-safe. */
function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_KEY_LENGTH && /^[A-Za-z0-9_-]+$/.test(value);
}

function error(code: ErrorCode, message: string): Parsed {
  return { ok: false, code, message };
}

export function parseClientMessage(raw: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return error('invalid-json', 'messages must be JSON objects');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return error('invalid-json', 'messages must be JSON objects');
  }
  const m = value as Record<string, unknown>;
  if (m.type === 'join') {
    // NFKC first (UAX #15): the rules below judge, and the room shows, one canonical spelling.
    const nick = typeof m.nick === 'string' ? m.nick.normalize('NFKC').trim() : '';
    if (nick.length === 0 || [...nick].length > MAX_NICK_LENGTH || !NICK.test(nick)) {
      return error(
        'invalid-nick',
        `nicknames are 1-${MAX_NICK_LENGTH} letters, digits, spaces, "_", "-" or "."`,
      );
    }
    if (!isSingleScript(nick)) {
      return error(
        'invalid-nick',
        `nicknames use letters of one script (not e.g. Latin and Cyrillic mixed); "${nick}" mixes ${[...scriptsOf(nick)].join(' and ')}`,
      );
    }
    const room = m.room === undefined ? 'lobby' : m.room;
    if (typeof room !== 'string' || room.length > MAX_ROOM_LENGTH || !ROOM.test(room)) {
      return error(
        'invalid-room',
        `room names are 1-${MAX_ROOM_LENGTH} lowercase letters, digits, "_" or "-"`,
      );
    }
    const join: ClientMessage & { type: 'join' } = { type: 'join', room, nick };
    if (m.token !== undefined) {
      if (!isKey(m.token))
        return error('invalid-key', `token is 1-${MAX_KEY_LENGTH} letters, digits, "_" or "-"`);
      join.token = m.token;
    }
    if (m.since === undefined) return { ok: true, message: join };
    const since = m.since as Record<string, unknown> | null;
    if (
      since === null ||
      typeof since !== 'object' ||
      typeof since.epoch !== 'string' ||
      since.epoch.length > MAX_EPOCH_LENGTH ||
      !Number.isSafeInteger(since.offset) ||
      (since.offset as number) < 0
    ) {
      return error(
        'invalid-since',
        'since is {"epoch": string, "offset": integer >= 0} from a message or welcome',
      );
    }
    join.since = { epoch: since.epoch, offset: since.offset as number };
    return { ok: true, message: join };
  }
  if (m.type === 'message') {
    const text = typeof m.text === 'string' ? m.text.trim() : '';
    if (text.length === 0 || text.length > MAX_TEXT_LENGTH) {
      return error('invalid-text', `text must be 1-${MAX_TEXT_LENGTH} characters`);
    }
    if (m.key === undefined) return { ok: true, message: { type: 'message', text } };
    if (!isKey(m.key)) {
      return error('invalid-key', `key is 1-${MAX_KEY_LENGTH} letters, digits, "_" or "-"`);
    }
    return { ok: true, message: { type: 'message', text, key: m.key } };
  }
  return error('invalid-type', 'type must be "join" or "message"');
}

/** A publication of a room as the chat protocol's message (undefined if it is not one). */
export function toChatMessage(room: string, pub: Publication): ChatMessage | undefined {
  const data = pub.data as { nick?: unknown; text?: unknown; key?: unknown } | null;
  // The publisher's user id is its nickname; `data.nick` is what earlier versions stored.
  const nick = pub.info?.user ?? data?.nick;
  if (!data || typeof nick !== 'string' || typeof data.text !== 'string') return undefined;
  const message: ChatMessage = {
    type: 'message',
    id: pub.offset,
    room,
    nick,
    text: data.text,
    ts: pub.ts,
    epoch: pub.epoch,
    offset: pub.offset,
  };
  if (typeof data.key === 'string') message.key = data.key;
  return message;
}
