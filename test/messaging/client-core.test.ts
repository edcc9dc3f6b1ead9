import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Backoff } from '../../src/messaging/client/backoff.js';
import { PositionTracker } from '../../src/messaging/client/position.js';
import { parseServerFrame } from '../../src/messaging/client/server-frame.js';

describe('Backoff (full jitter)', () => {
  test('the n-th delay lies in [0, min(max, min * 2^n)) and the window doubles up to max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (min, extra, randoms) => {
          const max = min + extra;
          let i = 0;
          const backoff = new Backoff({ minDelay: min, maxDelay: max, random: () => randoms[i]! });
          for (; i < randoms.length; i++) {
            const delay = backoff.next();
            const window = Math.min(max, min * 2 ** i);
            assert.ok(delay >= 0 && delay < Math.max(window, 1), `delay ${delay} outside [0, ${window})`);
            assert.equal(delay, Math.floor(randoms[i]! * window));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('random 0.999 hits (nearly) the whole window; reset() starts small again', () => {
    const backoff = new Backoff({ minDelay: 100, maxDelay: 1000, random: () => 0.999 });
    assert.deepEqual(
      Array.from({ length: 6 }, () => backoff.next()),
      [99, 199, 399, 799, 999, 999],
    );
    assert.equal(backoff.attempt, 6);
    backoff.reset();
    assert.equal(backoff.next(), 99);
  });

  test('a huge attempt count stays at maxDelay (2^n overflow)', () => {
    const backoff = new Backoff({ minDelay: 1, maxDelay: 30_000, random: () => 0.5 });
    assert.equal(backoff.delay(5000), 15_000);
  });

  test('bad delays are refused with what is allowed', () => {
    assert.throws(() => new Backoff({ minDelay: 10, maxDelay: 5 }), /0 <= minDelay <= maxDelay/);
    assert.throws(() => new Backoff({ minDelay: -1, maxDelay: 5 }), /0 <= minDelay <= maxDelay/);
    assert.throws(() => new Backoff({ minDelay: Number.NaN, maxDelay: 5 }), /0 <= minDelay <= maxDelay/);
  });
});

describe('PositionTracker', () => {
  const pub = (offset: number, epoch = 'e1') => ({ offset, epoch });

  test('delivers in sequence, drops replays, reports gaps and epoch changes without moving', () => {
    const tracker = new PositionTracker({ epoch: 'e1', offset: 4 });
    assert.equal(tracker.accept(pub(5)), 'deliver');
    assert.equal(tracker.accept(pub(5)), 'duplicate');
    assert.equal(tracker.accept(pub(3)), 'duplicate');
    assert.equal(tracker.accept(pub(7)), 'gap');
    assert.deepEqual(tracker.position, { epoch: 'e1', offset: 5 });
    assert.equal(tracker.accept(pub(6, 'e2')), 'epoch-changed');
    assert.deepEqual(tracker.position, { epoch: 'e1', offset: 5 });
    assert.equal(tracker.accept(pub(6)), 'deliver');
    tracker.reset({ epoch: 'e2', offset: 10 });
    assert.equal(tracker.accept(pub(11, 'e2')), 'deliver');
  });

  test('the position handed out is a copy', () => {
    const start = { epoch: 'e', offset: 1 };
    const tracker = new PositionTracker(start);
    start.offset = 99;
    const seen = tracker.position!;
    seen.offset = 50;
    assert.deepEqual(tracker.position, { epoch: 'e', offset: 1 });
  });

  test('accept() before any position is a programming error', () => {
    assert.throws(() => new PositionTracker().accept(pub(1)), /before any position/);
  });

  test('property: whatever order and repetition, what is delivered is 1..n in order, once, never past a gap', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 200 }), (offsets) => {
        const tracker = new PositionTracker({ epoch: 'e', offset: 0 });
        const delivered: number[] = [];
        for (const offset of offsets)
          if (tracker.accept(pub(offset, 'e')) === 'deliver') delivered.push(offset);
        assert.deepEqual(
          delivered,
          Array.from({ length: delivered.length }, (_, i) => i + 1),
        );
        assert.equal(tracker.position!.offset, delivered.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseServerFrame', () => {
  test('replies and pushes', () => {
    assert.deepEqual(parseServerFrame('{"id":3,"result":{"epoch":"e","offset":1}}'), {
      kind: 'reply',
      id: 3,
      result: { epoch: 'e', offset: 1 },
      error: undefined,
    });
    const error = { code: 'permission-denied', message: 'no', temporary: false };
    assert.deepEqual(parseServerFrame(JSON.stringify({ id: 4, error })), {
      kind: 'reply',
      id: 4,
      result: undefined,
      error,
    });
    const pub = { push: 'pub', channel: 'c', pub: { offset: 1, epoch: 'e', data: 'x', ts: 1 } };
    assert.deepEqual(parseServerFrame(JSON.stringify(pub)), { kind: 'push', push: pub });
    assert.deepEqual(parseServerFrame('{"push":"disconnect","code":4000,"reconnect":true}'), {
      kind: 'push',
      push: { push: 'disconnect', code: 4000, reconnect: true, reason: '' },
    });
  });

  test('an unknown push kind (a newer server) is ignored, not an error', () => {
    assert.deepEqual(parseServerFrame('{"push":"shiny-new-thing"}'), { kind: 'unknown' });
  });

  for (const [name, frame, problem] of [
    ['binary', new Uint8Array([1]), /binary/],
    ['not JSON', '{nope', /not JSON/],
    ['an array', '[1]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['fractional id', '{"id":1.5,"result":1}', /invalid id/],
    ['malformed error', '{"id":1,"error":"nope"}', /malformed error/],
    ['neither id nor push', '{"hello":1}', /neither id nor push/],
    ['pub without offset', '{"push":"pub","channel":"c","pub":{"epoch":"e"}}', /malformed pub/],
    ['pub with offset 0', '{"push":"pub","channel":"c","pub":{"epoch":"e","offset":0}}', /malformed pub/],
    ['join without info', '{"push":"join","channel":"c"}', /malformed join/],
    ['unsubscribed without code', '{"push":"unsubscribed","channel":"c"}', /malformed unsubscribed/],
    ['disconnect without reconnect', '{"push":"disconnect","code":4000}', /malformed disconnect/],
  ] as const) {
    test(`invalid: ${name}`, () => {
      const parsed = parseServerFrame(frame);
      assert.equal(parsed.kind, 'invalid');
      assert.match((parsed as { problem: string }).problem, problem);
    });
  }
});
