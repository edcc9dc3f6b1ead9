import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { MessagingClient } from '../../src/messaging/client/client.js';
import { Liveness } from '../../src/messaging/client/liveness.js';
import { Hub } from '../../src/messaging/index.js';
import { scriptedSocket } from './scripted-socket.js';

/** The largest delay Node and browsers keep (a longer one is clamped to 1 ms). */
const MAX_TIMER = 2 ** 31 - 1;
const DAY = 86_400_000;

describe('client liveness with a huge pingInterval', () => {
  afterEach(() => mock.restoreAll());

  test('a pingInterval beyond the timer maximum arms no delay above 2^31-1 ms (no 1 ms loop)', () => {
    const armed: number[] = [];
    const real = globalThis.setTimeout;
    mock.method(globalThis, 'setTimeout', ((fn: () => void, delay: number) => {
      armed.push(delay);
      const timer = real(fn, delay);
      timer.unref();
      return timer;
    }) as typeof setTimeout);
    for (const interval of [MAX_TIMER, 1e300]) {
      const liveness = new Liveness(() => assert.fail('not dead'));
      liveness.start(interval, 10_000);
      liveness.stop();
    }
    assert.equal(armed.length, 2);
    assert.deepEqual(armed, [MAX_TIMER, MAX_TIMER]);
  });

  test('the clamped timer re-arms for the rest and declares the connection dead at pingInterval + grace', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const dead: number[] = [];
      const liveness = new Liveness((silent) => dead.push(silent));
      liveness.start(MAX_TIMER, 10_000);
      mock.timers.tick(MAX_TIMER);
      assert.deepEqual(dead, [], 'the first (clamped) timer only re-arms');
      mock.timers.tick(9_999);
      assert.deepEqual(dead, []);
      mock.timers.tick(1);
      assert.deepEqual(dead, [MAX_TIMER + 10_000]);
      liveness.stop();
    } finally {
      mock.timers.reset();
    }
  });
});

/**
 * A hostile server in a fake WebSocket: it accepts the connect command and
 * announces a pingInterval and a token lifetime beyond every timer.
 */
const HugeTimersServer = scriptedSocket((command) => {
  if (command.cmd !== 'connect') return undefined;
  const result = { client: 'c1', user: 'u', version: 1, subs: {}, pingInterval: 1e15, expiresIn: 1e15 };
  return { id: command.id, result };
});

describe('client against a server announcing huge intervals', () => {
  afterEach(() => mock.restoreAll());

  test('no timer of the client is armed beyond 2^31-1 ms (pingInterval and the token refresh)', async () => {
    const armed: number[] = [];
    const real = globalThis.setTimeout;
    mock.method(globalThis, 'setTimeout', ((fn: () => void, delay: number) => {
      armed.push(delay);
      const timer = real(fn, delay);
      timer.unref();
      return timer;
    }) as typeof setTimeout);
    const client = new MessagingClient('ws://hostile.invalid/', {
      WebSocket: HugeTimersServer,
      getToken: () => 'token',
    });
    client.connect();
    await client.ready();
    client.close();
    assert.ok(armed.length >= 3, `connect timeout, liveness, refresh: ${armed}`);
    assert.deepEqual(
      armed.filter((delay) => !(delay >= 0 && delay <= MAX_TIMER)),
      [],
    );
  });
});

describe('hub option pingInterval', () => {
  test('at most 1 day; the error says what is allowed', async () => {
    assert.throws(
      () => new Hub({ noServer: true, pingInterval: DAY + 1 }),
      /option "pingInterval" must be 0 \(off\) or from 20 to 86400000 ms \(1 day\); got 86400001/,
    );
    assert.throws(() => new Hub({ noServer: true, pingInterval: MAX_TIMER }), /pingInterval/);
    const hub = new Hub({ noServer: true, pingInterval: DAY });
    assert.equal(hub.settings.pingInterval, DAY);
    await hub.close();
  });
});
