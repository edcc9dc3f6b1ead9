import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haveRedis } from '../redis-server.js';
import { ChatUser, checkLog, checkSameOrder } from './chat-client.js';
import { startCluster } from './cluster.js';

/**
 * Three `socketeer serve --redis` processes behind `socketeer proxy
 * --balance round-robin --health /readyz`, one redis-server, chat users over
 * the /chat protocol through the proxy. Round-robin puts consecutive
 * connections on consecutive nodes.
 */

test('one room over three nodes: every message reaches everyone once, in the same order', async (t) => {
  if (!haveRedis(t)) return;
  const cluster = await startCluster(t);
  const users = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'].map(
    (n) => new ChatUser(t, cluster.chatUrl, 'lobby', n),
  );
  for (const u of users) await u.join();
  const perUser = 5;
  // Everyone talks at once: the order is whatever Redis assigned, but the same for all.
  for (let i = 1; i <= perUser; i++) for (const u of users) u.send(`${u.nick} #${i}`);
  const total = users.length * perUser;
  for (const u of users) await u.until(() => u.messages().length >= total, `${total} messages`);
  for (const u of users) {
    checkLog(u);
    assert.equal(u.messages().length, total, `${u.nick}: each message once`);
  }
  assert.equal(checkSameOrder(users), total);
});

test('a user reconnecting to another node with since gets exactly what it missed, while a publisher races', async (t) => {
  if (!haveRedis(t)) return;
  const cluster = await startCluster(t);
  const mover = new ChatUser(t, cluster.chatUrl, 'lobby', 'mover'); // node 1
  const first = new ChatUser(t, cluster.chatUrl, 'lobby', 'first'); // node 2
  const racer = new ChatUser(t, cluster.chatUrl, 'lobby', 'racer'); // node 3
  for (const u of [mover, first, racer]) await u.join();
  for (let i = 1; i <= 10; i++) first.send(`m${i}`);
  await mover.until(() => mover.messages().length === 10, 'first ten');

  const since = mover.position()!;
  mover.ws!.terminate();
  // The racer publishes the next 20 back to back (each once its previous one is back: under the
  // chat's rate limit) while the mover reconnects (round-robin: another node) and resubscribes.
  const racing = (async () => {
    for (let i = 11; i <= 30; i++) {
      racer.send(`m${i}`);
      await racer.until(() => racer.messages().length >= i, `m${i} back`);
    }
  })();
  const welcome = await mover.join(since);
  assert.equal(welcome.recovered, true);
  await racing;
  await mover.until(() => mover.messages().length >= 30, 'thirty after recovery');
  const log = checkLog(mover);
  assert.equal(log.told, 0);
  assert.deepEqual(
    mover.messages().map((m) => m.text),
    Array.from({ length: 30 }, (_, i) => `m${i + 1}`),
    'each message once, in order, across the reconnection',
  );
  checkSameOrder([mover, first, racer]);
});

test('history trimmed past a user position: it is told it could not recover', async (t) => {
  if (!haveRedis(t)) return;
  const cluster = await startCluster(t, { nodes: 2, history: 5 });
  const reader = new ChatUser(t, cluster.chatUrl, 'lobby', 'reader');
  const writer = new ChatUser(t, cluster.chatUrl, 'lobby', 'writer');
  await reader.join();
  await writer.join();
  writer.send('first');
  await reader.until(() => reader.messages().length === 1, 'first');
  const since = reader.position()!;
  reader.ws!.terminate();
  for (let i = 1; i <= 20; i++) writer.send(`later ${i}`);
  await writer.until(() => writer.messages().length === 21, 'twenty more');
  const welcome = await reader.join(since);
  assert.equal(welcome.recovered, false, 'only 5 messages kept: 20 were missed');
  assert.equal(checkLog(reader).told, 1);
  writer.send('after');
  await reader.until(() => reader.messages().at(-1)?.text === 'after', 'live again');
  checkLog(reader);
});
