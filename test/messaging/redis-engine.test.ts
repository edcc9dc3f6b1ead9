import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineUnavailableError, type PublishOutcome } from '../../src/messaging/engine.js';
import { RedisEngine, redisOptionsFromUrl } from '../../src/messaging/redis/index.js';
import { channelKeys } from '../../src/messaging/redis/keys.js';
import { haveRedis, startRedis } from '../redis-server.js';
import { alice, eventually, history, RecordingHandler, startEngine } from './redis-helpers.js';

test('publish: offsets 1, 2, 3 in one epoch, delivered live in order with data, publisher and time', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('news');
  const results: PublishOutcome[] = [];
  for (const n of [1, 2, 3]) {
    results.push(
      await engine.publish({ channel: 'news', data: { n, text: 'a\nb "q"' }, info: alice(), history }),
    );
  }
  assert.deepEqual(
    results.map((r) => [r.offset, r.duplicate]),
    [
      [1, false],
      [2, false],
      [3, false],
    ],
  );
  assert.ok(results.every((r) => r.epoch === results[0]!.epoch && r.epoch.length > 0));
  await handler.until(() => handler.pubsOf('news').length === 3, '3 publications');
  const pubs = handler.pubsOf('news');
  assert.deepEqual(
    pubs.map((p) => p.offset),
    [1, 2, 3],
  );
  assert.deepEqual(pubs[2]!.data, { n: 3, text: 'a\nb "q"' });
  assert.deepEqual(pubs[0]!.info, alice());
  assert.equal(pubs[0]!.epoch, results[0]!.epoch);
  assert.ok(Math.abs(pubs[0]!.ts - Date.now()) < 60_000, 'ts is server time in ms');
});

test('history: forward, reverse, since, limit 0 = top only, old epoch = from the oldest', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine } = await startEngine(t, { url: redis.url });
  let epoch = '';
  for (let n = 1; n <= 5; n++) ({ epoch } = await engine.publish({ channel: 'h', data: n, history }));
  const all = await engine.history({ channel: 'h', limit: 10 });
  assert.deepEqual(
    all.publications.map((p) => p.data),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(all.top, { epoch, offset: 5 });
  const after2 = await engine.history({ channel: 'h', since: { epoch, offset: 2 }, limit: 2 });
  assert.deepEqual(
    after2.publications.map((p) => p.offset),
    [3, 4],
  );
  const newest = await engine.history({ channel: 'h', limit: 2, reverse: true });
  assert.deepEqual(
    newest.publications.map((p) => p.offset),
    [5, 4],
  );
  const reverseSince = await engine.history({
    channel: 'h',
    since: { epoch, offset: 3 },
    limit: 10,
    reverse: true,
  });
  assert.deepEqual(
    reverseSince.publications.map((p) => p.offset),
    [5, 4],
  );
  const topOnly = await engine.history({ channel: 'h', limit: 0 });
  assert.deepEqual(topOnly, { publications: [], top: { epoch, offset: 5 } });
  const stale = await engine.history({ channel: 'h', since: { epoch: 'gone', offset: 4 }, limit: 2 });
  assert.deepEqual(
    stale.publications.map((p) => p.offset),
    [1, 2],
  );
  // A channel nobody published to has an epoch that its first publish keeps.
  const empty = await engine.history({ channel: 'fresh', limit: 10 });
  assert.equal(empty.top.offset, 0);
  const first = await engine.publish({ channel: 'fresh', data: 'x', history });
  assert.deepEqual({ epoch: first.epoch, offset: first.offset }, { epoch: empty.top.epoch, offset: 1 });
});

test('history is bounded by size (exactly) and by age; offsets keep advancing without history', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine } = await startEngine(t, { url: redis.url });
  for (let n = 1; n <= 10; n++)
    await engine.publish({ channel: 'small', data: n, history: { size: 3, ttlMs: 60_000 } });
  const page = await engine.history({ channel: 'small', limit: 100 });
  assert.deepEqual(
    page.publications.map((p) => p.offset),
    [8, 9, 10],
  );
  for (let n = 1; n <= 3; n++)
    await engine.publish({ channel: 'none', data: n, history: { size: 0, ttlMs: 60_000 } });
  const none = await engine.history({ channel: 'none', limit: 100 });
  assert.deepEqual([none.publications.length, none.top.offset], [0, 3]);

  await engine.publish({ channel: 'aging', data: 'old', history: { size: 10, ttlMs: 300 } });
  const { epoch } = await engine.publish({
    channel: 'aging',
    data: 'old2',
    history: { size: 10, ttlMs: 300 },
  });
  // Age has no event to wait on: poll the history (bounded) until the old entries are dropped.
  await eventually(async () => {
    const p = await engine.history({ channel: 'aging', since: { epoch, offset: 0 }, limit: 10 });
    return p.publications.length === 0 || p.top.epoch !== epoch;
  }, 'old publications dropped by age');
  const pttl = Number(await redis.cli('PTTL', channelKeys('socketeer:', 'aging').stream));
  // Expiry is set to ttl + ttl/8 when less than ttl is left (not on every publish).
  // (-2: already expired and gone.)
  assert.ok(pttl !== -1 && pttl <= 337, `the stream expires with the channel ttl (PTTL ${pttl})`);
});

test('a channel outlives its newest publication by the ttl; the expiry is refreshed only when less than that is left', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine } = await startEngine(t, { url: redis.url });
  const history = { size: 10, ttlMs: 60_000 };
  const keys = channelKeys('socketeer:', 'lease');
  const pttl = async (key: string) => Number(await redis.cli('PTTL', key));
  await engine.publish({ channel: 'lease', data: 1, history });
  for (const key of [keys.meta, keys.stream]) {
    const left = await pttl(key);
    assert.ok(left > 60_000 && left <= 67_500, `a new channel's ${key} lives ttl + ttl/8 (PTTL ${left})`);
  }
  // More than the ttl left: a publish leaves the expiry alone.
  await redis.cli('PEXPIRE', keys.meta, '65000');
  await redis.cli('PEXPIRE', keys.stream, '65000');
  await engine.publish({ channel: 'lease', data: 2, history });
  assert.ok((await pttl(keys.meta)) <= 65_000, 'not refreshed while more than the ttl is left');
  // Less than the ttl left (time passed): the publish extends both keys again.
  await redis.cli('PEXPIRE', keys.meta, '1000');
  await redis.cli('PEXPIRE', keys.stream, '1000');
  await engine.publish({ channel: 'lease', data: 3, history });
  for (const key of [keys.meta, keys.stream]) {
    const left = await pttl(key);
    assert.ok(left > 60_000, `${key} outlives the newest publication by the ttl again (PTTL ${left})`);
  }
  // A ttl of 0 keeps the channel for good.
  await engine.publish({ channel: 'lease', data: 4, history: { size: 10, ttlMs: 0 } });
  assert.deepEqual([await pttl(keys.meta), await pttl(keys.stream)], [-1, -1]);
  const page = await engine.history({ channel: 'lease', limit: 10 });
  assert.deepEqual(
    page.publications.map((p) => p.data),
    [1, 2, 3, 4],
  );
});

test('publishes keep dropping entries older than the ttl (the trim check is skipped only while nothing can be that old)', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine } = await startEngine(t, { url: redis.url });
  const ttlMs = 300;
  const stream = channelKeys('socketeer:', 'steady').stream;
  // The whole stream in one read: 7 lines per entry (id, 't', ts, 'i', info, 'd', data).
  const timestamps = async () =>
    (await redis.cli('XRANGE', stream, '-', '+'))
      .split('\n')
      .filter((_, line) => line % 7 === 2)
      .map(Number);
  // Publish steadily for several ttls; then the stream as the last publish left it. Nothing
  // trims between publishes; only a starved test process (more than ttl with no publish) lets
  // the whole channel expire: then the burst is repeated (bounded).
  for (let attempt = 1; ; attempt++) {
    const until = Date.now() + ttlMs * 4;
    let published = 0;
    while (Date.now() < until) {
      await engine.publish({ channel: 'steady', data: published++, history: { size: 10_000, ttlMs } });
      await new Promise((r) => setTimeout(r, 10)); // a publishing cadence, not a wait for an event
    }
    const ts = await timestamps();
    if (ts.length === 0 && attempt < 5) continue;
    // After every publish nothing older than ttl before it remains (no read has trimmed anything).
    assert.ok(ts.length > 0, 'the stream outlived its last publish');
    assert.ok(ts.at(-1)! - ts[0]! <= ttlMs, `oldest entry ${ts.at(-1)! - ts[0]!} ms older than the newest`);
    assert.ok(ts.length < published, 'old entries were trimmed');
    return;
  }
});

test('a history stream lost while its channel lives on (e.g. evicted): the epoch rotates, on publish and on read', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine } = await startEngine(t, { url: redis.url });
  await engine.publish({ channel: 'kept', data: 1, history });
  const before = await engine.publish({ channel: 'kept', data: 2, history });
  await redis.cli('DEL', channelKeys('socketeer:', 'kept').stream);
  const next = await engine.publish({ channel: 'kept', data: 3, history });
  assert.notEqual(next.epoch, before.epoch, 'offsets 1 and 2 are gone: not the same epoch any more');
  assert.equal(next.offset, 3, 'offsets are never reused');
  const page = await engine.history({ channel: 'kept', since: before, limit: 10 });
  assert.equal(page.top.epoch, next.epoch);
  assert.deepEqual(
    page.publications.map((p) => [p.offset, p.data]),
    [[3, 3]],
  );
  // The read path sees it too.
  await redis.cli('DEL', channelKeys('socketeer:', 'kept').stream);
  const read = await engine.history({ channel: 'kept', since: next, limit: 10 });
  assert.notEqual(read.top.epoch, next.epoch);
  // Without history there is no stream to lose: the epoch stays.
  const none = { size: 0, ttlMs: 60_000 };
  const a = await engine.publish({ channel: 'bare', data: 1, history: none });
  const b = await engine.publish({ channel: 'bare', data: 2, history: none });
  assert.deepEqual([b.epoch, b.offset], [a.epoch, 2]);
});

test('publishes of one event-loop turn share a call: each keeps its order, and one that fails fails alone', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('a');
  await engine.subscribe('b');
  // A key of the wrong type makes this channel's publishes fail inside Redis.
  await redis.cli('SET', channelKeys('socketeer:', 'broken').meta, 'not a hash');
  await redis.cli('CONFIG', 'RESETSTAT');
  const results = await Promise.allSettled(
    Array.from({ length: 150 }, (_, i) =>
      engine.publish({ channel: i % 3 === 2 ? 'broken' : i % 3 === 0 ? 'a' : 'b', data: i, history }),
    ),
  );
  const calls = Number(/cmdstat_fcall:calls=(\d+)/.exec(await redis.cli('INFO', 'commandstats'))?.[1]);
  assert.ok(calls < 150, `150 publishes in ${calls} calls`);
  for (const [i, r] of results.entries()) {
    if (i % 3 === 2) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /WRONGTYPE/);
    } else {
      assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
      assert.equal((r as PromiseFulfilledResult<{ offset: number }>).value.offset, Math.floor(i / 3) + 1);
    }
  }
  await handler.until(() => handler.publications.length === 100, 'every good publication live');
  assert.deepEqual(
    handler.pubsOf('a').map((p) => p.data),
    Array.from({ length: 50 }, (_, k) => 3 * k),
  );
  assert.deepEqual(
    handler.pubsOf('b').map((p) => p.offset),
    Array.from({ length: 50 }, (_, k) => k + 1),
  );
});

test('idempotent publish: the same key returns the first offset and is delivered once', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  await engine.subscribe('orders');
  const first = await engine.publish({ channel: 'orders', data: 'buy', idempotencyKey: 'k1', history });
  const again = await engine.publish({ channel: 'orders', data: 'buy', idempotencyKey: 'k1', history });
  const other = await engine.publish({ channel: 'orders', data: 'sell', idempotencyKey: 'k2', history });
  assert.deepEqual(again, { epoch: first.epoch, offset: first.offset, duplicate: true });
  assert.equal(other.offset, 2);
  await handler.until(() => handler.pubsOf('orders').length >= 2, 'two deliveries');
  const page = await engine.history({ channel: 'orders', limit: 10 });
  assert.deepEqual(
    page.publications.map((p) => p.data),
    ['buy', 'sell'],
  );
  assert.deepEqual(
    handler.pubsOf('orders').map((p) => p.data),
    ['buy', 'sell'],
  );
  const ttl = Number(await redis.cli('PTTL', channelKeys('socketeer:', 'orders').idempotency('k1')));
  assert.ok(ttl > 0, 'idempotency results expire');
});

for (const sharded of [false, true]) {
  test(`two nodes: only channels with local subscribers reach a node (${sharded ? 'SSUBSCRIBE' : 'SUBSCRIBE'})`, async (t) => {
    if (!haveRedis(t)) return;
    const redis = await startRedis(t);
    const a = await startEngine(t, { url: redis.url, sharded });
    const b = await startEngine(t, { url: redis.url, sharded });
    await a.engine.subscribe('room:1');
    await b.engine.subscribe('room:2');
    const kind = sharded ? 'SHARDNUMSUB' : 'NUMSUB';
    const counts = await redis.cli(
      'PUBSUB',
      kind,
      channelKeys('socketeer:', 'room:1').pubsub,
      channelKeys('socketeer:', 'room:2').pubsub,
      channelKeys('socketeer:', 'room:3').pubsub,
    );
    assert.deepEqual(
      counts.split('\n').filter((_, i) => i % 2 === 1),
      ['1', '1', '0'],
    );
    await b.engine.publish({ channel: 'room:1', data: 'to a', history });
    await b.engine.publish({ channel: 'room:3', data: 'nobody', history });
    await a.engine.publish({ channel: 'room:2', data: 'to b', history });
    await a.handler.until(() => a.handler.publications.length === 1, 'a gets room:1');
    await b.handler.until(() => b.handler.publications.length === 1, 'b gets room:2');
    await a.engine.publishJoin('room:1', alice());
    await a.handler.until(() => a.handler.joins.length === 1, 'join delivered');
    // Unsubscribed: nothing more arrives (checked after a later publication on a still-subscribed channel).
    await a.engine.unsubscribe('room:1');
    await a.engine.subscribe('room:9');
    await b.engine.publish({ channel: 'room:1', data: 'after', history });
    await b.engine.publish({ channel: 'room:9', data: 'marker', history });
    await a.handler.until(() => a.handler.pubsOf('room:9').length === 1, 'marker');
    assert.deepEqual(
      a.handler.pubsOf('room:1').map((p) => p.data),
      ['to a'],
    );
    assert.equal(b.handler.publications.length, 1);
  });
}

test('presence: members, unique users, removal, join/leave fan-out', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const a = await startEngine(t, { url: redis.url });
  const b = await startEngine(t, { url: redis.url });
  await b.engine.subscribe('lobby');
  await a.engine.addPresence('lobby', alice('tab1'), 30_000);
  await a.engine.addPresence('lobby', alice('tab2'), 30_000);
  await a.engine.addPresence('lobby', { user: 'bob\nx', client: 'b1' }, 30_000);
  await a.engine.publishJoin('lobby', alice('tab1'));
  const members = await b.engine.presence('lobby');
  assert.deepEqual(members.map((m) => m.client).sort(), ['b1', 'tab1', 'tab2']);
  assert.deepEqual(
    members.find((m) => m.client === 'tab1'),
    alice('tab1'),
  );
  assert.deepEqual(await b.engine.presenceStats('lobby'), { clients: 3, users: 2 });
  await a.engine.removePresence('lobby', 'tab2');
  assert.deepEqual(await b.engine.presenceStats('lobby'), { clients: 2, users: 2 });
  await a.engine.publishLeave('lobby', alice('tab2'));
  await b.handler.until(
    () => b.handler.joins.length === 1 && b.handler.leaves.length === 1,
    'join and leave',
  );
  // close() removes what the node added and tells the others.
  await a.engine.close();
  assert.deepEqual(await b.engine.presenceStats('lobby'), { clients: 0, users: 0 });
  await b.handler.until(() => b.handler.leaves.length === 3, 'leaves of the closed node');
});

test('presence lease: an entry nobody refreshes disappears with a leave event', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const watcher = await startEngine(t, { url: redis.url });
  const owner = await startEngine(t, { url: redis.url });
  await watcher.engine.subscribe('room');
  await owner.engine.addPresence('room', alice(), 300);
  assert.equal((await watcher.engine.presence('room')).length, 1);
  await watcher.handler.until(() => watcher.handler.leaves.length === 1, 'leave after the lease');
  assert.deepEqual(watcher.handler.leaves[0], { channel: 'room', info: alice() });
  assert.deepEqual(await watcher.engine.presence('room'), []);
});

test('channel names with braces, percent signs and the empty name keep their keys in one hash slot', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const { engine, handler } = await startEngine(t, { url: redis.url });
  const names = ['a}b', '}', '{x}', '%7D', '', 'ü 🎉'];
  for (const name of names) {
    const keys = channelKeys('socketeer:', name);
    const slots = await Promise.all(
      [keys.meta, keys.stream, keys.presence, keys.presenceLeases, keys.pubsub, keys.idempotency('k')].map(
        (k) => redis.cli('CLUSTER', 'KEYSLOT', k),
      ),
    );
    assert.equal(new Set(slots).size, 1, `one slot for ${JSON.stringify(name)}: ${slots}`);
    await engine.subscribe(name);
    await engine.publish({ channel: name, data: name, history });
  }
  await handler.until(() => handler.publications.length === names.length, 'all delivered');
  for (const name of names)
    assert.deepEqual(
      handler.pubsOf(name).map((p) => p.data),
      [name],
    );
  assert.equal(
    new Set(names.map((n) => channelKeys('socketeer:', n).meta)).size,
    names.length,
    'distinct keys',
  );
});

test('bad options are refused with what is allowed; calls before start or after close are unavailable', async (t) => {
  assert.throws(() => new RedisEngine({}), /exactly one of `url`/);
  assert.throws(() => new RedisEngine({ url: 'http://x' }), /redis:\/\//);
  assert.throws(() => new RedisEngine({ url: 'redis://x', commandTimeoutMs: -1 }), /positive integer/);
  assert.throws(() => new RedisEngine({ url: 'redis://x', prefix: 'a{' }), /without \{ or \}/);
  assert.deepEqual(redisOptionsFromUrl('redis+cluster://u:p@h1:7000,h2:7001/0'), {
    cluster: ['redis://u:p@h1:7000/0', 'redis://u:p@h2:7001/0'],
  });
  assert.deepEqual(redisOptionsFromUrl('redis://h:1'), { url: 'redis://h:1' });
  const idle = new RedisEngine({ url: 'redis://127.0.0.1:1' });
  await assert.rejects(idle.publish({ channel: 'c', data: 1, history }), EngineUnavailableError);
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const engine = new RedisEngine({ url: redis.url });
  const handler = new RecordingHandler();
  await engine.start(handler);
  assert.equal(engine.ready(), true);
  assert.deepEqual(handler.readinessChanges, [true]);
  await engine.close();
  assert.equal(engine.ready(), false);
  await assert.rejects(engine.history({ channel: 'c', limit: 1 }), EngineUnavailableError);
  await assert.rejects(engine.subscribe('c'), EngineUnavailableError);
});
