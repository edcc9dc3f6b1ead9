import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { MessagingClient } from '../../src/messaging/client/client.js';
import { type ScriptedCommand, scriptedSocket } from './scripted-socket.js';

/**
 * A scripted server in a fake WebSocket: it accepts `connect`, and answers
 * each `subscribe` with what `subscribeReply` says (the first one refused
 * with a temporary error unless told otherwise). Every command is logged.
 */
function scriptedServer(subscribeReply: (count: number) => 'refuse' | 'accept') {
  const commands: ScriptedCommand[] = [];
  let subscribes = 0;
  const WebSocket = scriptedSocket((command) => {
    commands.push(command);
    if (command.cmd === 'connect') {
      return { id: command.id, result: { client: 'c1', user: 'u', version: 1, subs: {} } };
    }
    if (command.cmd === 'subscribe') {
      return subscribeReply(++subscribes) === 'refuse'
        ? { id: command.id, error: { code: 'unavailable', message: 'busy', temporary: true } }
        : { id: command.id, result: { epoch: 'e1', offset: 0, recovered: false, presence: false } };
    }
    return { id: command.id, result: {} };
  });
  const sent = () => commands.filter((c) => c.cmd !== 'connect').map((c) => `${c.cmd} ${c.params.channel}`);
  return { WebSocket, sent };
}

/** Options that make the first subscribe retry wait exactly 500 ms (full jitter at 0.5 of 1000). */
const RETRY_IN_500_MS = { minReconnectDelay: 1000, maxReconnectDelay: 1000, random: () => 0.5 };

describe('subscribe retries after a temporary refusal', () => {
  afterEach(() => mock.timers.reset());

  test('the retry waits its backoff delay, then unsubscribes and subscribes again from the position', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const server = scriptedServer((count) => (count === 1 ? 'refuse' : 'accept'));
    const client = new MessagingClient('ws://test', { WebSocket: server.WebSocket, ...RETRY_IN_500_MS });
    const errors: string[] = [];
    client.on('error', (event) => errors.push(`${event.channel}: ${event.error.message}`));
    client.connect();
    await client.ready();
    const sub = client.subscribe('a');
    const refused = new Promise<void>((resolve) => client.once('error', () => resolve()));
    await refused;
    assert.deepEqual(errors, ['a: subscribe to "a": unavailable: busy']);
    mock.timers.tick(499);
    assert.deepEqual(server.sent(), ['subscribe a']);
    mock.timers.tick(1);
    assert.deepEqual(server.sent(), ['subscribe a', 'unsubscribe a', 'subscribe a']);
    await sub.ready();
    client.close();
  });

  test('close() while a retry waits leaves no timer behind (the process can exit)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const server = scriptedServer(() => 'refuse');
    // A delay of minutes: were the retry timer left armed, it would still be there after close().
    const client = new MessagingClient('ws://test', {
      WebSocket: server.WebSocket,
      minReconnectDelay: 600_000,
      maxReconnectDelay: 600_000,
      random: () => 0.5,
    });
    const refused = new Promise<void>((resolve) => client.once('error', () => resolve()));
    client.connect();
    await client.ready();
    client.subscribe('a');
    await refused;
    assert.equal(timers(), before + 1, 'the retry waits on one timer');
    client.close();
    assert.equal(timers(), before, 'close() cleared it');
  });

  test('unsubscribe() and subscribe() while a retry waits: the old retry does not resubscribe again', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const server = scriptedServer((count) => (count === 1 ? 'refuse' : 'accept'));
    const client = new MessagingClient('ws://test', { WebSocket: server.WebSocket, ...RETRY_IN_500_MS });
    const refused = new Promise<void>((resolve) => client.once('error', () => resolve()));
    client.connect();
    await client.ready();
    const sub = client.subscribe('a');
    await refused;
    sub.unsubscribe();
    sub.subscribe();
    await sub.ready();
    const reasons: string[] = [];
    sub.on('subscribing', (event) => reasons.push(event.reason));
    mock.timers.tick(10_000);
    assert.deepEqual(server.sent(), ['subscribe a', 'unsubscribe a', 'subscribe a']);
    assert.deepEqual(reasons, []);
    assert.equal(sub.state, 'subscribed');
    client.close();
  });
});

describe('the connect batch', () => {
  test('a channel the connect reply leaves out is subscribed on its own, not left pending', async () => {
    const commands: ScriptedCommand[] = [];
    const subscribed = { epoch: 'e1', offset: 0, recovered: false, presence: false };
    const WebSocket = scriptedSocket((command) => {
      commands.push(command);
      if (command.cmd === 'connect') {
        return { id: command.id, result: { client: 'c1', user: 'u', version: 1, subs: { a: subscribed } } };
      }
      if (command.cmd === 'subscribe') return { id: command.id, result: subscribed };
      return { id: command.id, result: {} };
    });
    const client = new MessagingClient('ws://test', { WebSocket });
    const a = client.subscribe('a');
    const b = client.subscribe('b');
    client.connect();
    await Promise.all([a.ready(), b.ready()]);
    const connect = commands.find((c) => c.cmd === 'connect')!;
    assert.deepEqual(Object.keys((connect.params as { subs: object }).subs), ['a', 'b']);
    assert.deepEqual(
      commands.filter((c) => c.cmd === 'subscribe').map((c) => c.params.channel),
      ['b'],
    );
    client.close();
  });
});
