import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { PING_FRAME, PONG_FRAME } from '../../src/messaging/protocol.js';
import { Heartbeat, type HeartbeatMember } from '../../src/messaging/session-heartbeat.js';

/**
 * The hub's heartbeat driven tick by tick (mocked setInterval): no wall clock,
 * so the assertions are about which tick a ping goes out at. The fake member
 * queues its writes like the session outbox does (socket bytes change only
 * when the queue is flushed, after the tick), and its client answers each
 * ping with a pong.
 */
const INTERVAL = 400; // 4 ticks of 100 ms
const TICK = INTERVAL / 4;

class QueuedMember implements HeartbeatMember {
  readonly ws = { bytesSent: 0, bytesReceived: 0, terminate: () => {} };
  private queued: string[] = [];
  /** Ticks at which a ping was queued. */
  readonly pingTicks: number[] = [];
  tick = 0;
  write(data: string): boolean {
    this.queued.push(data);
    if (data === PING_FRAME) this.pingTicks.push(this.tick);
    return true;
  }
  disconnect(): void {
    assert.fail('a client that answers pings is never disconnected');
  }
  /** The outbox's end-of-iteration write, and the client's pongs. */
  flush(): void {
    for (const data of this.queued) {
      this.ws.bytesSent += data.length + 2;
      if (data === PING_FRAME) this.ws.bytesReceived += PONG_FRAME.length + 6;
    }
    this.queued = [];
  }
}

/** Advance `ticks` heartbeat ticks, flushing the member's outbox after each (as setImmediate would). */
function run(member: QueuedMember, ticks: number, each?: (tick: number) => void): void {
  for (let i = 0; i < ticks; i++) {
    member.tick++;
    mock.timers.tick(TICK);
    member.flush();
    each?.(member.tick);
  }
}

const gaps = (ticks: number[]) => ticks.slice(1).map((t, i) => t - ticks[i]!);

describe('hub heartbeat, tick by tick', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('an idle connection gets a ping every 3 ticks (3/4 pingInterval), its own pings not counted as traffic', () => {
    const heartbeat = new Heartbeat(INTERVAL);
    const member = new QueuedMember();
    heartbeat.add(member);
    run(member, 24);
    heartbeat.remove(member);
    assert.deepEqual(member.pingTicks, [3, 6, 9, 12, 15, 18, 21, 24]);
    // docs/protocol.md: "a frame at least every pingInterval ms" = every 4 ticks.
    assert.ok(gaps(member.pingTicks).every((gap) => gap <= 4));
  });

  test('other traffic to the client postpones the ping: 3 ticks after the last frame seen', () => {
    const heartbeat = new Heartbeat(INTERVAL);
    const member = new QueuedMember();
    heartbeat.add(member);
    run(member, 15, (tick) => {
      // The client publishes and gets the publication right after ticks 1, 2 and 7 (seen at ticks 2, 3, 8).
      if (tick === 1 || tick === 2 || tick === 7) {
        member.ws.bytesReceived += 40;
        member.write('{"push":"pub"}');
        member.flush();
      }
    });
    heartbeat.remove(member);
    // Last traffic seen at tick 3: ping at 6; then seen at tick 8: ping at 11; idle after: 14.
    assert.deepEqual(member.pingTicks, [6, 11, 14]);
  });
});
