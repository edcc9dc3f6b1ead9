/**
 * One connection's subscription to one channel, and the heart of exact
 * delivery: it knows the position it has delivered up to and lets only the
 * next offset through. Everything else is held and merged by offset:
 *
 *  - starting/ready: the subscription is registered for live publications
 *    BEFORE history is read, so nothing published meanwhile can fall in
 *    between; live publications are held (bounded) while history pages are
 *    delivered, and merged by offset on activation (after the reply).
 *  - live: the next offset is delivered at once; a duplicate is dropped; a gap
 *    (the engine's feed skipped, or resync) is filled from history before
 *    anything after it is delivered. A gap the history cannot fill ends the
 *    subscription with `unsubscribed` 2500 (the client resubscribes and is
 *    told `recovered: false`): never a silent gap.
 *
 * Pages are read one at a time and each is sent only as fast as the client
 * reads (owner.writable), so memory stays bounded however large the gap.
 */

import type { Engine } from './engine.js';
import type { Namespace } from './namespaces.js';
import type { ClientInfo, Publication, StreamPosition } from './protocol.js';

export interface SubscriptionOwner {
  readonly clientId: string;
  /** Push one publication; false when the connection is above its high-water mark. */
  deliver(channel: string, pub: Publication): boolean;
  /** Resolves when the connection can take more; rejects once it is closed. */
  writable(): Promise<void>;
  /** This live subscription cannot continue in order (tell the client, drop it). */
  lostSync(subscription: Subscription, reason: string): void;
  /** A presence change in a channel this connection is subscribed to. */
  joinLeave(kind: 'join' | 'leave', channel: string, info: ClientInfo): void;
}

export interface SubscriptionLimits {
  /** Publications per history read. */
  pageSize: number;
  /** Live publications held while history is read; beyond it they are re-read from history. */
  holdLimit: number;
}

export type SubscriptionState = 'starting' | 'ready' | 'live' | 'closed';

export interface StartOutcome extends StreamPosition {
  recovered?: boolean;
}

export class Subscription {
  state: SubscriptionState = 'starting';
  /** Position delivered so far (everything up to offset, in epoch). */
  epoch = '';
  offset = 0;
  /** Presence was registered for this subscription (so it must be removed). */
  joined = false;
  private held: Publication[] = [];
  /** Highest live offset seen while holding (some may have been dropped past holdLimit). */
  private maxSeen = 0;
  private catchingUp = false;
  /** A resync asked for one more history read even if nothing is held. */
  private mustRead = false;

  constructor(
    readonly channel: string,
    readonly namespace: Namespace,
    readonly owner: SubscriptionOwner,
    private readonly engine: Engine,
    private readonly limits: SubscriptionLimits,
  ) {}

  /** A live publication from the engine's feed. */
  onPublication(pub: Publication): void {
    if (this.state === 'closed') return;
    if (this.state === 'live' && !this.catchingUp) {
      if (pub.epoch === this.epoch && pub.offset === this.offset + 1) {
        this.send(pub);
        return;
      }
      if (pub.epoch === this.epoch && pub.offset <= this.offset) return; // duplicate
      this.hold(pub);
      void this.catchUp();
      return;
    }
    this.hold(pub);
  }

  /**
   * Read the channel's position (and with `since`, deliver every publication
   * after it, page by page). Must be called after the live feed is established.
   */
  async start(since: StreamPosition | undefined): Promise<StartOutcome> {
    const first = await this.engine.history({
      channel: this.channel,
      since,
      limit: since ? this.limits.pageSize : 0,
    });
    const top = first.top;
    if (!since) {
      this.moveTo(top);
      this.state = 'ready';
      return { ...top };
    }
    const pubs = first.publications;
    const covered =
      since.epoch === top.epoch &&
      since.offset <= top.offset &&
      (since.offset === top.offset || pubs[0]?.offset === since.offset + 1);
    if (!covered) {
      this.moveTo(top);
      this.state = 'ready';
      return { ...top, recovered: false };
    }
    this.moveTo(since);
    await this.deliverPage(pubs);
    let target = top.offset;
    while (this.offset < target && this.state !== 'closed') {
      const page = await this.engine.history({
        channel: this.channel,
        since: { epoch: this.epoch, offset: this.offset },
        limit: this.limits.pageSize,
      });
      // Trimmed or lost while we were paging: what was delivered stays delivered, the rest is gone.
      if (!this.continues(page.top, page.publications)) {
        this.moveTo(page.top);
        this.state = 'ready';
        return { ...page.top, recovered: false };
      }
      await this.deliverPage(page.publications);
      target = page.top.offset;
    }
    if (this.state === 'closed') return { epoch: this.epoch, offset: this.offset, recovered: true };
    this.state = 'ready';
    return { epoch: this.epoch, offset: this.offset, recovered: true };
  }

  /** The reply went out: from now on publications flow live (held ones first, merged by offset). */
  activate(): void {
    if (this.state !== 'ready') return;
    this.state = 'live';
    void this.catchUp();
  }

  /** The engine's feed may have missed publications (engine resync): read history once more. */
  resync(): void {
    if (this.state !== 'live') return;
    this.mustRead = true;
    void this.catchUp();
  }

  close(): void {
    this.state = 'closed';
    this.held = [];
  }

  private moveTo(position: StreamPosition): void {
    this.epoch = position.epoch;
    this.offset = position.offset;
  }

  private send(pub: Publication): boolean {
    this.offset = pub.offset;
    return this.owner.deliver(this.channel, pub);
  }

  private hold(pub: Publication): void {
    if (pub.offset > this.maxSeen) this.maxSeen = pub.offset;
    if (this.held.length >= this.limits.holdLimit) return; // re-read from history later
    // Usually appended in order; insertion keeps it sorted if the feed reordered.
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.offset > pub.offset) i--;
    if (this.held[i - 1]?.offset === pub.offset && this.held[i - 1]?.epoch === pub.epoch) return;
    this.held.splice(i, 0, pub);
  }

  /** Deliver held publications that continue the position; true when nothing is missing any more. */
  private drainHeld(): boolean {
    let i = 0;
    for (; i < this.held.length; i++) {
      const pub = this.held[i]!;
      if (pub.epoch !== this.epoch) break;
      if (pub.offset <= this.offset) continue;
      if (pub.offset !== this.offset + 1) break;
      this.send(pub);
    }
    this.held.splice(0, i);
    return this.held.length === 0 && this.maxSeen <= this.offset;
  }

  /** Whether a history page continues exactly from the current position. */
  private continues(top: StreamPosition, pubs: Publication[]): boolean {
    if (top.epoch !== this.epoch || top.offset < this.offset) return false;
    if (top.offset === this.offset) return true;
    return pubs[0]?.offset === this.offset + 1;
  }

  private async deliverPage(pubs: Publication[]): Promise<void> {
    for (const pub of pubs) {
      if (this.state === 'closed') return;
      if (pub.epoch !== this.epoch || pub.offset <= this.offset) continue;
      if (pub.offset !== this.offset + 1) return; // cannot happen with a correct engine; the caller re-reads
      if (!this.send(pub)) await this.owner.writable();
    }
  }

  /** Fill the gap between the position and what is held from history, then go live. */
  private async catchUp(): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = true;
    let idleReads = 0;
    try {
      while (this.state === 'live') {
        if (!this.mustRead && this.drainHeld()) return; // caught up: live delivery resumes synchronously
        this.mustRead = false;
        const before = this.offset;
        const page = await this.engine.history({
          channel: this.channel,
          since: { epoch: this.epoch, offset: this.offset },
          limit: this.limits.pageSize,
        });
        if (this.state !== 'live') return;
        if (!this.continues(page.top, page.publications)) {
          return this.lose('insufficient state');
        }
        await this.deliverPage(page.publications);
        // Held publications beyond a top the history does not show yet: allow one more read, then give up.
        if (this.offset === before && !this.drainHeld()) {
          if (++idleReads >= 2) return this.lose('insufficient state');
        } else {
          idleReads = 0;
        }
      }
    } catch {
      // The engine failed or the connection closed: the client recovers from its position on resubscribe.
      if (this.state === 'live') this.lose('insufficient state');
    } finally {
      this.catchingUp = false;
    }
  }

  private lose(reason: string): void {
    if (this.state === 'closed') return;
    this.close();
    this.owner.lostSync(this, reason);
  }
}
