/**
 * The client's side of the heartbeat (docs/protocol.md, Heartbeat): a server
 * that announced `pingInterval` sends a frame at least that often, so hearing
 * nothing for pingInterval + grace means the connection is dead even though
 * the browser has not noticed (laptop sleep, NAT entry dropped): the client
 * then reconnects and recovers instead of waiting minutes for TCP to give up.
 */

/**
 * The longest delay setTimeout keeps (Node and browsers): a longer one fires
 * after 1 ms, which with a huge announced pingInterval would re-arm every
 * millisecond. Longer limits are waited out in steps of this.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

export class Liveness {
  #lastHeard = 0;
  #limit = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `onDead(silentMs)` runs once when the limit passes without a frame. */
  constructor(readonly onDead: (silentMs: number) => void) {}

  /** Start watching (pingInterval from the connect reply; undefined or 0 = the server has no heartbeat). */
  start(pingInterval: number | undefined, grace: number): void {
    this.stop();
    if (typeof pingInterval !== 'number' || !(pingInterval > 0)) return;
    this.#limit = pingInterval + grace;
    this.#lastHeard = Date.now();
    this.#arm(this.#limit);
  }

  /** A frame arrived: cheap (one clock read), the timer is not touched. */
  heard(): void {
    this.#lastHeard = Date.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(
      () => {
        const silent = Date.now() - this.#lastHeard;
        if (silent < this.#limit) return this.#arm(this.#limit - silent);
        this.#timer = undefined;
        this.onDead(silent);
      },
      Math.min(delay, MAX_TIMER_DELAY),
    );
  }
}
