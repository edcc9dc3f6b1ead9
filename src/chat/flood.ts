/**
 * The chat's flood limit: at most `limit` messages per connection in a window of
 * `windowMs` (fixed windows: cheap, one counter per connection). Beyond it the
 * session closes the connection with 1008 (RFC 6455 section 7.4.1: policy violation).
 */
export class FloodGate {
  private windowStart = Date.now();
  private count = 0;

  /** `limit` 0: no limit. */
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one message; false when it is over the limit. */
  allow(now = Date.now()): boolean {
    if (this.limit === 0) return true;
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.limit;
  }
}
