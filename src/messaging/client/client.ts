import type {
  HistoryResult,
  PresenceResult,
  PresenceStatsResult,
  PublishResult,
  RpcResult,
  StreamPosition,
} from '../protocol.js';
import { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { NotSentError } from './errors.js';
import { checkMilliseconds, randomKeyPrefix, resolveOptions } from './options.js';
import type { RequestOptions } from './outbox.js';
import { Subscription, type SubscriptionHost } from './subscription.js';
import type {
  ClientEvents,
  ClientState,
  HistoryOptions,
  MessagingClientOptions,
  PublishOptions,
} from './types.js';

const FORWARDED = ['publication', 'join', 'leave', 'subscribed', 'unsubscribed'] as const;

/**
 * A client of the socketeer messaging protocol (docs/protocol.md) for Node and
 * browsers alike: it only needs a WebSocket class. It keeps one connection up
 * (reconnecting with full-jitter backoff unless the server says not to),
 * resubscribes every channel from its last position in the `connect` command
 * itself, and keeps publishes made while offline until it is back.
 * Its parts: connection.ts (the connection state machine), subscriptions.ts
 * (subscribe bookkeeping), outbox.ts (commands and their replies).
 */
export class MessagingClient extends Emitter<ClientEvents> implements SubscriptionHost {
  readonly url: string;
  readonly #connection: Connection;
  readonly #keyPrefix: string;
  #keyCount = 0;

  constructor(url: string | URL, options: MessagingClientOptions = {}) {
    super();
    this.url = String(url);
    const resolved = resolveOptions(options);
    this.#connection = new Connection(this.url, options, resolved, (event, value) => this.emit(event, value));
    this.#keyPrefix = randomKeyPrefix(resolved.random, options.random !== undefined);
  }

  get state(): ClientState {
    return this.#connection.state;
  }

  /** This connection's client id and user id (from the last `connect` reply). */
  get session(): { client: string; user: string } {
    return this.#connection.session;
  }

  /** Starts connecting (and reconnecting) until close() or a server's "do not reconnect". */
  connect(): void {
    this.#connection.connect();
  }

  /** Resolves when connected; rejects if the client stops first. */
  ready(): Promise<void> {
    return this.#connection.ready();
  }

  /** Closes the connection (1000) for good: pending and queued commands are rejected with NotSentError. */
  close(): void {
    this.#connection.stop(1000, 'closed by the application');
  }

  /** A subscription to `channel`, live across reconnects; `since` recovers from a position saved earlier. */
  subscribe(channel: string, options: { since?: StreamPosition } = {}): Subscription {
    if (typeof channel !== 'string' || channel === '')
      throw new TypeError('channel must be a non-empty string');
    if (this.#connection.subs.get(channel)) {
      throw new Error(`already subscribed to "${channel}": use client.getSubscription("${channel}")`);
    }
    const sub = new Subscription(this, channel, options.since);
    for (const name of FORWARDED) sub.on(name, (event) => this.emit(name, event as never));
    sub.on('error', (event) => this.emit('error', event));
    this.requestSubscribe(sub);
    return sub;
  }

  getSubscription(channel: string): Subscription | undefined {
    return this.#connection.subs.get(channel);
  }

  /** Publishes; resolves with the publication's position once the server stored it. */
  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    const key = options.key ?? `${this.#keyPrefix}.${++this.#keyCount}`;
    return this.#request('publish', { channel, data, key }, options.timeout, true, `publish to "${channel}"`);
  }

  history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    const { since, limit, reverse } = options;
    const params = { channel, since, limit, reverse };
    return this.#request('history', params, options.timeout, true, `history of "${channel}"`);
  }

  presence(channel: string, timeout?: number): Promise<PresenceResult> {
    return this.#request('presence', { channel }, timeout, true, `presence of "${channel}"`);
  }

  presenceStats(channel: string, timeout?: number): Promise<PresenceStatsResult> {
    return this.#request('presence_stats', { channel }, timeout, true, `presence stats of "${channel}"`);
  }

  /** Calls a server RPC handler. Not repeated after a reconnect: it may not be safe to run twice. */
  async rpc<R = unknown>(method: string, data?: unknown, timeout?: number): Promise<R> {
    const result = await this.#request<RpcResult>('rpc', { method, data }, timeout, false, `rpc "${method}"`);
    return result?.data as R;
  }

  /** Sends a fresh token (from `token` or options.getToken); the next connects use it too. */
  refresh(token?: string): Promise<void> {
    return this.#connection.refresh(token);
  }

  #request<R>(
    cmd: 'publish' | 'history' | 'presence' | 'presence_stats' | 'rpc',
    params: unknown,
    timeout: number | undefined,
    repeatable: boolean,
    label: string,
  ): Promise<R> {
    if (this.#connection.stopped)
      return Promise.reject(new NotSentError(`${label} not sent: the client is stopped`));
    try {
      checkMilliseconds(`the timeout of ${label}`, timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    const options: RequestOptions = { timeout: timeout ?? this.#connection.timeout, repeatable, label };
    return this.#connection.outbox.request<R>(cmd, params, options);
  }

  // ------------------------------------------------ SubscriptionHost

  /** @internal */
  requestSubscribe(sub: Subscription): void {
    this.#connection.subs.add(sub);
  }

  /** @internal */
  requestResubscribe(sub: Subscription): void {
    this.#connection.subs.resubscribe(sub);
  }

  /** @internal */
  requestUnsubscribe(sub: Subscription): void {
    this.#connection.subs.remove(sub);
  }
}
