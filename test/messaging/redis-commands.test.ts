import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineUnavailableError } from '../../src/messaging/engine.js';
import { CommandRunner } from '../../src/messaging/redis/commands.js';
import type { RedisConnection } from '../../src/messaging/redis/connection.js';

/** A connection whose replies the test hands out one by one, in any order. */
function fakeConnection() {
  const calls: { args: string[]; answer: (value: unknown) => void }[] = [];
  const connection = {
    commandsReady: () => true,
    call(_key: string, args: string[]) {
      return new Promise((answer) => calls.push({ args, answer }));
    },
  } as unknown as RedisConnection;
  return { connection, calls };
}

/** The runner's timer does not keep the process alive (a real connection's socket does): this does. */
function keepAlive(t: { after(fn: () => void): void }) {
  const timer = setInterval(() => {}, 1000);
  t.after(() => clearInterval(timer));
}

const rejectsWithTimeout = (promise: Promise<unknown>) =>
  assert.rejects(promise, (err) => {
    assert.ok(err instanceof EngineUnavailableError, String(err));
    assert.match(err.message, /did not answer within 30 ms \(timeout\)/);
    return true;
  });

test('CommandRunner: replies in any order reach their callers; an unanswered call times out alone', async (t) => {
  keepAlive(t);
  const { connection, calls } = fakeConnection();
  const runner = new CommandRunner(() => connection, 100, 30);
  const first = runner.call('k', ['GET', 'a']);
  const stuck = runner.call('k', ['GET', 'b']);
  const third = runner.call('k', ['GET', 'c']);
  calls[2]!.answer('C');
  calls[0]!.answer('A');
  assert.equal(await first, 'A');
  assert.equal(await third, 'C');
  await rejectsWithTimeout(stuck);
  // The one timer is armed again for later calls: a new unanswered call times out too.
  const later = runner.call('k', ['GET', 'd']);
  const answered = runner.call('k', ['GET', 'e']);
  calls[4]!.answer('E');
  assert.equal(await answered, 'E');
  await rejectsWithTimeout(later);
  // A reply after the timeout changes nothing for the caller (it was told once).
  calls[1]!.answer('late');
  calls[3]!.answer('late');
});

test('CommandRunner: a timed-out call counts against maxPending until Redis answers it', async (t) => {
  keepAlive(t);
  const { connection, calls } = fakeConnection();
  const runner = new CommandRunner(() => connection, 2, 30);
  const a = runner.call('k', ['GET', 'a']);
  const b = runner.call('k', ['GET', 'b']);
  await assert.rejects(runner.call('k', ['GET', 'c']), /more than 2 Redis commands in flight/);
  await rejectsWithTimeout(a);
  await rejectsWithTimeout(b);
  await assert.rejects(runner.call('k', ['GET', 'c']), /more than 2 Redis commands in flight/);
  calls[0]!.answer('A');
  // Settled on the next microtask: then there is room for one more.
  await Promise.resolve();
  const d = runner.call('k', ['GET', 'd']);
  calls[2]!.answer('D');
  assert.equal(await d, 'D');
  assert.equal(calls.length, 3, 'refused calls never reached the connection');
});

test('CommandRunner: many calls answered in order leave nothing behind', async () => {
  const { connection, calls } = fakeConnection();
  const runner = new CommandRunner(() => connection, 100_000, 60_000);
  const replies: Promise<unknown>[] = [];
  for (let i = 0; i < 5000; i++) replies.push(runner.call('k', ['GET', String(i)]));
  for (let i = 0; i < 5000; i++) calls[i]!.answer(i);
  const values = await Promise.all(replies);
  assert.deepEqual(values.slice(0, 3), [0, 1, 2]);
  assert.equal(values[4999], 4999);
  // All answered: the queue is empty again (its head index back at 0).
  assert.equal(runner.waitingCalls(), 0);
});
