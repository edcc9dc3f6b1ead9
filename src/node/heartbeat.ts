/**
 * Heartbeats and idle timeouts for every connection of a server, driven by one
 * interval timer, whatever the number of connections: at 100k sockets a timer
 * each would cost memory and timer-heap work on every message. Each tick scans
 * the connections once; sockets only record when they last received something,
 * using a clock the tick refreshes (no Date.now() per chunk).
 */

export interface HeartbeatOptions {
  /** Send a ping after this many ms without one (0: no heartbeats). */
  interval: number;
  /** Terminate a peer that sent nothing within this many ms of a ping. */
  timeout: number;
  /** Close with 1001 after this many ms without a data message (0: never). */
  idleTimeout: number;
}

import {
  kHeartbeatPing,
  kHeartbeatTimeout,
  kIdleTimeout,
  kLastMessage,
  kLastReceived,
  kPingSentAt,
} from './internal.js';

/** What the monitor needs from a connection (symbol-keyed: not part of the public API). */
export interface Monitored {
  /** Clock value when bytes last arrived / a data message last arrived. */
  [kLastReceived]: number;
  [kLastMessage]: number;
  /** Clock value of the ping awaiting an answer (0: none). */
  [kPingSentAt]: number;
  [kHeartbeatPing](): void;
  [kHeartbeatTimeout](reason: string): void;
  [kIdleTimeout](reason: string): void;
}

/** A coarse clock shared by all connections, refreshed by the monitors' ticks. */
export const coarseClock = { now: Date.now() };

export class HeartbeatMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly connections: () => Iterable<Monitored>,
  ) {}

  get enabled(): boolean {
    return this.options.interval > 0 || this.options.idleTimeout > 0;
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    coarseClock.now = Date.now();
    const periods = [this.options.interval, this.options.timeout, this.options.idleTimeout].filter(
      (p) => p > 0,
    );
    // A quarter of the shortest period: deadlines are met within 25%.
    const tick = Math.max(10, Math.floor(Math.min(...periods) / 4));
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(now = Date.now()): void {
    coarseClock.now = now;
    const { interval, timeout, idleTimeout } = this.options;
    for (const c of this.connections()) {
      if (c[kPingSentAt] !== 0) {
        if (c[kLastReceived] >= c[kPingSentAt]) {
          c[kPingSentAt] = 0; // answered (a pong, or any other frame)
        } else if (now - c[kPingSentAt] >= timeout) {
          c[kHeartbeatTimeout](`no answer to a ping within ${timeout} ms`);
          continue;
        }
      }
      if (idleTimeout > 0 && now - c[kLastMessage] >= idleTimeout) {
        c[kIdleTimeout](`idle for ${idleTimeout} ms`);
        continue;
      }
      // Ping only quiet peers: any traffic already proves the connection is alive.
      if (interval > 0 && c[kPingSentAt] === 0 && now - c[kLastReceived] >= interval) {
        c[kPingSentAt] = now;
        c[kHeartbeatPing]();
      }
    }
  }
}
