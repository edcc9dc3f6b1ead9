/**
 * Reconnect delays with "full jitter" (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): the n-th retry waits a uniformly random time in
 * [0, min(max, min * 2^n)]. Spreading retries over the whole window is what
 * keeps thousands of clients of a restarted server from reconnecting in
 * lock-step waves.
 */

export interface BackoffOptions {
  /** Base delay in ms (the cap of the first retry's window). */
  minDelay: number;
  /** Largest delay in ms. */
  maxDelay: number;
  /** A number in [0, 1): injectable so tests are deterministic. */
  random?: () => number;
}

export class Backoff {
  readonly #min: number;
  readonly #max: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    if (!(options.minDelay >= 0) || !(options.maxDelay >= options.minDelay)) {
      throw new RangeError(
        `reconnect delays must satisfy 0 <= minDelay <= maxDelay; got ${options.minDelay} and ${options.maxDelay}`,
      );
    }
    this.#min = options.minDelay;
    this.#max = options.maxDelay;
    this.#random = options.random ?? Math.random;
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next retry; each call widens the window (up to maxDelay). */
  next(): number {
    return this.delay(this.#attempt++);
  }

  /** The delay for retry number `attempt` (0-based), without touching the counter. */
  delay(attempt: number): number {
    // 2^attempt overflows to Infinity eventually; min() keeps the window at maxDelay.
    const window = Math.min(this.#max, this.#min * 2 ** attempt);
    return Math.floor(this.#random() * window);
  }

  /** After a successful connection: the next failure starts from a small window again. */
  reset(): void {
    this.#attempt = 0;
  }
}
