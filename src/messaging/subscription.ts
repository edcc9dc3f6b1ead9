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
 * Pages are read one at a time per connection, sized in bytes, and each is
 * sent only as fast as the client reads (owner.writable), in one of the hub's
 * recovery slots (recovery-gate.ts), so memory stays bounded however large
 * the gap and however many clients recover at once.
 */

import type { Engine, HistoryPage } from './engine.js';
import type { Namespace } from './namespaces.js';
import type { ClientInfo, Publication, StreamPosition } from './protocol.js';
import { FIRST_PAGE_LIMIT, type Slots } from './recovery-gate.js';

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
  /** Publications per history read, at most. */
  pageSize: number;
  /** Bytes per history page, about (recovery-gate.ts): the page limit adapts to the publications' size. */
  pageBytes: number;
  /** A publication's encoded size in bytes (the pub push it is sent as). */
  bytesOf(pub: Publication): number;
  /** The connection's turn: its subscriptions read one page at a time. */
  connectionTurn: Slots;
  /** The hub's recovery slots. */
  hubSlots: Slots;
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
  /** Publications per history read, adapted to their size (pageBytes). */
  private pageLimit: number;

  constructor(
    readonly channel: string,
    readonly namespace: Namespace,
    readonly owner: SubscriptionOwner,
    private readonly engine: Engine,
    private readonly limits: SubscriptionLimits,
  ) {
    this.pageLimit = Math.min(limits.pageSize, FIRST_PAGE_LIMIT);
  }

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
    if (!since) {
      const { top } = await this.engine.history({ channel: this.channel, limit: 0 });
      this.moveTo(top);
      this.state = 'ready';
      return { ...top };
    }
    let recovered = true;
    let first = true;
    let target = Number.POSITIVE_INFINITY;
    while (this.state !== 'closed' && recovered && (first || this.offset < target)) {
      const at: StreamPosition = first ? since : { epoch: this.epoch, offset: this.offset };
      const before = first ? -1 : this.offset;
      await this.page(at, async (page) => {
        const top = page.top;
        const pubs = page.publications;
        // The first page decides whether history covers the gap; a later one must continue it
        // (trimmed or lost while paging: what was delivered stays delivered, the rest is gone).
        const continues = first
          ? since.epoch === top.epoch &&
            since.offset <= top.offset &&
            (since.offset === top.offset || pubs[0]?.offset === since.offset + 1)
          : this.continues(top, pubs);
        if (!continues) {
          this.moveTo(top);
          recovered = false;
          return;
        }
        if (first) this.moveTo(since);
        first = false;
        target = top.offset;
        await this.deliverPage(pubs);
      });
      // A page that continues the position but brings nothing (a broken engine): never loop forever.
      if (this.offset === before && this.offset < target) recovered = false;
    }
    if (this.state !== 'closed') this.state = 'ready';
    return recovered
      ? { epoch: this.epoch, offset: this.offset, recovered: true }
      : { epoch: this.epoch, offset: this.offset, recovered: false };
  }

  /**
   * Read one history page from `since` and hand it to `use`, in this
   * connection's turn, once its outbound queue drained, in one of the hub's
   * recovery slots (recovery-gate.ts); then adapt the page size to the bytes seen.
   */
  private async page(since: StreamPosition, use: (page: HistoryPage) => Promise<void>): Promise<void> {
    const { connectionTurn, hubSlots } = this.limits;
    await connectionTurn.run(async () => {
      await this.owner.writable();
      await hubSlots.run(async () => {
        if (this.state === 'closed') return;
        const page = await this.engine.history({ channel: this.channel, since, limit: this.pageLimit });
        let largest = 1;
        for (const pub of page.publications) largest = Math.max(largest, this.limits.bytesOf(pub));
        this.pageLimit = Math.max(
          1,
          Math.min(this.limits.pageSize, Math.floor(this.limits.pageBytes / largest)),
        );
        await use(page);
      });
    });
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

  /** Send a page in order; every pageBytes sent, wait for the client to read (the page is the only copy held). */
  private async deliverPage(pubs: Publication[]): Promise<void> {
    let sent = 0;
    for (const pub of pubs) {
      if (this.state === 'closed') return;
      if (pub.epoch !== this.epoch || pub.offset <= this.offset) continue;
      if (pub.offset !== this.offset + 1) return; // cannot happen with a correct engine; the caller re-reads
      this.send(pub);
      sent += this.limits.bytesOf(pub);
      if (sent >= this.limits.pageBytes) {
        await this.owner.writable();
        sent = 0;
      }
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
        let lost = false;
        await this.page({ epoch: this.epoch, offset: this.offset }, async (page) => {
          if (this.state !== 'live') return;
          if (!this.continues(page.top, page.publications)) lost = true;
          else await this.deliverPage(page.publications);
        });
        if (this.state !== 'live') return;
        if (lost) return this.lose('insufficient state');
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
