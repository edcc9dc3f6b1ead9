import { randomUUID } from 'node:crypto';
import type { WebSocket } from '../index.js';
import { publish } from '../messaging/channel-commands.js';
import { HubError } from '../messaging/context.js';
import type { Hub } from '../messaging/hub.js';
import type { ClientInfo, Publication } from '../messaging/protocol.js';
import { SessionChannels } from '../messaging/session-channels.js';
import type { Subscription } from '../messaging/subscription.js';
import { CloseCode } from '../protocol/constants.js';
import {
  type ChatMessage,
  type ErrorCode,
  HISTORY_SIZE,
  MAX_CHAT_FRAME,
  type Position,
  parseClientMessage,
} from './protocol.js';
import { channelOf, lookalikeIn, type Rooms } from './rooms.js';

const RATE_WINDOW_MS = 10_000;
const MAX_ERRORS = 20;

export interface ChatSessionOptions {
  hub: Hub;
  rooms: Rooms<ChatSession>;
  /** Messages allowed per 10 s before the connection is closed with 1008. */
  rateLimit: number;
}

/**
 * One `/chat` connection speaking the chat's JSON protocol, translated onto the
 * messaging hub: the room is the channel `room:<name>`, the member list is its
 * presence (nickname = user), the history is the channel's history, and a join
 * with `since` is the hub's exact recovery. As the hub's own sessions do, it
 * owns a SessionChannels and is the SubscriptionOwner its publications go to.
 */
export class ChatSession {
  readonly clientId = randomUUID();
  clientInfo: ClientInfo | undefined;
  private readonly channels: SessionChannels;
  private room: string | undefined;
  private nick: string | undefined;
  private windowStart = Date.now();
  private count = 0;
  private errors = 0;
  /** Joins run one after another (each awaits the engine). */
  private joining: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly ip: string,
    private readonly options: ChatSessionOptions,
  ) {
    this.channels = new SessionChannels(options.hub, this);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.release());
    ws.on('error', () => {}); // the close that follows cleans up
  }

  /** Keep this connection's presence entry alive (the engine expires entries not refreshed). */
  refreshPresence(): void {
    this.channels.refreshPresence();
  }

  // ------------------------------------------------------------ SubscriptionOwner

  deliver(channel: string, pub: Publication): boolean {
    const message = toChatMessage(channel.slice('room:'.length), pub);
    return message ? this.write(message) : true;
  }

  writable(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return this.ws.drained();
  }

  /** The room's stream cannot continue in order here: reconnect, and the rejoin says what was lost. */
  lostSync(_subscription: Subscription, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(CloseCode.TryAgainLater, `rejoin: ${reason}`);
  }

  joinLeave(kind: 'join' | 'leave', _channel: string, info: ClientInfo): void {
    if (info.client === this.clientId) return; // one's own join is the welcome
    this.write({ type: 'presence', event: kind, nick: info.user });
  }

  write(payload: object | string): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return true;
    return this.ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  // ------------------------------------------------------------ the chat protocol

  private receive(data: string | Buffer, isBinary: boolean): void {
    const now = Date.now();
    if (now - this.windowStart > RATE_WINDOW_MS) {
      this.windowStart = now;
      this.count = 0;
    }
    if (++this.count > this.options.rateLimit) {
      return this.ws.close(CloseCode.PolicyViolation, 'flooding: too many messages');
    }
    if (data.length > MAX_CHAT_FRAME) {
      return this.ws.close(CloseCode.PolicyViolation, `message larger than ${MAX_CHAT_FRAME} bytes`);
    }
    if (isBinary) return this.reject('binary-not-supported', 'send JSON text messages');
    const parsed = parseClientMessage(data as string);
    if (!parsed.ok) return this.reject(parsed.code, parsed.message);
    const message = parsed.message;
    if (message.type === 'join') {
      const { room, nick, since, token } = message;
      this.joining = this.joining
        .then(() => this.join(room, nick, since, token))
        .catch((error) => this.failed(error));
      return;
    }
    // After a join still in progress (it awaits the engine), as the client sent them: a
    // script may send join and message back to back. The rate limit bounds this queue.
    const { text, key } = message;
    this.joining = this.joining.then(() => this.say(text, key)).catch((error) => this.failed(error));
  }

  private async say(text: string, key: string | undefined): Promise<void> {
    if (this.closed) return;
    if (!this.room || !this.nick) return this.reject('not-joined', 'join a room first');
    const nick = this.nick;
    // Scoped by nickname: a page retrying after a reconnect keeps its name and key.
    const scoped = key === undefined ? undefined : `chat:${nick.length}:${nick}:${key}`;
    const body = key === undefined ? { nick, text } : { nick, text, key };
    // Not awaited: publishes are ordered by the engine; the next message need not wait for this ack.
    publish(this.options.hub, undefined, channelOf(this.room), body, scoped).catch((error) =>
      this.failed(error),
    );
  }

  private async join(room: string, nick: string, since?: Position, token?: string): Promise<void> {
    if (this.closed || (this.room === room && this.nick === nick)) return;
    this.leave();
    const { rooms, hub } = this.options;
    const refusal = rooms.refusal(room, this.ip);
    if (refusal) return this.reject('room-limit', refusal);
    let local = rooms.holder(room, nick);
    let replaced: string | undefined;
    if (local && token !== undefined && local.token === token && local.nick === nick) {
      // The same tab reconnecting before this server noticed its old connection died.
      replaced = local.member.clientId;
      local.member.replace();
      local = rooms.holder(room, nick);
    }
    if (local) return this.nickTaken(room, nick, local.nick);
    // Reserved here before any await, so a second join of the name on this server is refused.
    rooms.enter(room, this, nick, this.ip, token);
    const channel = channelOf(room);
    try {
      const members = await hub.engine.presence(channel);
      if (this.closed) return; // the finally below lets go of what this join took
      const remote = lookalikeIn(
        members.filter((m) => m.client !== replaced).map((m) => ({ nick: m.user })),
        nick,
      );
      if (remote !== undefined) {
        rooms.exit(room, this, this.ip);
        return this.nickTaken(room, nick, remote);
      }
      this.clientInfo = { user: nick, client: this.clientId, info: { nick } };
      // With `since`, the messages after it are delivered (deliver above) before the welcome.
      const { result, subscription } = await this.channels.subscribe(channel, since);
      const recovered = since === undefined ? undefined : result.recovered !== false;
      const history = recovered ? [] : await this.latest(room, result);
      const users = [...new Set((await hub.engine.presence(channel)).map((m) => m.user))];
      if (this.closed) return;
      this.room = room;
      this.nick = nick;
      this.write({
        type: 'welcome',
        room,
        nick,
        users: users.sort((a, b) => a.localeCompare(b)),
        history,
        epoch: result.epoch,
        offset: result.offset,
        ...(recovered === undefined ? {} : { recovered }),
      });
      subscription.activate();
    } catch (error) {
      if (this.room !== room) {
        this.channels.releaseAll();
        rooms.exit(room, this, this.ip);
      }
      throw error;
    } finally {
      // Closed while joining: release() found no room yet, so the slot, nickname and
      // subscription this join took would be held forever (a room-slot squatting leak).
      if (this.closed) {
        this.channels.releaseAll();
        rooms.exit(room, this, this.ip);
      }
    }
  }

  /** The newest HISTORY_SIZE messages up to the subscription's start (later ones arrive live). */
  private async latest(room: string, top: Position): Promise<ChatMessage[]> {
    const page = await this.options.hub.engine.history({
      channel: channelOf(room),
      limit: HISTORY_SIZE,
      reverse: true,
    });
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
    if (room === undefined) return;
    this.room = undefined;
    this.nick = undefined;
    this.channels.releaseAll(); // removes presence, publishes the leave
    this.options.rooms.exit(room, this, this.ip);
  }

  /** A newer connection of the same tab took this one's place: tell it (4001: do not reconnect), let go. */
  replace(): void {
    if (this.ws.readyState === this.ws.OPEN)
      this.ws.close(4001, 'replaced by a newer connection of this tab');
    this.release();
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.leave();
    this.channels.releaseAll();
  }

  private nickTaken(room: string, nick: string, holder: string): void {
    const why = holder === nick ? '' : ` (too like "${holder}")`;
    this.reject('nick-taken', `"${nick}" is already in ${room}${why}`);
  }

  /** Engine trouble answers `unavailable` (the page retries); anything else is a bug, also answered. */
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

/** A publication of a room as the chat protocol's message (undefined if it is not one). */
export function toChatMessage(room: string, pub: Publication): ChatMessage | undefined {
  const data = pub.data as { nick?: unknown; text?: unknown; key?: unknown } | null;
  if (!data || typeof data.nick !== 'string' || typeof data.text !== 'string') return undefined;
  const message: ChatMessage = {
    type: 'message',
    id: pub.offset,
    room,
    nick: data.nick,
    text: data.text,
    ts: pub.ts,
    epoch: pub.epoch,
    offset: pub.offset,
  };
  if (typeof data.key === 'string') message.key = data.key;
  return message;
}
