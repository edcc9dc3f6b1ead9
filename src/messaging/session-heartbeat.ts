/**
 * The application-level heartbeat (docs/protocol.md, Heartbeat). Browsers
 * cannot see WebSocket pings, so a page would only learn of a dead network
 * (laptop sleep, NAT entry dropped) when TCP gives up, minutes later. The hub
 * therefore makes sure every connected client hears a frame at least every
 * `pingInterval` ms (a `ping` push when nothing else went out), and closes
 * with 4005 a connection it heard nothing from for 2 x pingInterval (the
 * client answers each ping with a pong frame, so a live client is never
 * silent that long).
 *
 * One timer per hub ticks every quarter interval and compares each
 * connection's byte counters with the last tick's: the send path pays nothing
 * per message, and a stalled event loop delays the ticks too, so a busy
 * server does not mistake its own slowness for a dead client.
 */

import type { HubContext } from './context.js';
import { CloseCodes, PING_FRAME } from './protocol.js';

/** Ticks per pingInterval. */
const TICKS = 4;
/** Ticks of silence before a ping: the counters are read once a tick, so 3 ticks of observed silence is 3/4 to 1 interval. */
const QUIET_TICKS = TICKS - 1;
/** Ticks without a byte from the client before closing (2 intervals, at most 2.25). */
const DEAD_TICKS = 2 * TICKS;

export interface HeartbeatMember {
  readonly ws: { readonly bytesSent?: number; readonly bytesReceived?: number; terminate(): void };
  write(data: string): boolean;
  disconnect(code: number, reason: string): void;
}

interface Beat {
  sent: number;
  received: number;
  sentTick: number;
  heardTick: number;
  /** A ping went out because the client was quiet, and nothing was heard since. */
  awaitingPong: boolean;
  /**
   * A ping was queued and its bytes not yet seen. The session outbox writes at
   * the end of the event-loop iteration, so the ping's own bytes show up at the
   * next tick: counting them as traffic would move sentTick one tick later and
   * space idle pings 4+ ticks apart instead of 3 (more than pingInterval).
   */
  pingQueued: boolean;
}

export class Heartbeat {
  private tick = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly members = new Map<HeartbeatMember, Beat>();

  constructor(private readonly interval: number) {}

  add(member: HeartbeatMember): void {
    const { bytesSent = 0, bytesReceived = 0 } = member.ws;
    this.members.set(member, {
      sent: bytesSent,
      received: bytesReceived,
      sentTick: this.tick,
      heardTick: this.tick,
      awaitingPong: false,
      pingQueued: false,
    });
    // The timer runs only while someone is connected: a closed hub leaves none behind.
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.interval / TICKS);
      this.timer.unref();
    }
  }

  remove(member: HeartbeatMember): void {
    this.members.delete(member);
    if (this.members.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    const tick = ++this.tick;
    for (const [member, beat] of this.members) {
      const { bytesSent = 0, bytesReceived = 0 } = member.ws;
      if (bytesReceived !== beat.received) {
        beat.received = bytesReceived;
        beat.heardTick = tick;
        beat.awaitingPong = false;
      }
      if (bytesSent !== beat.sent) {
        beat.sent = bytesSent;
        // The bytes of our own ping are not news (sentTick is already its tick); anything written
        // with it only makes the next ping come earlier, never later.
        if (beat.pingQueued) beat.pingQueued = false;
        else beat.sentTick = tick;
      }
      if (tick - beat.heardTick >= DEAD_TICKS) {
        member.disconnect(
          CloseCodes.noPong,
          `nothing heard from the client for ${(2 * this.interval) / 1000} s (heartbeat)`,
        );
        // A peer that sent nothing for so long will hardly answer the close handshake: do not
        // hold the socket for the whole close timeout (terminate is a no-op once it closed).
        const ws = member.ws;
        setTimeout(() => ws.terminate(), this.interval).unref();
        continue; // disconnect removed it
      }
      const quietClient = tick - beat.heardTick >= QUIET_TICKS && !beat.awaitingPong;
      if (tick - beat.sentTick >= QUIET_TICKS || quietClient) {
        if (quietClient) beat.awaitingPong = true;
        beat.sentTick = tick;
        member.write(PING_FRAME);
        beat.sent = member.ws.bytesSent ?? 0;
        // Written at once (no outbox in between): already counted in beat.sent.
        beat.pingQueued = beat.sent === bytesSent;
      }
    }
  }
}

const heartbeats = new WeakMap<HubContext, Heartbeat>();

/**
 * The hub's heartbeat (made on first use; none when pingInterval is 0).
 * Only network connections take part: in-process ones (connectLocal) have no
 * byte counters and cannot die silently.
 */
export function heartbeatOf(ctx: HubContext, ws: HeartbeatMember['ws']): Heartbeat | undefined {
  const interval = ctx.settings.pingInterval;
  if (interval === 0 || ws.bytesSent === undefined || ws.bytesReceived === undefined) return undefined;
  let heartbeat = heartbeats.get(ctx);
  if (!heartbeat) {
    heartbeat = new Heartbeat(interval);
    heartbeats.set(ctx, heartbeat);
  }
  return heartbeat;
}
