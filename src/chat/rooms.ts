import { looksAlike, type NickKeys, nickKeys } from './nickname.js';
import { type ChatMessage, HISTORY_SIZE } from './protocol.js';

/** The room everyone can always join: never evicted and outside every room cap. */
export const LOBBY = 'lobby';

interface Membership {
  nick: string;
  keys: NickKeys;
}

/** A room: who is in it (by connection) and its last HISTORY_SIZE messages. */
export class Room<Member> {
  readonly members = new Map<Member, Membership>();
  private readonly history: ChatMessage[] = [];

  constructor(readonly name: string) {}

  /** The member whose nickname is, or looks like, `nick` (TR39 skeleton; see nickname.ts). */
  lookalike(nick: string): string | undefined {
    const wanted = nickKeys(nick);
    for (const m of this.members.values()) if (looksAlike(m.keys, wanted)) return m.nick;
    return undefined;
  }

  add(member: Member, nick: string): void {
    this.members.set(member, { nick, keys: nickKeys(nick) });
  }

  users(): string[] {
    return [...this.members.values()].map((m) => m.nick).sort((a, b) => a.localeCompare(b));
  }

  record(message: ChatMessage): void {
    this.history.push(message);
    if (this.history.length > HISTORY_SIZE) this.history.shift();
  }

  recent(): ChatMessage[] {
    return [...this.history];
  }
}

export interface RoomLimits {
  /** Rooms held in memory at once besides the lobby (empty ones are evicted first; 0: no limit). */
  maxRooms: number;
  /** Different rooms the connections of one address may be in at once (the lobby not counted; 0: no limit). */
  maxRoomsPerIp: number;
}

export type OpenResult<Member> = { room: Room<Member> } | { refused: string };

/**
 * All rooms, capped so that clients cannot create unbounded state, and capped
 * per address so that one client with many connections cannot occupy every
 * room slot and lock everyone else out of new rooms (issue 11 item 7).
 */
export class Rooms<Member> {
  private readonly rooms = new Map<string, Room<Member>>();
  /** address -> room name -> connections of that address in the room. */
  private readonly byIp = new Map<string, Map<string, number>>();

  constructor(private readonly limits: RoomLimits) {
    this.rooms.set(LOBBY, new Room(LOBBY));
  }

  get(name: string): Room<Member> | undefined {
    return this.rooms.get(name);
  }

  /** The room for a connection from `ip` to enter, created if needed, or why not. */
  open(name: string, ip: string): OpenResult<Member> {
    const held = this.byIp.get(ip);
    const perIp = this.limits.maxRoomsPerIp;
    if (perIp > 0 && name !== LOBBY && !held?.has(name) && (held?.size ?? 0) >= perIp) {
      return {
        refused: `connections from your address are already in ${this.limits.maxRoomsPerIp} rooms; leave one or join "${LOBBY}"`,
      };
    }
    let room = this.rooms.get(name);
    const max = this.limits.maxRooms;
    if (!room) {
      if (max > 0 && this.rooms.size > max) this.evictEmpty();
      if (max > 0 && this.rooms.size > max) {
        return { refused: `the server holds its limit of ${this.limits.maxRooms} rooms; join "${LOBBY}"` };
      }
      room = new Room(name);
      this.rooms.set(name, room);
    }
    return { room };
  }

  /** Count a connection from `ip` into `room` (after open() said yes). */
  enter(room: Room<Member>, ip: string): void {
    if (room.name === LOBBY) return;
    let held = this.byIp.get(ip);
    if (!held) this.byIp.set(ip, (held = new Map()));
    held.set(room.name, (held.get(room.name) ?? 0) + 1);
  }

  exit(room: Room<Member>, ip: string): void {
    const held = this.byIp.get(ip);
    const n = held?.get(room.name);
    if (!held || n === undefined) return;
    if (n > 1) held.set(room.name, n - 1);
    else held.delete(room.name);
    if (held.size === 0) this.byIp.delete(ip);
  }

  /** Forget empty rooms (and their history) to make space; the lobby stays. */
  private evictEmpty(): void {
    for (const [name, room] of this.rooms) {
      if (name !== LOBBY && room.members.size === 0) this.rooms.delete(name);
    }
  }
}
