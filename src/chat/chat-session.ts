import { CloseCode, type ServerWebSocket } from '../index.js';
import { type ClientInfo, type Hub, HubError, type LocalConnection, type Push } from '../messaging/index.js';
import type { Coalescer } from './coalescer.js';
import { type Departures, sameTab, tabHash } from './departures.js';
import { FloodGate } from './flood.js';
import {
  type ChatMessage,
  type ErrorCode,
  HISTORY_SIZE,
  MAX_CHAT_FRAME,
  type Position,
  parseClientMessage,
  toChatMessage,
} from './protocol.js';
import { channelOf, lookalikeIn, type Rooms } from './rooms.js';

const MAX_ERRORS = 20;
/** Close code for "a newer connection of the same tab took over": the page does not reconnect. */
export const CLOSE_REPLACED = 4001;

export interface ChatSessionOptions {
  hub: Hub;
  rooms: Rooms<ChatSession>;
  /** Messages allowed per `rateWindow` ms before the connection is closed with 1008 (0: no limit). */
  rateLimit: number;
  rateWindow: number;
  /** Gathers presence deltas so a burst of joins costs one write per member, not one per join. */
  presence: Coalescer;
  /** Whether a leave is shown (not when the user is still here through a newer connection). */
  departures: Departures;
}

let nextTopic = 1;

/**
 * One `/chat` connection speaking the chat's JSON protocol, bridged onto the
 * messaging hub through a local connection (hub.connectLocal): the room is the
 * channel `room:<name>`, the member list is its presence (user = nickname), the
 * history is the channel's history, and a join with `since` is the hub's exact
 * recovery. Pushes are relayed in order; the welcome goes out once the
 * subscription is in place, with live messages that arrive meanwhile held
 * until after it (so a newcomer's history and the live stream never cross).
 */
export class ChatSession {
  private room: string | undefined;
  private nick: string | undefined;
  private local: LocalConnection | undefined;
  /** 'recovering': missed messages flow straight out; 'welcoming': live ones wait for the welcome. */
  private phase: 'recovering' | 'welcoming' | 'live' = 'live';
  private held: string[] = [];
  private readonly flood: FloodGate;
  private errors = 0;
  /** Joins and messages run one after another, as the client sent them (joins await the engine). */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** This connection's own topic, for coalesced presence deltas. */
  private readonly topic = `chat-presence:${nextTopic++}`;
  /** Presence deltas waiting for a leave check, in the order they arrived (undefined: none). */
  private deltas: Promise<void> | undefined;

  constructor(
    private readonly ws: ServerWebSocket,
    private readonly ip: string,
    private readonly options: ChatSessionOptions,
  ) {
    this.flood = new FloodGate(options.rateLimit, options.rateWindow);
    ws.subscribe(this.topic);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.release());
    ws.on('error', () => {}); // the close that follows cleans up
  }

  /** The hub's client id of this connection's membership ('' when in no room). */
  get clientId(): string {
    return this.local?.client ?? '';
  }

  /** A newer connection of the same tab took this one's place: tell it (do not reconnect), let go. */
  replace(): void {
    if (this.ws.readyState === this.ws.OPEN)
      this.ws.close(CLOSE_REPLACED, 'replaced by a newer connection of this tab');
    this.release();
  }

  private write(payload: object | string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    if (this.phase === 'welcoming') return void this.held.push(text);
    this.options.presence.flush(this.topic); // deltas gathered so far go first
    this.ws.send(text);
  }

  /** A push from the hub for this connection's membership. */
  private onPush(push: Push, room: string): void {
    if (push.push === 'pub') {
      const message = toChatMessage(room, push.pub);
      if (message) this.write(message);
    } else if (push.push === 'join' || push.push === 'leave') {
      this.presenceDelta(push.push, push.info, room);
    } else if (push.push === 'unsubscribed') {
      // The room's stream cannot continue in order here (e.g. 2500): reconnect; the rejoin says what was lost.
      this.ws.close(CloseCode.TryAgainLater, `rejoin: ${push.reason}`);
    }
  }

  /**
   * A join or leave for the member list. A leave waits for Departures to say the
   * user is really gone (a stale entry of a killed server expiring after its user
   * reconnected elsewhere is not shown); later deltas wait behind it, so the
   * list is changed in the order the room changed.
   */
  private presenceDelta(event: 'join' | 'leave', info: ClientInfo, room: string): void {
    const local = this.local;
    const emit = () => {
      if (this.local !== local || this.closed) return;
      const delta = JSON.stringify({ type: 'presence', event, nick: info.user });
      if (this.phase === 'live') this.options.presence.add(this.topic, delta);
      else this.write(delta);
    };
    const shown = event === 'leave' ? this.options.departures.gone(channelOf(room), info) : true;
    if (shown === true && this.deltas === undefined) return emit();
    const next = Promise.all([this.deltas, shown])
      .then(([, show]) => {
        if (show) emit();
      })
      .catch((error) => this.failed(error));
    this.deltas = next;
    void next.finally(() => {
      if (this.deltas === next) this.deltas = undefined;
    });
  }

  // ------------------------------------------------------------ the chat protocol

  private receive(data: string | Buffer, isBinary: boolean): void {
    if (!this.flood.allow()) {
      return this.ws.close(CloseCode.PolicyViolation, 'flooding: too many messages');
    }
    if (data.length > MAX_CHAT_FRAME) {
      return this.ws.close(CloseCode.PolicyViolation, `message larger than ${MAX_CHAT_FRAME} bytes`);
    }
    if (isBinary) return this.reject('binary-not-supported', 'send JSON text messages');
    const parsed = parseClientMessage(data as string);
    if (!parsed.ok) return this.reject(parsed.code, parsed.message);
    const message = parsed.message;
    // In order: a script may send join and message back to back. The rate limit bounds this queue.
    const step =
      message.type === 'join'
        ? () => this.join(message.room, message.nick, message.since, message.token)
        : () => this.say(message.text, message.key);
    this.queue = this.queue.then(step).catch((error) => this.failed(error));
  }

  private say(text: string, key: string | undefined): void {
    if (this.closed) return;
    const local = this.local;
    if (!this.room || !this.nick || !local) return this.reject('not-joined', 'join a room first');
    // The hub scopes the key by user (= nickname): a page retrying after a reconnect keeps both.
    // Not awaited: the engine keeps one connection's publishes in order.
    local
      .publish(channelOf(this.room), key === undefined ? { text } : { text, key }, key)
      .catch((error) => this.failed(error));
  }

  private async join(room: string, nick: string, since?: Position, token?: string): Promise<void> {
    if (this.closed || (this.room === room && this.nick === nick)) return;
    this.leave();
    const { rooms, hub } = this.options;
    const refusal = rooms.refusal(room, this.ip);
    if (refusal) return this.reject('room-limit', refusal);
    let holder = rooms.holder(room, nick);
    let replaced = '';
    if (holder && token !== undefined && holder.token === token && holder.nick === nick) {
      // The same tab reconnecting before this server noticed its old connection died.
      replaced = holder.member.clientId;
      holder.member.replace();
      holder = rooms.holder(room, nick);
    }
    if (holder) return this.nickTaken(room, nick, holder.nick);
    // Reserved before any await, so a second join of the name on this server is refused.
    rooms.enter(room, this, nick, this.ip, token);
    const channel = channelOf(room);
    // What presence shows of this tab: the same page reconnecting elsewhere is recognised by it.
    const tab = token === undefined ? undefined : tabHash(token);
    let local: LocalConnection | undefined;
    try {
      local = await hub.connectLocal({
        user: nick,
        info: tab === undefined ? { nick } : { nick, tab },
        onPush: (push) => {
          if (this.local === local) this.onPush(push, room);
        },
        onClose: (code, reason) => {
          // The hub let go (4001 slow consumer, 4000 shutdown, ...): the page reconnects and recovers.
          if (this.local === local && code !== 1000) this.ws.close(CloseCode.TryAgainLater, reason);
        },
        bufferedAmount: () => this.ws.bufferedAmount,
        drained: () => this.ws.drained(),
      });
      this.local = local;
      if (this.closed) return; // the finally below lets go of what this join took
      // Members on other servers (a shared engine such as Redis): their names are checked too,
      // except this tab's own entry left by a server that died (it lasts until its lease ends).
      if (hub.engine.name !== 'memory') {
        const members = (await local.presence(channel)).members;
        const other = members.filter(
          (m) => m.client !== replaced && m.client !== local!.client && !sameTab(m, nick, tab),
        );
        const remote = lookalikeIn(
          other.map((m) => ({ nick: m.user })),
          nick,
        );
        if (remote !== undefined) throw new NickTaken(remote);
      }
      // Missed messages (with `since`) are pushed before subscribe() resolves: they go straight out.
      this.phase = 'recovering';
      const result = await local.subscribe(channel, since);
      this.phase = 'welcoming';
      const recovered = since === undefined ? undefined : result.recovered !== false;
      const history = recovered ? [] : await this.latest(local, room, result);
      const users = new Set((await local.presence(channel)).members.map((m) => m.user));
      if (this.closed || this.local !== local) return;
      this.room = room;
      this.nick = nick;
      this.phase = 'live';
      this.write({
        type: 'welcome',
        room,
        nick,
        users: [...users].sort((a, b) => a.localeCompare(b)),
        history,
        epoch: result.epoch,
        offset: result.offset,
        ...(recovered === undefined ? {} : { recovered }),
      });
      for (const text of this.held.splice(0)) this.write(text);
    } catch (error) {
      this.phase = 'live';
      this.held = [];
      if (this.room !== room) {
        if (this.local === local) this.local = undefined;
        local?.close();
        rooms.exit(room, this, this.ip);
      }
      if (error instanceof NickTaken) return this.nickTaken(room, nick, error.holder);
      throw error;
    } finally {
      // Closed while joining: release() found no room yet, so the slot, nickname and
      // subscription this join took would be held forever (a room-slot squatting leak).
      if (this.closed) {
        if (this.local === local) this.local = undefined;
        local?.close();
        rooms.exit(room, this, this.ip);
      }
    }
  }

  /** The newest HISTORY_SIZE messages up to the subscription's start (later ones arrive live). */
  private async latest(local: LocalConnection, room: string, top: Position): Promise<ChatMessage[]> {
    const page = await local.history(channelOf(room), { limit: HISTORY_SIZE, reverse: true });
    const out: ChatMessage[] = [];
    for (const pub of page.publications.reverse()) {
      if (pub.epoch !== top.epoch || pub.offset > top.offset) continue;
      const message = toChatMessage(room, pub);
      if (message) out.push(message);
    }
    return out;
  }

  private leave(): void {
    const room = this.room;
    const local = this.local;
    this.room = undefined;
    this.nick = undefined;
    this.local = undefined;
    local?.close(); // the hub removes the presence entry and publishes the leave
    if (room !== undefined) this.options.rooms.exit(room, this, this.ip);
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.presence.forget(this.topic);
    this.leave();
  }

  private nickTaken(room: string, nick: string, holder: string): void {
    const why = holder === nick ? '' : ` (too like "${holder}")`;
    this.reject('nick-taken', `"${nick}" is already in ${room}${why}`);
  }

  /** Engine trouble answers `unavailable` (the page retries). */
  private failed(error: unknown): void {
    if (this.closed) return;
    const temporary = error instanceof HubError ? error.temporary : true;
    const message = error instanceof Error ? error.message : String(error);
    this.write({
      type: 'error',
      code: 'unavailable',
      message: temporary ? `try again: ${message}` : message,
    });
  }

  private reject(code: ErrorCode, message: string): void {
    if (++this.errors > MAX_ERRORS) {
      return this.ws.close(CloseCode.PolicyViolation, 'too many invalid messages');
    }
    this.write({ type: 'error', code, message });
  }
}

class NickTaken extends Error {
  constructor(readonly holder: string) {
    super(`taken by ${holder}`);
  }
}
