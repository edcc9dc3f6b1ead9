import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessagingClient as CoreClient } from '../../src/messaging/client/client.js';
import type { WebSocketLike } from '../../src/messaging/client/types.js';
import { MessagingClient } from '../../src/messaging/node-client.js';

/** Never constructed: the options are checked before any connection. */
class UnusedSocket implements WebSocketLike {
  readonly protocol = '';
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  send(): void {}
  close(): void {}
}

describe('messaging client options: every bad one is refused with what is allowed', () => {
  const cases: Array<[object, RegExp]> = [
    [{ timeout: -1 }, /options\.timeout must be a number of milliseconds >= 0; got -1/],
    [
      { connectTimeout: Number.NaN },
      /options\.connectTimeout must be a number of milliseconds >= 0; got NaN/,
    ],
    [{ minReconnectDelay: '5' }, /options\.minReconnectDelay must be a number of milliseconds >= 0; got 5/],
    [{ maxReconnectDelay: -5 }, /options\.maxReconnectDelay must be a number of milliseconds >= 0/],
    [{ pingGrace: Number.POSITIVE_INFINITY }, /options\.pingGrace must be a number of milliseconds >= 0/],
    // Timers of more than 2^31 - 1 ms fire at once: every command would time out at once.
    [{ timeout: 2 ** 31 }, /options\.timeout must be at most 2147483647 ms .*; got 2147483648/],
    [{ connectTimeout: 1e12 }, /options\.connectTimeout must be at most 2147483647 ms/],
    [{ maxReconnectDelay: 2 ** 32 }, /options\.maxReconnectDelay must be at most 2147483647 ms/],
    [{ maxQueued: 1.5 }, /options\.maxQueued must be an integer >= 0; got 1\.5/],
    [{ minReconnectDelay: 100, maxReconnectDelay: 10 }, /0 <= minDelay <= maxDelay; got 100 and 10/],
    // Typos and other libraries' names used to be ignored silently.
    [
      { reconnectDelay: 5 },
      /unknown option "reconnectDelay"; allowed options are: WebSocket, token, getToken/,
    ],
    [{ token: 42 }, /options\.token must be a string; got number/],
    [{ name: {} }, /options\.name must be a string; got object/],
    // A getToken that is not a function used to fail on every connection attempt, forever.
    [{ getToken: 'secret' }, /options\.getToken must be a function; got string/],
    [{ random: 0.5 }, /options\.random must be a function; got number/],
  ];
  for (const [options, message] of cases) {
    test(
      JSON.stringify(options, (_key, value) => (Number.isNaN(value) ? 'NaN' : value)),
      () => {
        assert.throws(
          () => new CoreClient('ws://x', { WebSocket: UnusedSocket, ...options } as never),
          message,
        );
        assert.throws(() => new MessagingClient('ws://x', options as never), message);
      },
    );
  }

  test("a call's own timeout is checked the same way (a huge one timed the call out at once)", async () => {
    const client = new CoreClient('ws://x', { WebSocket: UnusedSocket });
    await assert.rejects(
      client.publish('a', 1, { timeout: 2 ** 31 }),
      (error: Error) => error instanceof RangeError && /at most 2147483647 ms/.test(error.message),
    );
    await assert.rejects(client.history('a', { timeout: -1 }), RangeError);
    await assert.rejects(
      client.rpc('m', 1, 'soon' as never),
      /must be a number of milliseconds >= 0; got soon/,
    );
  });

  test('options that are not an object', () => {
    assert.throws(() => new CoreClient('ws://x', null as never), /options must be an object; got null/);
  });

  test('every documented option is accepted, and the Node client takes "socket" too', () => {
    const options = {
      WebSocket: UnusedSocket,
      token: 't',
      getToken: () => 't',
      data: { any: 'thing' },
      name: 'app',
      timeout: 1,
      connectTimeout: 1,
      minReconnectDelay: 0,
      maxReconnectDelay: 0,
      maxQueued: 0,
      pingGrace: 0,
      random: Math.random,
    };
    assert.equal(new CoreClient('ws://x', options).state, 'disconnected');
    assert.equal(new MessagingClient('ws://x', { socket: { heartbeatInterval: 0 } }).state, 'disconnected');
  });
});
