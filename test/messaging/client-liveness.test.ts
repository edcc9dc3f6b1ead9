import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { Liveness } from '../../src/messaging/client/liveness.js';
import { Hub } from '../../src/messaging/index.js';

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
