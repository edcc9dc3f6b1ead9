import type {
  ClientInfo,
  HistoryResult,
  PresenceResult,
  PresenceStatsResult,
  Publication,
  PublishResult,
  StreamPosition,
  SubscribeResult,
} from '../protocol.js';
import { Emitter } from './emitter.js';
import { NotSentError } from './errors.js';
import { PositionTracker } from './position.js';
import type { HistoryOptions, PublishOptions, SubscriptionEvents, SubscriptionState } from './types.js';

/** What a Subscription needs from its client (implemented by MessagingClient; no import cycle). */
export interface SubscriptionHost {
  /** Sends subscribe (now, or in the next connect) for this subscription. */
  requestSubscribe(sub: Subscription): void;
  /** Sends unsubscribe then subscribe from the current position: recovery of a live gap. */
  requestResubscribe(sub: Subscription): void;
  requestUnsubscribe(sub: Subscription): void;
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  history(channel: string, options?: HistoryOptions): Promise<HistoryResult>;
  presence(channel: string, timeout?: number): Promise<PresenceResult>;
  presenceStats(channel: string, timeout?: number): Promise<PresenceStatsResult>;
}

/**
 * One channel's subscription. It survives reconnects: the client resubscribes
 * it with its position and the subscription delivers every publication once,
 * in offset order, never across a gap (see PositionTracker), and announces a
 * failed recovery as `subscribed` with `recovered: false`.
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly channel: string;
  readonly #host: SubscriptionHost;
  #state: SubscriptionState = 'unsubscribed';
  #tracker: PositionTracker;
  /** Publications pushed before the subscribe reply (recovered ones, or live ones at the seam). */
  #early: Publication[] = [];
  /** The position sent as `since` in the current subscribe attempt. */
  #since: StreamPosition | undefined;
  #waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  #generation = 0;

  /** @internal Use client.subscribe(). */
  constructor(host: SubscriptionHost, channel: string, since?: StreamPosition) {
    super();
    this.#host = host;
    this.channel = channel;
    this.#tracker = new PositionTracker(since);
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  /** The position of the last publication delivered (what a reconnect recovers from). */
  get position(): StreamPosition | undefined {
    return this.#tracker.position;
  }

  /** Resolves once subscribed; rejects if the subscription ends first (refused, unsubscribed, client stopped). */
  ready(): Promise<void> {
    if (this.#state === 'subscribed') return Promise.resolve();
    if (this.#state === 'unsubscribed') {
      return Promise.reject(new NotSentError(`"${this.channel}" is not subscribed`));
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Subscribes again after unsubscribe() or a server-side unsubscribe, from the last position. */
  subscribe(): void {
    if (this.#state !== 'unsubscribed') return;
    this.#host.requestSubscribe(this);
  }

  unsubscribe(): void {
    if (this.#state === 'unsubscribed') return;
    this.#host.requestUnsubscribe(this);
    this._end(0, 'unsubscribed by the application');
  }

  publish(data: unknown, options?: PublishOptions): Promise<PublishResult> {
    return this.#host.publish(this.channel, data, options);
  }

  history(options?: HistoryOptions): Promise<HistoryResult> {
    return this.#host.history(this.channel, options);
  }

  presence(timeout?: number): Promise<PresenceResult> {
    return this.#host.presence(this.channel, timeout);
  }

  presenceStats(timeout?: number): Promise<PresenceStatsResult> {
    return this.#host.presenceStats(this.channel, timeout);
  }

  // ------------------------------------------------ driven by the client

  /** @internal Counts subscribe attempts, so that the client can ignore the reply to an abandoned one. */
  get _generation(): number {
    return this.#generation;
  }

  /** @internal A subscribe is about to be sent: returns its params. */
  _begin(reason: string): { since?: StreamPosition } {
    this.#generation++;
    this.#since = this.#tracker.position;
    this.#early = [];
    if (this.#state !== 'subscribing') {
      this.#state = 'subscribing';
      this.emit('subscribing', { channel: this.channel, reason });
    }
    return this.#since ? { since: this.#since } : {};
  }

  /** @internal The subscribe (or connect) reply for this channel. */
  _subscribed(result: SubscribeResult): void {
    const since = this.#since;
    // Without a usable start (fresh subscription, or recovery failed) the stream starts at the reply's position.
    if (!since || result.recovered !== true || result.epoch !== since.epoch) this.#tracker.reset(result);
    this.#state = 'subscribed';
    const event = { channel: this.channel, epoch: result.epoch, offset: result.offset };
    this.emit(
      'subscribed',
      since ? { ...event, since, recovered: result.recovered === true } : (event as typeof event),
    );
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    const early = this.#early.sort((a, b) => a.offset - b.offset);
    this.#early = [];
    for (const pub of early) this._publication(pub);
    // A recovery that delivered less than the reply's position left a gap: recover again.
    const position = this.#tracker.position;
    if (this.#state === 'subscribed' && position && position.offset < result.offset) this.#recover('short');
  }

  /** @internal A publication pushed for this channel. */
  _publication(pub: Publication): void {
    if (this.#state === 'subscribing') {
      this.#early.push(pub);
      return;
    }
    if (this.#state !== 'subscribed') return;
    const verdict = this.#tracker.accept(pub);
    if (verdict === 'deliver') this.emit('publication', { channel: this.channel, ...pub });
    else if (verdict !== 'duplicate') this.#recover(verdict === 'gap' ? 'gap' : 'epoch');
  }

  /** @internal */
  _presence(kind: 'join' | 'leave', info: ClientInfo): void {
    if (this.#state === 'subscribed') this.emit(kind, { channel: this.channel, info });
  }

  /** @internal The connection dropped: the client will resubscribe from the position. */
  _suspend(reason: string): void {
    if (this.#state !== 'subscribed') return;
    this.#state = 'subscribing';
    this.emit('subscribing', { channel: this.channel, reason });
  }

  /** @internal Ends the subscription (server unsubscribe, refusal, or the application). */
  _end(code: number, reason: string, error?: Error): void {
    if (this.#state === 'unsubscribed') return;
    this.#state = 'unsubscribed';
    this.#early = [];
    if (error) this.emit('error', { channel: this.channel, error });
    this.emit('unsubscribed', { channel: this.channel, code, reason });
    this.#rejectWaiters(error ?? new NotSentError(`"${this.channel}": ${reason}`));
  }

  /** @internal The client stopped for good: pending ready() calls fail, the subscription stays for connect(). */
  _stopped(reason: string): void {
    this.#rejectWaiters(new NotSentError(`"${this.channel}" not subscribed: ${reason}`));
  }

  #rejectWaiters(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  /** @internal The server ended the subscription asking for a resubscribe (codes 2500-2999). */
  _interrupted(reason: string): void {
    if (this.#state === 'unsubscribed') return;
    this.#state = 'subscribing';
    this.emit('subscribing', { channel: this.channel, reason });
  }

  #recover(why: 'gap' | 'epoch' | 'short'): void {
    const at = this.#tracker.position?.offset ?? 0;
    this._interrupted(
      why === 'epoch'
        ? `epoch changed after offset ${at}`
        : `gap after offset ${at}${why === 'short' ? ' in recovery' : ''}`,
    );
    this.#host.requestResubscribe(this);
  }
}
