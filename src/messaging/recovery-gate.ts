/**
 * Bounds on what recovery holds in memory (history pages read to fill a gap):
 *
 *  - per connection, one page at a time: the subscriptions of one connection
 *    (a `connect` recovers them all in parallel) take turns, and a page is read
 *    only once the connection's outbound queue has drained;
 *  - per page, bytes rather than a count: the page limit adapts to the
 *    publications' encoded size so a page is about `pageBytes` (a quarter of
 *    the outbound bound by default); within a page, sending pauses for the
 *    client to read whenever `pageBytes` went out;
 *  - per hub, at most `maxConcurrentRecoveries` pages in flight (read and
 *    being sent): a reconnect storm of thousands of clients queues for those
 *    slots instead of pulling thousands of pages into memory at once.
 */

import type { HubContext } from './context.js';

/** A FIFO counting semaphore. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  /** Pages being handled right now (for tests and observability). */
  get inUse(): number {
    return this.used;
  }

  /** Resolves with the release function once a slot is free. */
  async acquire(): Promise<() => void> {
    if (this.used >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on directly: `used` stays
      else this.used--;
    };
  }

  async run<T>(step: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await step();
    } finally {
      release();
    }
  }
}

const hubSlots = new WeakMap<HubContext, Slots>();

/** The hub's recovery slots (made on first use). */
export function recoverySlotsOf(ctx: HubContext): Slots {
  let slots = hubSlots.get(ctx);
  if (!slots) {
    slots = new Slots(ctx.settings.maxConcurrentRecoveries);
    hubSlots.set(ctx, slots);
  }
  return slots;
}

/** Bytes a recovery page may hold: a quarter of the outbound bound, at most 1 MiB. */
export function recoveryPageBytes(maxOutboundBytes: number): number {
  return Math.min(1024 * 1024, Math.floor(maxOutboundBytes / 4));
}

/** The first page of a recovery, before any size is known: small, so that even 64 KiB publications stay near pageBytes. */
export const FIRST_PAGE_LIMIT = 16;
