import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Hub } from '../../src/messaging/index.js';
import { RedisEngine } from '../../src/messaging/redis/index.js';
import { haveRedis, startRedis } from '../redis-server.js';
import { RawClient } from './client.js';
import { killFeedsAndPublish } from './redis-helpers.js';

/**
 * Hubs on the Redis engine: two hubs on one Redis are two nodes of one
 * application. What their clients see when Redis fails.
 */

async function startNode(t: TestContext, url: string): Promise<{ hub: Hub; url: string }> {
  const hub = new Hub({
    port: 0,
    host: '127.0.0.1',
    engine: new RedisEngine({ url, reconnectMaxDelayMs: 200, presenceSweepMs: 100 }),
    namespaces: { chat: { clientPublish: true, presence: true, joinLeave: true, historySize: 100 } },
  });
  await hub.listening();
  t.after(() => hub.close());
  return { hub, url: `ws://127.0.0.1:${(hub.address() as AddressInfo).port}/` };
}

async function client(t: TestContext, url: string, user: string): Promise<RawClient> {
  const c = await RawClient.connected(url, { data: { user } });
  t.after(() => c.close());
  return c;
}

test('two hubs on one Redis are one chat: publications, positions and presence cross nodes', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const a = await startNode(t, redis.url);
  const b = await startNode(t, redis.url);
  const alice = await client(t, a.url, 'alice');
  const bob = await client(t, b.url, 'bob');
  await alice.request('subscribe', { channel: 'chat:lobby' });
  await bob.request('subscribe', { channel: 'chat:lobby' });
  await alice.until(() => alice.pushes('join').length === 1, 'alice (node a) sees bob (node b) join');
  const sent = await alice.request<{ epoch: string; offset: number }>('publish', {
    channel: 'chat:lobby',
    data: 'hi bob',
  });
  await bob.until(() => bob.pubs('chat:lobby').length === 1, 'bob gets it');
  assert.deepEqual(bob.pubs('chat:lobby')[0], {
    ...bob.pubs('chat:lobby')[0],
    offset: sent.offset,
    epoch: sent.epoch,
    data: 'hi bob',
  });
  const stats = await bob.request<{ clients: number }>('presence_stats', { channel: 'chat:lobby' });
  assert.equal(stats.clients, 2);
});

test('the pub/sub connection of a node is killed mid-stream: its clients still get every publication once, in order', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const a = await startNode(t, redis.url);
  const b = await startNode(t, redis.url);
  const reader = await client(t, a.url, 'reader');
  const writer = await client(t, b.url, 'writer');
  await reader.request('subscribe', { channel: 'chat:feed' });
  await writer.request('publish', { channel: 'chat:feed', data: 1 });
  await reader.until(() => reader.pubs('chat:feed').length === 1, 'first live');
  // Kill every subscriber connection and publish in one MULTI: the live feed certainly misses it.
  await killFeedsAndPublish(redis.url, 'chat:feed', 2);
  for (const n of [3, 4]) {
    // The publishing node may be reconnecting its own feed: retry with an idempotency key.
    for (;;) {
      const frame = await writer.call('publish', { channel: 'chat:feed', data: n, key: `k${n}` });
      if (!frame.error) break;
      assert.equal(frame.error.temporary, true, JSON.stringify(frame.error));
    }
  }
  await reader.until(() => reader.pubs('chat:feed').length >= 4, 'all four');
  assert.deepEqual(
    reader.pubs('chat:feed').map((p) => [p.offset, p.data]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ],
  );
  assert.equal(reader.pushes('unsubscribed').length, 0);
});

test('Redis restarts with its memory gone: a subscribed client is told, and resubscribing says recovered: false', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const a = await startNode(t, redis.url);
  const reader = await client(t, a.url, 'reader');
  await reader.request('subscribe', { channel: 'chat:room' });
  let last = await reader.request<{ epoch: string; offset: number }>('publish', {
    channel: 'chat:room',
    data: 'x',
  });
  last = await reader.request<{ epoch: string; offset: number }>('publish', {
    channel: 'chat:room',
    data: 'y',
  });
  await reader.until(() => reader.pubs('chat:room').length === 2, 'both live');
  await redis.restart();
  // The node resyncs its channels; the epoch changed, so the live subscription cannot continue.
  const ended = await reader.until(() => reader.pushes('unsubscribed')[0], 'unsubscribed push');
  assert.equal(ended.channel, 'chat:room');
  const again = await reader.request<{ recovered: boolean; epoch: string; offset: number }>('subscribe', {
    channel: 'chat:room',
    since: { epoch: last.epoch, offset: last.offset },
  });
  assert.equal(again.recovered, false);
  assert.notEqual(again.epoch, last.epoch);
});
