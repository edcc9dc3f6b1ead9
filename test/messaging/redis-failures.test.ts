import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { EngineUnavailableError } from '../../src/messaging/engine.js';
import { channelKeys } from '../../src/messaging/redis/keys.js';
import { haveRedis, startRedis } from '../redis-server.js';
import { eventually, history, killFeedsAndPublish, startEngine } from './redis-helpers.js';

const last = <T>(list: readonly T[]) => list[list.length - 1];

test('Redis restarts with its memory gone: the feed resyncs and the epoch changes (never a silent gap)', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('room');
  let before = await engine.publish({ channel: 'room', data: 1, history });
  before = await engine.publish({ channel: 'room', data: 2, history });
  await redis.restart();
  await handler.until(() => handler.resyncs.some((r) => r.includes('room')), 'resync after the restart');
  // What a hub does on resync: read from its last position. The epoch tells it history is gone.
  const page = await engine.history({ channel: 'room', since: before, limit: 100 });
  assert.notEqual(page.top.epoch, before.epoch);
  assert.equal(page.top.offset, 0);
  const after = await engine.publish({ channel: 'room', data: 3, history });
  assert.deepEqual([after.epoch, after.offset], [page.top.epoch, 1]);
  await handler.until(() => handler.pubsOf('room').length === 3, 'live again');
  assert.equal(last(handler.pubsOf('room'))!.epoch, after.epoch);
});

test('pub/sub connection killed: resubscribe, then resync closes the gap', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('room');
  await engine.subscribe('other');
  const first = await engine.publish({ channel: 'room', data: 1, history });
  await handler.until(() => handler.pubsOf('room').length === 1, 'first live');
  // Kill the subscriber and publish in one MULTI: Redis drops what it would have sent to
  // the killed connection, so publication 2 is certainly missing from the live feed.
  await killFeedsAndPublish(redis.url, 'room', 2);
  await handler.until(() => handler.resyncs.length === 1, 'resync');
  assert.deepEqual([...handler.resyncs[0]!].sort(), ['other', 'room']);
  assert.deepEqual(handler.readinessChanges.slice(-2), [false, true], 'not ready while the feed was down');
  assert.deepEqual(
    handler.pubsOf('room').map((p) => p.offset),
    [1],
    'the live feed missed publication 2',
  );
  const catchUp = await engine.history({ channel: 'room', since: first, limit: 100 });
  assert.deepEqual(
    catchUp.publications.map((p) => [p.offset, p.data]),
    [[2, 2]],
  );
  assert.equal(catchUp.top.epoch, first.epoch);
  await engine.publish({ channel: 'room', data: 3, history });
  await handler.until(() => handler.pubsOf('room').length === 2, 'live after the resubscribe');
  assert.equal(last(handler.pubsOf('room'))!.offset, 3);
});

test('Redis down: calls fail fast with EngineUnavailableError, not ready; back by itself when Redis returns', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('room');
  await engine.publish({ channel: 'room', data: 'before', history });
  await redis.stop();
  await handler.until(() => last(handler.readinessChanges) === false, 'readiness(false)');
  assert.equal(engine.ready(), false);
  // Nothing is queued: every call settles while Redis is still down (a queue would hang here).
  const attempts = await Promise.allSettled(
    Array.from({ length: 1000 }, (_, n) => engine.publish({ channel: 'room', data: n, history })),
  );
  assert.ok(attempts.every((a) => a.status === 'rejected' && a.reason instanceof EngineUnavailableError));
  await assert.rejects(engine.history({ channel: 'room', limit: 1 }), EngineUnavailableError);
  await assert.rejects(engine.presence('room'), EngineUnavailableError);
  await assert.rejects(engine.subscribe('new'), EngineUnavailableError);
  await redis.restart();
  await handler.until(() => last(handler.readinessChanges) === true && engine.ready(), 'readiness(true)');
  await handler.until(
    () => handler.resyncs.some((r) => r.includes('room')),
    'resync of the subscribed channel',
  );
  const again = await engine.publish({ channel: 'room', data: 'after', history });
  assert.equal(again.offset, 1, 'memory was lost: a new epoch starts at 1');
  await handler.until(() => handler.pubsOf('room').length === 2, 'live after recovery');
});

test('a SIGKILLed node: its presence entries disappear with leave events within the lease', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('lobby');
  const script = new URL('./redis-presence-node.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, redis.url, 'lobby', 'doomed-1', '1500'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(chunk.toString(), 'present\n');
  await handler.until(() => handler.joins.length === 1, 'join of the other node');
  assert.deepEqual(
    (await engine.presence('lobby')).map((m) => m.client),
    ['doomed-1'],
  );
  child.kill('SIGKILL');
  await once(child, 'exit');
  // The lease is 1.5 s and this node sweeps every 100 ms; the bound is the 15 s node lease.
  await handler.until(() => handler.leaves.length === 1, 'leave of the dead node', 15_000);
  assert.deepEqual(handler.leaves[0], { channel: 'lobby', info: { user: 'doomed', client: 'doomed-1' } });
  assert.deepEqual(await engine.presenceStats('lobby'), { clients: 0, users: 0 });
});

test('a replica promoted after writes it never received: the epoch rotates, offsets are not reused silently', async (t) => {
  if (!haveRedis(t)) return;
  const master = await startRedis(t);
  const replica = await startRedis(t);
  await replica.cli('REPLICAOF', '127.0.0.1', String(master.port));
  const old = await startEngine(t, { url: master.url });
  let acked = await old.engine.publish({ channel: 'room', data: 1, history });
  acked = await old.engine.publish({ channel: 'room', data: 2, history });
  // Replicated (WAIT would only count this redis-cli connection's own writes: poll the replica),
  // then the replica is promoted while the old master goes on accepting writes (split brain,
  // or a failover before replication caught up).
  const meta = channelKeys('socketeer:', 'room').meta;
  await eventually(async () => (await replica.cli('HGET', meta, 'o')) === '2', 'replicated');
  await replica.cli('REPLICAOF', 'NO', 'ONE');
  const lost = await old.engine.publish({ channel: 'room', data: 'lost 3', history });
  assert.deepEqual([lost.epoch, lost.offset], [acked.epoch, 3]);
  await master.stop('SIGKILL');

  const promoted = await startEngine(t, { url: replica.url });
  await promoted.engine.subscribe('room');
  const next = await promoted.engine.publish({ channel: 'room', data: 'new 3', history });
  assert.notEqual(next.epoch, acked.epoch, 'offset 3 is issued again, but never under the old epoch');
  // A client holding {old epoch, 3} is told its position is not current (the hub says recovered: false).
  const page = await promoted.engine.history({ channel: 'room', since: lost, limit: 10 });
  assert.equal(page.top.epoch, next.epoch);
  assert.deepEqual(
    page.publications.map((p) => [p.offset, p.data]),
    [
      [1, 1],
      [2, 2],
      [3, 'new 3'],
    ],
  );
});

test('a hung Redis (CLIENT PAUSE): calls time out with EngineUnavailableError instead of waiting', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine } = await startEngine(t, { url: redis.url, commandTimeoutMs: 300 });
  const bounded = await startEngine(t, { url: redis.url, commandTimeoutMs: 60_000, maxPendingCommands: 3 });
  const before = await engine.publish({ channel: 'room', data: 'before', history });
  await redis.cli('CLIENT', 'PAUSE', '3000', 'ALL');
  await assert.rejects(
    engine.publish({ channel: 'room', data: 'paused', history, idempotencyKey: 'p1' }),
    (err) => {
      assert.ok(err instanceof EngineUnavailableError, String(err));
      assert.match(err.message, /timeout|timed out/i);
      return true;
    },
  );
  // Nothing piles up while Redis hangs: past maxPendingCommands (default 10000; here the timed-out
  // publish still counts until Redis answers it) calls are refused at once.
  const stuck = [1, 2, 3].map((n) => bounded.engine.publish({ channel: 'b', data: n, history }));
  await assert.rejects(
    bounded.engine.publish({ channel: 'b', data: 4, history }),
    /more than 3 Redis commands in flight/,
  );
  await redis.cli('CLIENT', 'UNPAUSE');
  assert.deepEqual(
    (await Promise.all(stuck)).map((r) => r.offset),
    [1, 2, 3],
  );
  // The timed-out publish may still have run once Redis woke up: a retry with its key is not stored twice.
  const retried = await engine.publish({ channel: 'room', data: 'paused', history, idempotencyKey: 'p1' });
  assert.equal(retried.offset, before.offset + 1);
  const page = await engine.history({ channel: 'room', limit: 10 });
  assert.deepEqual(
    page.publications.map((p) => p.data),
    ['before', 'paused'],
  );
});
