/**
 * At most `limit` events per window (fixed windows: cheap, one pair of numbers,
 * and enough to stop a flood; a burst may reach twice the limit across a
 * window boundary). Used for maxMessageRate; reusable by applications' own
 * per-connection limits.
 */
export class RateLimiter {
  private windowStart = 0;
  private count = 0;

  constructor(
    readonly limit: number,
    readonly windowMs = 1000,
  ) {}

  /** Count one event at `now`; false once the window's limit is passed. */
  take(now = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.limit;
  }
}
