/**
 * In-process connections to the hub (hub.connectLocal): the same session
 * machinery as a WebSocket client — recovery before the reply, ordering,
 * presence, join/leave, idempotency, limits — for server code that bridges
 * another protocol onto channels (the chat's /chat endpoint) or tests.
 * Replies go through the protocol's JSON encoding, so a local connection sees
 * exactly what a remote client would; publications and join/leave (the bulk of
 * the traffic) are handed over as the shared objects themselves, frozen.
 */

import { HubError } from './context.js';
import { describe } from './options.js';
import type {
  Command,
  ErrorBody,
  HistoryParams,
  HistoryResult,
  PresenceResult,
  PresenceStatsResult,
  PublishResult,
  Push,
  StreamPosition,
  SubscribeResult,
} from './protocol.js';
import type { SessionSocket } from './session.js';

export interface LocalConnectionOptions {
  /** The user id (default '' = anonymous). The authenticate hook is not asked: the caller vouches. */
  user?: string;
  /** Public info shown in presence, join/leave and publications (e.g. {nick}). */
  info?: unknown;
  /**
   * Every push (pub, join, leave, unsubscribed, disconnect, message), in order.
   * A pub's publication and a join/leave's info are the objects every
   * subscriber and the history share (no JSON round trip): they are frozen.
   */
  onPush: (push: Push) => void;
  /** The connection ended (code, reason): 4001 slow consumer, 4000 shutdown, ... */
  onClose?: (code: number, reason: string) => void;
  /** Bytes still queued in the real outbound path (e.g. the bridged WebSocket): bounds it like a client's. */
  bufferedAmount?: () => number;
  /** Resolves when that path can take more (paged recovery waits for it). */
  drained?: () => Promise<void>;
}

type Pending = { resolve: (result: unknown) => void; reject: (error: Error) => void };

/** The transport side: what the session writes is decoded and routed to replies or pushes. */
class LocalSocket implements SessionSocket {
  readyState = 1;
  readonly clientAddress = undefined;
  readonly pending = new Map<number, Pending>();
  session:
    | { onMessage(data: string, isBinary: boolean): void; onClose(code: number, reason: string): void }
    | undefined;

  constructor(private readonly options: LocalConnectionOptions) {}

  get bufferedAmount(): number {
    return this.options.bufferedAmount?.() ?? 0;
  }

  drained(): Promise<void> {
    if (this.readyState !== 1) return Promise.reject(new Error('connection closed'));
    return this.options.drained?.() ?? Promise.resolve();
  }

  /** Publications and join/leave: the session hands over the (frozen, shared) object itself. */
  sendPush(push: Push): boolean {
    this.options.onPush(push);
    return true;
  }

  /** Replies and the rarer pushes arrive as JSON, exactly as a remote client would get them. */
  send(data: string | Buffer): boolean {
    const frame = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as
      | { id: number; result?: unknown; error?: ErrorBody }
      | Push;
    if ('id' in frame) {
      const waiter = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      if (frame.error)
        waiter?.reject(new HubError(frame.error.code, frame.error.message, frame.error.temporary));
      else waiter?.resolve(frame.result);
    } else {
      this.options.onPush(frame);
    }
    return true;
  }

  terminate(): void {
    this.close(1006, 'terminated');
  }

  close(code: number, reason: string): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    for (const waiter of this.pending.values())
      waiter.reject(new Error(`connection closed: ${code} ${reason}`));
    this.pending.clear();
    // Asynchronously, like a real close: the session finishes what it is doing first.
    queueMicrotask(() => {
      this.session?.onClose(code, reason);
      this.options.onClose?.(code, reason);
    });
  }
}

export class LocalConnection {
  private readonly socket: LocalSocket;
  private nextId = 1;
  /** This connection's client id (set once connected). */
  client = '';

  constructor(options: LocalConnectionOptions) {
    if (typeof options?.onPush !== 'function') {
      throw new TypeError(
        `connectLocal: option "onPush" must be a function; got ${describe(options?.onPush)}`,
      );
    }
    if (options.user !== undefined && typeof options.user !== 'string') {
      throw new TypeError(`connectLocal: option "user" must be a string; got ${describe(options.user)}`);
    }
    this.socket = new LocalSocket(options);
  }

  /** @internal the hub plugs the session in */
  get transport(): LocalSocket {
    return this.socket;
  }

  get open(): boolean {
    return this.socket.readyState === 1;
  }

  /** Send one protocol command; resolves with its result, rejects with a HubError carrying the code. */
  call(cmd: Command['cmd'], params: object = {}): Promise<unknown> {
    if (this.socket.readyState !== 1) return Promise.reject(new Error('connection closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.socket.pending.set(id, { resolve, reject });
      this.socket.session!.onMessage(JSON.stringify({ id, cmd, params }), false);
    });
  }

  /** With `since`: missed publications reach onPush before this resolves; check `recovered`. */
  subscribe(channel: string, since?: StreamPosition): Promise<SubscribeResult> {
    return this.call('subscribe', since ? { channel, since } : { channel }) as Promise<SubscribeResult>;
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.call('unsubscribe', { channel });
  }

  publish(channel: string, data: unknown, key?: string): Promise<PublishResult> {
    return this.call(
      'publish',
      key === undefined ? { channel, data } : { channel, data, key },
    ) as Promise<PublishResult>;
  }

  history(channel: string, options: Omit<HistoryParams, 'channel'> = {}): Promise<HistoryResult> {
    return this.call('history', { ...options, channel }) as Promise<HistoryResult>;
  }

  presence(channel: string): Promise<PresenceResult> {
    return this.call('presence', { channel }) as Promise<PresenceResult>;
  }

  presenceStats(channel: string): Promise<PresenceStatsResult> {
    return this.call('presence_stats', { channel }) as Promise<PresenceStatsResult>;
  }

  async rpc(method: string, data?: unknown): Promise<unknown> {
    const result = (await this.call('rpc', { method, data })) as { data?: unknown };
    return result.data;
  }

  /** Leave: subscriptions and presence are released (leave pushes go out). */
  close(code = 1000, reason = ''): void {
    this.socket.close(code, reason);
  }
}
