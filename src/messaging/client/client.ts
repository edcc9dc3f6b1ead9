import {
  CloseCodes,
  type ConnectParams,
  type ConnectResult,
  ErrorCodes,
  type HistoryResult,
  PONG_FRAME,
  type PresenceResult,
  type PresenceStatsResult,
  type PublishResult,
  type RpcResult,
  type StreamPosition,
  SUBPROTOCOL,
  shouldReconnect,
  shouldResubscribe,
} from '../protocol.js';
import { Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { NotSentError, ReplyError, TimeoutError } from './errors.js';
import { Liveness, MAX_TIMER_DELAY } from './liveness.js';
import { type ResolvedOptions, randomKeyPrefix, resolveOptions } from './options.js';
import { Outbox, type RequestOptions, type Send } from './outbox.js';
import { parseServerFrame } from './server-frame.js';
import { Subscription, type SubscriptionHost } from './subscription.js';
import type {
  ClientEvents,
  ClientState,
  HistoryOptions,
  MessagingClientOptions,
  PublishOptions,
  WebSocketLike,
} from './types.js';

const FORWARDED = ['publication', 'join', 'leave', 'subscribed', 'unsubscribed'] as const;

/**
 * A client of the socketeer messaging protocol (docs/protocol.md) for Node and
 * browsers alike: it only needs a WebSocket class. It keeps one connection up
 * (reconnecting with full-jitter backoff unless the server says not to),
 * resubscribes every channel from its last position in the `connect` command
 * itself, and keeps publishes made while offline until it is back.
 */
export class MessagingClient extends Emitter<ClientEvents> implements SubscriptionHost {
  readonly url: string;
  readonly #given: MessagingClientOptions;
  readonly #options: ResolvedOptions;
  readonly #outbox: Outbox;
  readonly #backoff: Backoff;
  readonly #subs = new Map<string, Subscription>();
  /** Subscriptions with a subscribe (or the connect batch) in flight on this connection. */
  readonly #pendingSubscribe = new Set<Subscription>();
  readonly #keyPrefix: string;
  #keyCount = 0;
  #token: string | undefined;
  #state: ClientState = 'disconnected';
  /** Stopped by close() or by the server: commands are refused until connect(). */
  #stopped = false;
  /** Bumped whenever a socket is abandoned: handlers and replies of older attempts are ignored. */
  #attempt = 0;
  #ws: WebSocketLike | undefined;
  #send: Send | undefined;
  #advice: { code: number; reason: string; reconnect: boolean } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Consecutive temporary subscribe failures per subscription, for the retry delay. */
  readonly #subscribeRetries = new Map<Subscription, number>();
  #readyWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  #session = { client: '', user: '' };
  readonly #liveness = new Liveness((silent) => this.#drop(`nothing heard from the server for ${silent} ms`));

  constructor(url: string | URL, options: MessagingClientOptions = {}) {
    super();
    this.url = String(url);
    this.#given = options;
    this.#options = resolveOptions(options);
    this.#token = options.token;
    this.#outbox = new Outbox(this.#options.maxQueued, this.#options.random);
    this.#backoff = new Backoff({
      minDelay: this.#options.minReconnectDelay,
      maxDelay: this.#options.maxReconnectDelay,
      random: this.#options.random,
    });
    this.#keyPrefix = randomKeyPrefix(this.#options.random, options.random !== undefined);
  }

  get state(): ClientState {
    return this.#state;
  }

  /** This connection's client id and user id (from the last `connect` reply). */
  get session(): { client: string; user: string } {
    return { ...this.#session };
  }

  /** Starts connecting (and reconnecting) until close() or a server's "do not reconnect". */
  connect(): void {
    if (this.#state !== 'disconnected') return;
    this.#stopped = false;
    this.#backoff.reset();
    this.#setState('connecting');
    this.emit('connecting', { code: 0, reason: 'connect() called' });
    void this.#open();
  }

  /** Resolves when connected; rejects if the client stops first. */
  ready(): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#state === 'disconnected')
      return Promise.reject(new NotSentError('not connecting: call connect()'));
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Closes the connection (1000) for good: pending and queued commands are rejected with NotSentError. */
  close(): void {
    this.#stop(1000, 'closed by the application');
  }

  /** A subscription to `channel`, live across reconnects; `since` recovers from a position saved earlier. */
  subscribe(channel: string, options: { since?: StreamPosition } = {}): Subscription {
    if (typeof channel !== 'string' || channel === '')
      throw new TypeError('channel must be a non-empty string');
    if (this.#subs.has(channel)) {
      throw new Error(`already subscribed to "${channel}": use client.getSubscription("${channel}")`);
    }
    const sub = new Subscription(this, channel, options.since);
    for (const name of FORWARDED) sub.on(name, (event) => this.emit(name, event as never));
    sub.on('error', (event) => this.emit('error', event));
    this.requestSubscribe(sub);
    return sub;
  }

  getSubscription(channel: string): Subscription | undefined {
    return this.#subs.get(channel);
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
  async refresh(token?: string): Promise<void> {
    const fresh = token ?? (await this.#given.getToken?.());
    if (typeof fresh !== 'string') throw new TypeError('refresh() needs a token (or options.getToken)');
    this.#token = fresh;
    if (!this.#send) return; // the next connect carries it
    const result = await this.#outbox.direct<{ expiresIn?: number } | undefined>(
      this.#send,
      'refresh',
      { token: fresh },
      'refresh',
      this.#options.timeout,
    );
    this.#scheduleRefresh(result?.expiresIn);
  }

  #request<R>(
    cmd: 'publish' | 'history' | 'presence' | 'presence_stats' | 'rpc',
    params: unknown,
    timeout: number | undefined,
    repeatable: boolean,
    label: string,
  ): Promise<R> {
    if (this.#stopped) return Promise.reject(new NotSentError(`${label} not sent: the client is stopped`));
    const options: RequestOptions = { timeout: timeout ?? this.#options.timeout, repeatable, label };
    return this.#outbox.request<R>(cmd, params, options);
  }

  // ------------------------------------------------ SubscriptionHost

  /** @internal */
  requestSubscribe(sub: Subscription): void {
    const current = this.#subs.get(sub.channel);
    if (current && current !== sub) throw new Error(`another subscription to "${sub.channel}" is active`);
    this.#subs.set(sub.channel, sub);
    if (this.#state === 'connected') this.#sendSubscribe(sub, 'subscribe');
    else sub._begin('waiting for the connection');
  }

  /** @internal */
  requestResubscribe(sub: Subscription): void {
    if (!this.#send || this.#subs.get(sub.channel) !== sub) return; // the next connect resubscribes it
    this.#fireAndForget('unsubscribe', sub.channel);
    this.#sendSubscribe(sub, 'recovering');
  }

  /** @internal */
  requestUnsubscribe(sub: Subscription): void {
    if (this.#subs.get(sub.channel) !== sub) return;
    this.#subs.delete(sub.channel);
    this.#pendingSubscribe.delete(sub);
    this.#subscribeRetries.delete(sub);
    if (this.#send) this.#fireAndForget('unsubscribe', sub.channel);
  }

  #fireAndForget(cmd: 'unsubscribe', channel: string): void {
    const label = `${cmd} "${channel}"`;
    this.#outbox.direct(this.#send!, cmd, { channel }, label, this.#options.timeout).catch(() => {});
  }

  #sendSubscribe(sub: Subscription, reason: string): void {
    const params = { channel: sub.channel, ...sub._begin(reason) };
    const attempt = this.#attempt;
    const generation = sub._generation;
    this.#pendingSubscribe.add(sub);
    const label = `subscribe to "${sub.channel}"`;
    this.#outbox.direct(this.#send!, 'subscribe', params, label, this.#options.timeout).then(
      (result) => {
        if (attempt !== this.#attempt || sub._generation !== generation) return;
        this.#pendingSubscribe.delete(sub);
        this.#subscribeRetries.delete(sub);
        if (this.#subs.get(sub.channel) === sub) sub._subscribed(result as never);
      },
      (error: Error) => {
        if (attempt !== this.#attempt || sub._generation !== generation) return;
        this.#pendingSubscribe.delete(sub);
        if (this.#subs.get(sub.channel) === sub) this.#subscribeFailed(sub, error);
      },
    );
  }

  #subscribeFailed(sub: Subscription, error: Error): void {
    if (error instanceof TimeoutError) return this.#drop(`subscribe to "${sub.channel}" timed out`);
    if (!(error instanceof ReplyError)) return; // connection lost: the next connect resubscribes
    if (error.temporary || error.code === ErrorCodes.alreadySubscribed) {
      this.emit('error', { error, channel: sub.channel });
      const attempt = this.#attempt;
      const retries = this.#subscribeRetries.get(sub) ?? 0;
      this.#subscribeRetries.set(sub, retries + 1);
      setTimeout(
        () => {
          if (attempt === this.#attempt && this.#subs.get(sub.channel) === sub) this.requestResubscribe(sub);
        },
        this.#backoff.delay(retries + 1),
      );
      return;
    }
    this.#subscribeRetries.delete(sub);
    this.#subs.delete(sub.channel);
    sub._end(0, error.message, error);
  }

  // ------------------------------------------------ the connection

  async #open(): Promise<void> {
    const attempt = ++this.#attempt;
    this.#timer = setTimeout(() => this.#drop('connect timed out'), this.#options.connectTimeout);
    if (this.#given.getToken) {
      try {
        this.#token = await this.#given.getToken();
      } catch (error) {
        if (attempt !== this.#attempt) return;
        this.emit('error', { error: new Error(`getToken failed: ${(error as Error)?.message ?? error}`) });
        return this.#drop('getToken failed');
      }
      if (attempt !== this.#attempt) return;
    }
    let ws: WebSocketLike;
    try {
      ws = new this.#options.WebSocket(this.url, SUBPROTOCOL);
    } catch (error) {
      // A malformed URL never gets better by retrying.
      this.emit('error', { error: error as Error });
      return this.#stop(1000, `cannot open ${this.url}: ${(error as Error).message}`);
    }
    this.#ws = ws;
    ws.onopen = () => attempt === this.#attempt && this.#opened(ws, attempt);
    ws.onmessage = (event: { data: unknown }) => attempt === this.#attempt && this.#frame(ws, event.data);
    ws.onclose = (event: { code: number; reason: string }) =>
      attempt === this.#attempt && this.#lost(event.code, event.reason || `closed with ${event.code}`);
    ws.onerror = () => {}; // a close event follows with the code
  }

  #opened(ws: WebSocketLike, attempt: number): void {
    if (ws.protocol !== SUBPROTOCOL) {
      this.emit('error', {
        error: new Error(`the server did not select ${SUBPROTOCOL} (got "${ws.protocol}")`),
      });
      return this.#drop('wrong subprotocol');
    }
    const send: Send = (frame) => ws.send(frame);
    const subs: NonNullable<ConnectParams['subs']> = {};
    for (const sub of this.#subs.values()) {
      subs[sub.channel] = sub._begin('connecting');
      this.#pendingSubscribe.add(sub);
    }
    const params: ConnectParams = { name: this.#given.name ?? 'socketeer-js', subs };
    if (this.#token !== undefined) params.token = this.#token;
    if (this.#given.data !== undefined) params.data = this.#given.data;
    const timeout = this.#options.connectTimeout;
    this.#outbox.direct<ConnectResult>(send, 'connect', params, 'connect', timeout).then(
      (result) => attempt === this.#attempt && this.#connected(send, result, attempt),
      (error: Error) => attempt === this.#attempt && this.#connectFailed(error),
    );
  }

  /** Listeners run inside; each `attempt` check stops here if one of them closed the client. */
  #connected(send: Send, result: ConnectResult, attempt: number): void {
    clearTimeout(this.#timer);
    this.#backoff.reset();
    this.#send = send;
    this.#session = { client: result.client, user: result.user };
    this.#setState('connected');
    this.emit('connected', { client: result.client, user: result.user, data: result.data });
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
    const results = result.subs ?? {};
    for (const sub of [...this.#pendingSubscribe]) {
      if (attempt !== this.#attempt) return;
      const reply = results[sub.channel];
      if (reply === undefined || this.#subs.get(sub.channel) !== sub) continue;
      this.#pendingSubscribe.delete(sub);
      if ('error' in reply)
        this.#subscribeFailed(sub, new ReplyError(reply.error, `subscribe to "${sub.channel}"`));
      else sub._subscribed(reply);
    }
    if (attempt !== this.#attempt) return;
    // Subscriptions made after the connect command left (or left out of its reply) subscribe now.
    for (const sub of this.#subs.values()) {
      if (sub.state === 'subscribing' && !this.#pendingSubscribe.has(sub))
        this.#sendSubscribe(sub, 'subscribe');
    }
    this.#outbox.online(send);
    this.#scheduleRefresh(result.expiresIn);
    this.#liveness.start(result.pingInterval, this.#options.pingGrace);
  }

  #connectFailed(error: Error): void {
    if (!(error instanceof ReplyError))
      return error instanceof TimeoutError ? this.#drop('connect timed out') : undefined;
    this.emit('error', { error });
    const renewable = error.code === ErrorCodes.tokenExpired && this.#given.getToken !== undefined;
    if (error.temporary || renewable) return this.#drop(error.message);
    const code =
      error.code === ErrorCodes.unauthorized || error.code === ErrorCodes.tokenExpired
        ? CloseCodes.unauthorized
        : CloseCodes.badRequest;
    this.#stop(code, error.message);
  }

  #frame(ws: WebSocketLike, data: unknown): void {
    this.#liveness.heard();
    const frame = parseServerFrame(data);
    if (frame.kind === 'invalid') return this.emit('error', { error: new Error(frame.problem) });
    if (frame.kind === 'unknown') return;
    if (frame.kind === 'reply') {
      if (frame.id === 0 && frame.error) {
        // The server could not read one of our frames (docs/protocol.md: id 0): a client bug worth reporting.
        this.emit('error', { error: new ReplyError(frame.error, 'a command the server could not read') });
      } else this.#outbox.reply(frame.id, frame.result, frame.error);
      return;
    }
    const push = frame.push;
    if (push.push === 'ping') {
      ws.send(PONG_FRAME);
    } else if (push.push === 'disconnect') {
      this.#advice = { code: push.code, reason: push.reason, reconnect: push.reconnect };
    } else if (push.push === 'message') {
      this.emit('message', { data: push.data });
    } else {
      const sub = this.#subs.get(push.channel);
      if (!sub) return;
      if (push.push === 'pub') sub._publication(push.pub);
      else if (push.push === 'unsubscribed') this.#serverUnsubscribed(sub, push.code, push.reason);
      else sub._presence(push.push, push.info);
    }
  }

  #serverUnsubscribed(sub: Subscription, code: number, reason: string): void {
    this.#pendingSubscribe.delete(sub);
    if (shouldResubscribe(code)) {
      // 2500-2999: the server could not keep the stream in order; subscribe again from our position.
      sub._interrupted(`${reason || 'unsubscribed by the server'} (${code})`);
      if (this.#send) this.#sendSubscribe(sub, 'recovering');
      return;
    }
    this.#subs.delete(sub.channel);
    sub._end(code, reason);
  }

  /** We give up on this socket ourselves (timeout, bad subprotocol): close it and reconnect. */
  #drop(reason: string): void {
    this.#lost(0, reason);
  }

  /** The connection is gone: reconnect after a jittered delay unless the server said not to. */
  #lost(code: number, reason: string): void {
    const advice = this.#advice;
    this.#abandonSocket(reason);
    if (advice ? !advice.reconnect : !shouldReconnect(code)) {
      return this.#stop(advice?.code ?? code, advice?.reason ?? reason);
    }
    this.#setState('connecting');
    this.emit('connecting', { code: advice?.code ?? code, reason: advice?.reason ?? reason });
    this.#timer = setTimeout(() => void this.#open(), this.#backoff.next());
  }

  #stop(code: number, reason: string): void {
    this.#abandonSocket(reason);
    this.#stopped = true;
    this.#outbox.failAll(reason);
    for (const sub of this.#subs.values()) sub._stopped(reason);
    for (const waiter of this.#readyWaiters.splice(0))
      waiter.reject(new NotSentError(`not connected: ${reason}`));
    if (this.#state === 'disconnected') return;
    this.#setState('disconnected');
    this.emit('disconnected', { code, reason });
  }

  #abandonSocket(reason: string): void {
    this.#attempt++;
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    this.#liveness.stop();
    const ws = this.#ws;
    this.#ws = undefined;
    this.#send = undefined;
    this.#advice = undefined;
    this.#pendingSubscribe.clear();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, reason.slice(0, 30)); // <= 123 UTF-8 bytes whatever the characters
      } catch {}
    }
    this.#outbox.offline(reason);
    for (const sub of this.#subs.values()) sub._suspend('connection lost');
  }

  #scheduleRefresh(expiresIn: number | undefined): void {
    clearTimeout(this.#refreshTimer);
    if (!this.#given.getToken || typeof expiresIn !== 'number') return;
    // Refresh ahead of expiry by a tenth of the lifetime (at most 10 s), so a slow getToken still makes it.
    // A lifetime beyond the timer maximum would fire at once (and again after each refresh): refresh early instead.
    const delay = Math.min(Math.max(0, expiresIn - Math.min(expiresIn / 10, 10_000)), MAX_TIMER_DELAY);
    this.#refreshTimer = setTimeout(() => {
      this.refresh().catch((error: Error) => this.emit('error', { error }));
    }, delay);
  }

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit('state', { state, previous });
  }
}
