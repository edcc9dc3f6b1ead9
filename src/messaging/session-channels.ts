/**
 * A session's subscriptions: subscribe (permission, limit, live feed, recovery,
 * presence), unsubscribe, server-side ends, and release on close.
 */

import { checkCanRead, namespaceOf } from './channel-commands.js';
import { type HubContext, HubError } from './context.js';
import {
  type ClientInfo,
  type ConnectResult,
  ErrorCodes,
  type Push,
  type StreamPosition,
  type SubscribeResult,
} from './protocol.js';
import { recoveryPageBytes, recoverySlotsOf, Slots } from './recovery-gate.js';
import { encodePub, toErrorBody } from './session-parts.js';
import { Subscription, type SubscriptionOwner } from './subscription.js';

interface Owner extends SubscriptionOwner {
  readonly clientInfo: ClientInfo | undefined;
  write(data: string | Buffer): boolean;
}

export class SessionChannels {
  private readonly subscriptions = new Map<string, Subscription>();
  /** This connection's recoveries read one history page at a time (recovery-gate.ts). */
  private readonly recoveryTurn = new Slots(1);

  constructor(
    private readonly ctx: HubContext,
    private readonly owner: Owner,
  ) {}

  names(): string[] {
    return [...this.subscriptions.keys()];
  }

  get size(): number {
    return this.subscriptions.size;
  }

  get(channel: string): Subscription | undefined {
    return this.subscriptions.get(channel);
  }

  /**
   * Subscribe and (with `since`) deliver what was missed. The caller sends the
   * reply and then calls subscription.activate(), so that live publications
   * after the reply's position follow the reply.
   */
  async subscribe(
    channel: string,
    since: StreamPosition | undefined,
  ): Promise<{ result: SubscribeResult; subscription: Subscription }> {
    const ctx = this.ctx;
    const ns = namespaceOf(ctx, channel);
    if (this.subscriptions.has(channel)) {
      throw new HubError(ErrorCodes.alreadySubscribed, `already subscribed to ${JSON.stringify(channel)}`);
    }
    if (this.subscriptions.size >= ctx.settings.maxSubscriptions) {
      throw new HubError(
        ErrorCodes.limitExceeded,
        `at most ${ctx.settings.maxSubscriptions} subscriptions per connection`,
      );
    }
    const subscription = new Subscription(channel, ns, this.owner, ctx.engine, {
      pageSize: ctx.settings.maxHistoryLimit,
      pageBytes: recoveryPageBytes(ctx.settings.maxOutboundBytes),
      bytesOf: (pub) => encodePub(channel, pub).length,
      connectionTurn: this.recoveryTurn,
      hubSlots: recoverySlotsOf(ctx),
      holdLimit: ctx.settings.recoveryHold,
    });
    // Reserved before any await: a second subscribe to the channel meanwhile is refused.
    this.subscriptions.set(channel, subscription);
    try {
      await checkCanRead(ctx, this.owner.clientInfo, channel, ns);
      this.ensureOpen(subscription);
      await ctx.feeds.add(subscription);
      this.ensureOpen(subscription);
      const outcome = await subscription.start(since);
      this.ensureOpen(subscription);
      const client = this.owner.clientInfo!;
      // Marked first, so an unsubscribe while presence is being added removes it again.
      subscription.joined = true;
      if (ns.presence) await ctx.engine.addPresence(channel, client, ctx.settings.presenceTtl);
      this.ensureOpen(subscription);
      if (ns.joinLeave) await ctx.engine.publishJoin(channel, client);
      this.ensureOpen(subscription);
      const result: SubscribeResult = {
        epoch: outcome.epoch,
        offset: outcome.offset,
        presence: ns.presence,
        joinLeave: ns.joinLeave,
      };
      if (outcome.recovered !== undefined) result.recovered = outcome.recovered;
      return { result, subscription };
    } catch (error) {
      this.drop(subscription);
      throw error;
    }
  }

  /**
   * The channels of a `connect` (each with the position the client holds),
   * recovered in parallel: one result or error per channel. The caller
   * activates the subscriptions after the connect reply.
   */
  async subscribeMany(
    subs: Record<string, { since?: StreamPosition }>,
  ): Promise<{ results: ConnectResult['subs']; started: Subscription[] }> {
    const results: ConnectResult['subs'] = {};
    const started: Subscription[] = [];
    await Promise.all(
      Object.entries(subs).map(async ([channel, { since }]) => {
        try {
          const { result, subscription } = await this.subscribe(channel, since);
          results[channel] = result;
          started.push(subscription);
        } catch (error) {
          results[channel] = { error: toErrorBody(this.ctx, error) };
        }
      }),
    );
    return { results, started };
  }

  unsubscribe(channel: string): void {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) {
      throw new HubError(ErrorCodes.notSubscribed, `not subscribed to ${JSON.stringify(channel)}`);
    }
    this.drop(subscription);
  }

  /** The server ends a subscription: `unsubscribed` push, then drop. */
  endByServer(channel: string, code: number, reason: string): boolean {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) return false;
    this.drop(subscription);
    this.owner.write(JSON.stringify({ push: 'unsubscribed', channel, code, reason } satisfies Push));
    return true;
  }

  refreshPresence(): void {
    const client = this.owner.clientInfo;
    if (!client) return;
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.joined || !subscription.namespace.presence) continue;
      this.ctx.engine
        .addPresence(subscription.channel, client, this.ctx.settings.presenceTtl)
        .catch(() => {}); // unreachable engine: the entry may expire; the next refresh restores it
    }
  }

  releaseAll(): void {
    for (const subscription of [...this.subscriptions.values()]) this.drop(subscription);
  }

  /** A subscription ended while subscribing (unsubscribe, close): the subscribe answers not-subscribed. */
  private ensureOpen(subscription: Subscription): void {
    if (subscription.state === 'closed') {
      throw new HubError(ErrorCodes.notSubscribed, 'unsubscribed before the subscription completed');
    }
  }

  private drop(subscription: Subscription): void {
    const { channel, namespace } = subscription;
    subscription.close();
    if (this.subscriptions.get(channel) === subscription) this.subscriptions.delete(channel);
    this.ctx.feeds.remove(subscription);
    if (!subscription.joined) return;
    subscription.joined = false;
    const client = this.owner.clientInfo!;
    const engine = this.ctx.engine;
    if (namespace.presence) engine.removePresence(channel, this.owner.clientId).catch(() => {});
    if (namespace.joinLeave) engine.publishLeave(channel, client).catch(() => {});
  }
}
