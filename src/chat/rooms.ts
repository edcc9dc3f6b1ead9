import { looksAlike, type NickKeys, nickKeys } from './nickname.js';

/** The room everyone can always join: outside every room cap. */
export const LOBBY = 'lobby';

/** A room is the messaging channel `room:<name>` (history, presence and join/leave live in the engine). */
export const channelOf = (room: string) => `room:${room}`;

export interface Holder<Member> {
  member: Member;
  nick: string;
  keys: NickKeys;
  /** The page's tab token: the same tab rejoining may replace its stale connection. */
  token: string | undefined;
}

export interface RoomLimits {
  /** Rooms with members on this server at once, the lobby not counted (0: no limit). */
  maxRooms: number;
  /** Different rooms the connections of one address may be in at once (the lobby not counted; 0: no limit). */
  maxRoomsPerIp: number;
}

/**
 * The rooms this server's connections are in: who holds which nickname here
 * (checked synchronously, so two joins racing on this server cannot take the
 * same name; the engine's presence covers other servers), capped in total and
 * per address so that one client with many connections cannot occupy every
 * room slot and lock everyone else out of new rooms (issue 11 item 7).
 */
export class Rooms<Member> {
  /** room -> member -> nickname (and its keys), tab token (members that are joining included). */
  private readonly rooms = new Map<string, Map<Member, Holder<Member>>>();
  /** address -> room -> connections of that address in the room. */
  private readonly byIp = new Map<string, Map<string, number>>();

  constructor(private readonly limits: RoomLimits) {}

  /** Why a connection from `ip` may not enter `room`, or undefined when it may. */
  refusal(room: string, ip: string): string | undefined {
    if (room === LOBBY) return undefined;
    const held = this.byIp.get(ip);
    const perIp = this.limits.maxRoomsPerIp;
    if (perIp > 0 && !held?.has(room) && (held?.size ?? 0) >= perIp) {
      return `connections from your address are already in ${perIp} rooms; leave one or join "${LOBBY}"`;
    }
    const max = this.limits.maxRooms;
    const others = this.rooms.size - (this.rooms.has(LOBBY) ? 1 : 0);
    if (max > 0 && !this.rooms.has(room) && others >= max) {
      return `the server holds its limit of ${max} rooms; join "${LOBBY}"`;
    }
    return undefined;
  }

  /** The nickname in `room` here that is, or looks like, `nick` (TR39 skeleton; see nickname.ts). */
  lookalike(room: string, nick: string): string | undefined {
    return this.holder(room, nick)?.nick;
  }

  /** Who here holds a nickname that is, or looks like, `nick`. */
  holder(room: string, nick: string): Holder<Member> | undefined {
    const wanted = nickKeys(nick);
    for (const h of this.rooms.get(room)?.values() ?? []) if (looksAlike(h.keys, wanted)) return h;
    return undefined;
  }

  /** Count `member` (from `ip`, as `nick`) into `room`; call after refusal() and holder() said yes. */
  enter(room: string, member: Member, nick: string, ip: string, token?: string): void {
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Map()));
    members.set(member, { member, nick, keys: nickKeys(nick), token });
    if (room === LOBBY) return;
    let held = this.byIp.get(ip);
    if (!held) this.byIp.set(ip, (held = new Map()));
    held.set(room, (held.get(room) ?? 0) + 1);
  }

  exit(room: string, member: Member, ip: string): void {
    const members = this.rooms.get(room);
    if (!members?.delete(member)) return;
    if (members.size === 0) this.rooms.delete(room);
    const held = this.byIp.get(ip);
    const n = held?.get(room);
    if (!held || n === undefined) return;
    if (n > 1) held.set(room, n - 1);
    else held.delete(room);
    if (held.size === 0) this.byIp.delete(ip);
  }
}

/** The first of `nicks` that is, or looks like, `nick`. */
export function lookalikeIn(
  members: Iterable<{ nick: string; keys?: NickKeys }>,
  nick: string,
): string | undefined {
  const wanted = nickKeys(nick);
  for (const m of members) if (looksAlike(m.keys ?? nickKeys(m.nick), wanted)) return m.nick;
  return undefined;
}
