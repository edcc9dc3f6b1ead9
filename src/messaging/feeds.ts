/**
 * Which channels this node receives live, and who receives them locally. The
 * engine is subscribed to a channel when its first local subscriber arrives
 * and unsubscribed when the last one leaves; subscribe/unsubscribe of one
 * channel are chained so the engine sees them in order.
 */

import type { Engine } from './engine.js';
import type { Publication } from './protocol.js';
import type { Subscription } from './subscription.js';

interface Feed {
  subscribers: Set<Subscription>;
  /** Resolves once the engine delivers this channel live. */
  ready: Promise<void>;
}

export class Feeds {
  private readonly feeds = new Map<string, Feed>();
  /** Engine calls still running per channel, so the next one waits for it. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly engine: Engine) {}

  get channelCount(): number {
    return this.feeds.size;
  }

  subscribers(channel: string): ReadonlySet<Subscription> | undefined {
    return this.feeds.get(channel)?.subscribers;
  }

  channels(): IterableIterator<string> {
    return this.feeds.keys();
  }

  /** Register a subscriber (it holds live publications from now on) and wait until the feed is live. */
  add(subscription: Subscription): Promise<void> {
    const { channel } = subscription;
    let feed = this.feeds.get(channel);
    if (!feed) {
      const ready = this.chain(channel, () => this.engine.subscribe(channel));
      feed = { subscribers: new Set(), ready };
      this.feeds.set(channel, feed);
      const created = feed;
      // A failed engine subscribe forgets the feed, so the next subscriber tries again.
      ready.catch(() => {
        if (this.feeds.get(channel) === created) this.feeds.delete(channel);
      });
    }
    feed.subscribers.add(subscription);
    return feed.ready;
  }

  remove(subscription: Subscription): void {
    const { channel } = subscription;
    const feed = this.feeds.get(channel);
    if (!feed?.subscribers.delete(subscription)) return;
    if (feed.subscribers.size > 0) return;
    this.feeds.delete(channel);
    this.chain(channel, () => this.engine.unsubscribe(channel)).catch(() => {
      // The engine is gone or unreachable; a later subscribe starts over.
    });
  }

  publication(channel: string, pub: Publication): void {
    const feed = this.feeds.get(channel);
    if (!feed) return;
    for (const subscription of feed.subscribers) subscription.onPublication(pub);
  }

  resync(channels: readonly string[]): void {
    for (const channel of channels) {
      for (const subscription of this.feeds.get(channel)?.subscribers ?? []) subscription.resync();
    }
  }

  /** Live subscribers of a channel, for join/leave pushes. */
  forEachLive(channel: string, each: (subscription: Subscription) => void): void {
    for (const subscription of this.feeds.get(channel)?.subscribers ?? []) {
      if (subscription.state === 'live') each(subscription);
    }
  }

  private chain(channel: string, call: () => Promise<void>): Promise<void> {
    const previous = this.pending.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(call);
    this.pending.set(channel, next);
    const forget = () => {
      if (this.pending.get(channel) === next) this.pending.delete(channel);
    };
    next.then(forget, forget);
    return next;
  }
}
