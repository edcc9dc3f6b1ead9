import {
  type ConnectParams,
  type ConnectResult,
  ErrorCodes,
  type Push,
  shouldResubscribe,
} from '../protocol.js';
import type { Backoff } from './backoff.js';
import { ReplyError, TimeoutError } from './errors.js';
import type { Outbox, Send } from './outbox.js';
import type { Subscription } from './subscription.js';

/** The pushes addressed to one channel's subscription. */
export type ChannelPush = Extract<Push, { channel: string }>;

/** What the subscriptions need from the client's connection (MessagingClient passes it in; no import cycle). */
export interface SubscriptionLink {
  readonly outbox: Outbox;
  readonly backoff: Backoff;
  /** ms until a subscribe or unsubscribe fails with TimeoutError. */
  readonly timeout: number;
  /** Sends on the current connection; undefined before its connect reply and once it is gone. */
  send(): Send | undefined;
  /** Bumped whenever a socket is abandoned: replies and timers of an older attempt are ignored. */
  attempt(): number;
  connected(): boolean;
  /** Gives up on this connection (closes it and reconnects). */
  drop(reason: string): void;
  /** A problem the client handles itself: the client's 'error' event. */
  reportError(error: Error, channel: string): void;
}

/**
 * The client's subscriptions, one per channel: which one has a subscribe (or
 * the connect batch) in flight on this connection, how often a temporary
 * refusal was retried. It sends subscribe and unsubscribe, and applies their
 * replies, the connect reply's batch and the server's `unsubscribed` pushes.
 */
export class Subscriptions {
  readonly #link: SubscriptionLink;
  readonly #byChannel = new Map<string, Subscription>();
  /** Subscriptions with a subscribe (or the connect batch) in flight on this connection. */
  readonly #pending = new Set<Subscription>();
  /** Consecutive temporary subscribe failures per subscription, for the retry delay. */
  readonly #retries = new Map<Subscription, number>();
  /** Retries waiting for their delay: cleared when the connection goes, so close() leaves no timer behind. */
  readonly #retryTimers = new Map<Subscription, ReturnType<typeof setTimeout>>();

  constructor(link: SubscriptionLink) {
    this.#link = link;
  }

  get(channel: string): Subscription | undefined {
    return this.#byChannel.get(channel);
  }

  /** Sends subscribe now when connected, else in the next connect. */
  add(sub: Subscription): void {
    const current = this.#byChannel.get(sub.channel);
    if (current && current !== sub) throw new Error(`another subscription to "${sub.channel}" is active`);
    this.#byChannel.set(sub.channel, sub);
    if (this.#link.connected()) this.#sendSubscribe(sub, 'subscribe');
    else sub._begin('waiting for the connection');
  }

  /** Unsubscribe then subscribe from the current position: recovery of a live gap. */
  resubscribe(sub: Subscription): void {
    if (!this.#link.send() || this.#byChannel.get(sub.channel) !== sub) return; // the next connect resubscribes it
    this.#unsubscribeOnServer(sub.channel);
    this.#sendSubscribe(sub, 'recovering');
  }

  remove(sub: Subscription): void {
    if (this.#byChannel.get(sub.channel) !== sub) return;
    this.#byChannel.delete(sub.channel);
    this.#pending.delete(sub);
    this.#retries.delete(sub);
    this.#cancelRetry(sub);
    if (this.#link.send()) this.#unsubscribeOnServer(sub.channel);
  }

  /** The `subs` of a connect command: every subscription resubscribes from its position in it. */
  connectBatch(): NonNullable<ConnectParams['subs']> {
    const subs: NonNullable<ConnectParams['subs']> = {};
    for (const sub of this.#byChannel.values()) {
      subs[sub.channel] = sub._begin('connecting');
      this.#pending.add(sub);
    }
    return subs;
  }

  /**
   * The connect reply's results for the batch. Subscription listeners run
   * inside; each attempt check stops here if one of them closed the client.
   */
  connected(results: NonNullable<ConnectResult['subs']>, attempt: number): void {
    for (const sub of [...this.#pending]) {
      if (attempt !== this.#link.attempt()) return;
      if (this.#byChannel.get(sub.channel) !== sub) continue;
      this.#pending.delete(sub);
      const reply = results[sub.channel];
      if (reply === undefined) continue; // left out of the reply: subscribes below
      if ('error' in reply) this.#failed(sub, new ReplyError(reply.error, `subscribe to "${sub.channel}"`));
      else sub._subscribed(reply);
    }
    if (attempt !== this.#link.attempt()) return;
    // Subscriptions made after the connect command left (or left out of its reply) subscribe now.
    for (const sub of this.#byChannel.values()) {
      if (sub.state === 'subscribing' && !this.#pending.has(sub)) this.#sendSubscribe(sub, 'subscribe');
    }
  }

  /** A push for one channel: ignored when this client has no subscription to it. */
  push(push: ChannelPush): void {
    const sub = this.#byChannel.get(push.channel);
    if (!sub) return;
    if (push.push === 'pub') sub._publication(push.pub);
    else if (push.push === 'unsubscribed') this.#serverUnsubscribed(sub, push.code, push.reason);
    else sub._presence(push.push, push.info);
  }

  /** The connection is gone: every subscription waits for the next connect to resubscribe. */
  suspend(reason: string): void {
    this.#pending.clear();
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    for (const sub of this.#byChannel.values()) sub._suspend(reason);
  }

  /** The client stopped: pending ready() calls fail; the subscriptions stay for connect(). */
  stopped(reason: string): void {
    for (const sub of this.#byChannel.values()) sub._stopped(reason);
  }

  #unsubscribeOnServer(channel: string): void {
    const { outbox, timeout } = this.#link;
    outbox
      .direct(this.#link.send()!, 'unsubscribe', { channel }, `unsubscribe "${channel}"`, timeout)
      .catch(() => {});
  }

  #sendSubscribe(sub: Subscription, reason: string): void {
    this.#cancelRetry(sub); // superseded by this subscribe
    const params = { channel: sub.channel, ...sub._begin(reason) };
    const attempt = this.#link.attempt();
    const generation = sub._generation;
    this.#pending.add(sub);
    const { outbox, timeout } = this.#link;
    outbox.direct(this.#link.send()!, 'subscribe', params, `subscribe to "${sub.channel}"`, timeout).then(
      (result) => {
        if (attempt !== this.#link.attempt() || sub._generation !== generation) return;
        this.#pending.delete(sub);
        this.#retries.delete(sub);
        if (this.#byChannel.get(sub.channel) === sub) sub._subscribed(result as never);
      },
      (error: Error) => {
        if (attempt !== this.#link.attempt() || sub._generation !== generation) return;
        this.#pending.delete(sub);
        if (this.#byChannel.get(sub.channel) === sub) this.#failed(sub, error);
      },
    );
  }

  #failed(sub: Subscription, error: Error): void {
    if (error instanceof TimeoutError) return this.#link.drop(`subscribe to "${sub.channel}" timed out`);
    if (!(error instanceof ReplyError)) return; // connection lost: the next connect resubscribes
    if (error.temporary || error.code === ErrorCodes.alreadySubscribed) {
      this.#link.reportError(error, sub.channel);
      const attempt = this.#link.attempt();
      const retries = this.#retries.get(sub) ?? 0;
      this.#retries.set(sub, retries + 1);
      const retry = () => {
        this.#retryTimers.delete(sub);
        if (attempt === this.#link.attempt() && this.#byChannel.get(sub.channel) === sub)
          this.resubscribe(sub);
      };
      this.#retryTimers.set(sub, setTimeout(retry, this.#link.backoff.delay(retries + 1)));
      return;
    }
    this.#retries.delete(sub);
    this.#byChannel.delete(sub.channel);
    sub._end(0, error.message, error);
  }

  #cancelRetry(sub: Subscription): void {
    clearTimeout(this.#retryTimers.get(sub));
    this.#retryTimers.delete(sub);
  }

  #serverUnsubscribed(sub: Subscription, code: number, reason: string): void {
    this.#pending.delete(sub);
    if (shouldResubscribe(code)) {
      // 2500-2999: the server could not keep the stream in order; subscribe again from our position.
      sub._interrupted(`${reason || 'unsubscribed by the server'} (${code})`);
      if (this.#link.send()) this.#sendSubscribe(sub, 'recovering');
      return;
    }
    this.#byChannel.delete(sub.channel);
    sub._end(code, reason);
  }
}
