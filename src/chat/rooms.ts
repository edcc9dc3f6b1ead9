import { type ChatMessage, HISTORY_SIZE } from './protocol.js';

/** A room: who is in it (by connection) and its last HISTORY_SIZE messages. */
export class Room<Member> {
  readonly members = new Map<Member, string>();
  private readonly history: ChatMessage[] = [];

  constructor(readonly name: string) {}

  hasNick(nick: string): boolean {
    const wanted = nick.toLowerCase();
    for (const n of this.members.values()) if (n.toLowerCase() === wanted) return true;
    return false;
  }

  users(): string[] {
    return [...this.members.values()].sort((a, b) => a.localeCompare(b));
  }

  record(message: ChatMessage): void {
    this.history.push(message);
    if (this.history.length > HISTORY_SIZE) this.history.shift();
  }

  recent(): ChatMessage[] {
    return [...this.history];
  }
}

/** All rooms, capped so that clients cannot create unbounded state. */
export class Rooms<Member> {
  private readonly rooms = new Map<string, Room<Member>>();

  constructor(private readonly maxRooms = 1000) {}

  get(name: string): Room<Member> | undefined {
    return this.rooms.get(name);
  }

  /** The room, created if needed; undefined when the cap is reached. */
  open(name: string): Room<Member> | undefined {
    let room = this.rooms.get(name);
    if (!room) {
      if (this.rooms.size >= this.maxRooms) this.evictEmpty();
      if (this.rooms.size >= this.maxRooms) return undefined;
      room = new Room(name);
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Forget empty rooms (and their history) to make space. */
  private evictEmpty(): void {
    for (const [name, room] of this.rooms) if (room.members.size === 0) this.rooms.delete(name);
  }
}
