/**
 * The chat's JSON protocol, validated without trusting anything the client
 * sends. Client -> server:
 *   { "type": "join", "room": "lobby", "nick": "alice" }
 *   { "type": "message", "text": "hello" }
 * Server -> client:
 *   { "type": "welcome", "room", "nick", "users": [...], "history": [ChatMessage] }
 *   { "type": "presence", "event": "join" | "leave", "nick", "count" }   (a delta: the
 *     full list goes only to the joiner, in welcome, so a join costs O(members), not O(members^2))
 *   { "type": "message", "id", "room", "nick", "text", "ts" }
 *   { "type": "error", "code", "message" }
 */

import { isSingleScript, scriptsOf } from './nickname.js';

export const MAX_TEXT_LENGTH = 1000;
export const MAX_NICK_LENGTH = 24;
export const MAX_ROOM_LENGTH = 32;
/** Larger frames are abuse: the connection is closed with 1008. */
export const MAX_CHAT_FRAME = 4096;
export const HISTORY_SIZE = 50;

export interface ChatMessage {
  type: 'message';
  id: number;
  room: string;
  nick: string;
  text: string;
  ts: number;
}

export type ClientMessage = { type: 'join'; room: string; nick: string } | { type: 'message'; text: string };

export type ErrorCode =
  | 'invalid-json'
  | 'invalid-type'
  | 'invalid-nick'
  | 'invalid-room'
  | 'invalid-text'
  | 'nick-taken'
  | 'room-limit'
  | 'not-joined'
  | 'binary-not-supported';

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string };

const NICK = /^[\p{L}\p{N}_.-]+(?: [\p{L}\p{N}_.-]+)*$/u;
const ROOM = /^[a-z0-9][a-z0-9_-]*$/;

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
    return { ok: true, message: { type: 'join', room, nick } };
  }
  if (m.type === 'message') {
    const text = typeof m.text === 'string' ? m.text.trim() : '';
    if (text.length === 0 || text.length > MAX_TEXT_LENGTH) {
      return error('invalid-text', `text must be 1-${MAX_TEXT_LENGTH} characters`);
    }
    return { ok: true, message: { type: 'message', text } };
  }
  return error('invalid-type', 'type must be "join" or "message"');
}
