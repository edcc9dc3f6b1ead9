import {
  CloseCodes,
  type ConnectParams,
  type ConnectResult,
  ErrorCodes,
  PONG_FRAME,
  SUBPROTOCOL,
  shouldReconnect,
} from '../protocol.js';
import { Backoff } from './backoff.js';
import { NotSentError, ReplyError, TimeoutError } from './errors.js';
import { Liveness, MAX_TIMER_DELAY } from './liveness.js';
import type { ResolvedOptions } from './options.js';
import { Outbox, type Send } from './outbox.js';
import { parseServerFrame } from './server-frame.js';
import { type SubscriptionLink, Subscriptions } from './subscriptions.js';
import type { ClientEvents, ClientState, MessagingClientOptions, WebSocketLike } from './types.js';

/** Raises one of the client's events (Emitter.emit is protected: the client hands it over). */
export type EmitClientEvent = <K extends keyof ClientEvents>(event: K, value: ClientEvents[K]) => void;

/**
 * The client's connection state machine: one WebSocket at a time, the
 * `connect` handshake, reconnecting with full-jitter backoff unless the server
 * says not to, the heartbeat watch and the token refresh timer. It tells the
 * outbox and the subscriptions when the connection comes and goes.
 */
export class Connection implements SubscriptionLink {
  readonly outbox: Outbox;
  readonly backoff: Backoff;
  readonly subs: Subscriptions;
  /** ms until a command fails with TimeoutError (options.timeout). */
  readonly timeout: number;
  readonly #url: string;
  readonly #given: MessagingClientOptions;
  readonly #options: ResolvedOptions;
  readonly #emit: EmitClientEvent;
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
  #readyWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  #session = { client: '', user: '' };
  readonly #liveness = new Liveness((silent) => this.drop(`nothing heard from the server for ${silent} ms`));

  constructor(url: string, given: MessagingClientOptions, options: ResolvedOptions, emit: EmitClientEvent) {
    this.#url = url;
    this.#given = given;
    this.#options = options;
    this.#emit = emit;
    this.#token = given.token;
    this.timeout = options.timeout;
    this.outbox = new Outbox(options.maxQueued, options.random);
    this.backoff = new Backoff({
      minDelay: options.minReconnectDelay,
      maxDelay: options.maxReconnectDelay,
      random: options.random,
    });
    this.subs = new Subscriptions(this);
  }

  get state(): ClientState {
    return this.#state;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** This connection's client id and user id (from the last `connect` reply). */
  get session(): { client: string; user: string } {
    return { ...this.#session };
  }

  // ------------------------------------------------ SubscriptionLink

  send(): Send | undefined {
    return this.#send;
  }

  attempt(): number {
    return this.#attempt;
  }

  connected(): boolean {
    return this.#state === 'connected';
  }

  /** We give up on this socket ourselves (timeout, bad subprotocol): close it and reconnect. */
  drop(reason: string): void {
    this.#lost(0, reason);
  }

  reportError(error: Error, channel: string): void {
    this.#emit('error', { error, channel });
  }

  // ------------------------------------------------ driven by the client

  connect(): void {
    if (this.#state !== 'disconnected') return;
    this.#stopped = false;
    this.backoff.reset();
    this.#setState('connecting');
    this.#emit('connecting', { code: 0, reason: 'connect() called' });
    void this.#open();
  }

  ready(): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#state === 'disconnected')
      return Promise.reject(new NotSentError('not connecting: call connect()'));
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Sends a fresh token (from `token` or options.getToken); the next connects use it too. */
  async refresh(token?: string): Promise<void> {
    const fresh = token ?? (await this.#given.getToken?.());
    if (typeof fresh !== 'string') throw new TypeError('refresh() needs a token (or options.getToken)');
    this.#token = fresh;
    if (!this.#send) return; // the next connect carries it
    const result = await this.outbox.direct<{ expiresIn?: number } | undefined>(
      this.#send,
      'refresh',
      { token: fresh },
      'refresh',
      this.timeout,
    );
    this.#scheduleRefresh(result?.expiresIn);
  }

  /** Stops for good (close(), or the server said not to reconnect): everything pending fails. */
  stop(code: number, reason: string): void {
    this.#abandonSocket(reason);
    this.#stopped = true;
    this.outbox.failAll(reason);
    this.subs.stopped(reason);
    for (const waiter of this.#readyWaiters.splice(0))
      waiter.reject(new NotSentError(`not connected: ${reason}`));
    if (this.#state === 'disconnected') return;
    this.#setState('disconnected');
    this.#emit('disconnected', { code, reason });
  }

  // ------------------------------------------------ one connection attempt

  async #open(): Promise<void> {
    const attempt = ++this.#attempt;
    this.#timer = setTimeout(() => this.drop('connect timed out'), this.#options.connectTimeout);
    if (this.#given.getToken) {
      try {
        this.#token = await this.#given.getToken();
      } catch (error) {
        if (attempt !== this.#attempt) return;
        this.#emit('error', { error: new Error(`getToken failed: ${(error as Error)?.message ?? error}`) });
        return this.drop('getToken failed');
      }
      if (attempt !== this.#attempt) return;
    }
    let ws: WebSocketLike;
    try {
      ws = new this.#options.WebSocket(this.#url, SUBPROTOCOL);
    } catch (error) {
      // A malformed URL never gets better by retrying.
      this.#emit('error', { error: error as Error });
      // A password in the URL is masked: this text ends up in logs.
      const shown = this.#url.replace(/(\/\/[^/?#@:]*:)[^/?#@]*@/, '$1***@');
      return this.stop(1000, `cannot open ${shown}: ${(error as Error).message}`);
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
      this.#emit('error', {
        error: new Error(`the server did not select ${SUBPROTOCOL} (got "${ws.protocol}")`),
      });
      return this.drop('wrong subprotocol');
    }
    const send: Send = (frame) => ws.send(frame);
    const params: ConnectParams = {
      name: this.#given.name ?? 'socketeer-js',
      subs: this.subs.connectBatch(),
    };
    if (this.#token !== undefined) params.token = this.#token;
    if (this.#given.data !== undefined) params.data = this.#given.data;
    const timeout = this.#options.connectTimeout;
    this.outbox.direct<ConnectResult>(send, 'connect', params, 'connect', timeout).then(
      (result) => attempt === this.#attempt && this.#connected(send, result, attempt),
      (error: Error) => attempt === this.#attempt && this.#connectFailed(error),
    );
  }

  /** Listeners run inside; each `attempt` check stops here if one of them closed the client. */
  #connected(send: Send, result: ConnectResult, attempt: number): void {
    clearTimeout(this.#timer);
    this.backoff.reset();
    this.#send = send;
    this.#session = { client: result.client, user: result.user };
    this.#setState('connected');
    this.#emit('connected', { client: result.client, user: result.user, data: result.data });
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
    this.subs.connected(result.subs ?? {}, attempt);
    if (attempt !== this.#attempt) return;
    this.outbox.online(send);
    this.#scheduleRefresh(result.expiresIn);
    this.#liveness.start(result.pingInterval, this.#options.pingGrace);
  }

  #connectFailed(error: Error): void {
    if (!(error instanceof ReplyError))
      return error instanceof TimeoutError ? this.drop('connect timed out') : undefined;
    this.#emit('error', { error });
    const renewable = error.code === ErrorCodes.tokenExpired && this.#given.getToken !== undefined;
    if (error.temporary || renewable) return this.drop(error.message);
    const code =
      error.code === ErrorCodes.unauthorized || error.code === ErrorCodes.tokenExpired
        ? CloseCodes.unauthorized
        : CloseCodes.badRequest;
    this.stop(code, error.message);
  }

  #frame(ws: WebSocketLike, data: unknown): void {
    this.#liveness.heard();
    const frame = parseServerFrame(data);
    if (frame.kind === 'invalid') return this.#emit('error', { error: new Error(frame.problem) });
    if (frame.kind === 'unknown') return;
    if (frame.kind === 'reply') {
      if (frame.id === 0 && frame.error) {
        // The server could not read one of our frames (docs/protocol.md: id 0): a client bug worth reporting.
        this.#emit('error', { error: new ReplyError(frame.error, 'a command the server could not read') });
      } else this.outbox.reply(frame.id, frame.result, frame.error);
      return;
    }
    const push = frame.push;
    if (push.push === 'ping') {
      ws.send(PONG_FRAME);
    } else if (push.push === 'disconnect') {
      this.#advice = { code: push.code, reason: push.reason, reconnect: push.reconnect };
    } else if (push.push === 'message') {
      this.#emit('message', { data: push.data });
    } else this.subs.push(push);
  }

  /** The connection is gone: reconnect after a jittered delay unless the server said not to. */
  #lost(code: number, reason: string): void {
    const advice = this.#advice;
    this.#abandonSocket(reason);
    if (advice ? !advice.reconnect : !shouldReconnect(code)) {
      return this.stop(advice?.code ?? code, advice?.reason ?? reason);
    }
    this.#setState('connecting');
    this.#emit('connecting', { code: advice?.code ?? code, reason: advice?.reason ?? reason });
    this.#timer = setTimeout(() => void this.#open(), this.backoff.next());
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
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, reason.slice(0, 30)); // <= 123 UTF-8 bytes whatever the characters
      } catch {}
    }
    this.outbox.offline(reason);
    this.subs.suspend('connection lost');
  }

  #scheduleRefresh(expiresIn: number | undefined): void {
    clearTimeout(this.#refreshTimer);
    if (!this.#given.getToken || typeof expiresIn !== 'number') return;
    // Refresh ahead of expiry by a tenth of the lifetime (at most 10 s), so a slow getToken still makes it.
    // A lifetime beyond the timer maximum would fire at once (and again after each refresh): refresh early instead.
    const delay = Math.min(Math.max(0, expiresIn - Math.min(expiresIn / 10, 10_000)), MAX_TIMER_DELAY);
    this.#refreshTimer = setTimeout(() => {
      this.refresh().catch((error: Error) => this.#emit('error', { error }));
    }, delay);
  }

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#emit('state', { state, previous });
  }
}
