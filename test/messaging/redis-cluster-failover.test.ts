import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from 'redis';
import { Hub, HubError, type Publication, type Push } from '../../src/messaging/index.js';
import { Fn } from '../../src/messaging/redis/functions.js';
import { RedisEngine } from '../../src/messaging/redis/index.js';
import { channelKeys } from '../../src/messaging/redis/keys.js';
import { haveRedis, startRedisCluster } from '../redis-server.js';

/**
 * Redis Cluster failover: 3 masters + 3 replicas. The master owning a channel
 * takes one write its replica never gets (its replication link is cut in the
 * same MULTI), then is SIGKILLed; its replica is promoted (CLUSTER FAILOVER
 * TAKEOVER, after a check that publishes fail while no master owns the slot).
 * What a client of a hub on that cluster must see: publishes fail fast with a
 * temporary error during the switch and then resume; the channel's epoch
 * rotates (the promoted replica never had the last write, so its offset is
 * issued again, but never under the old epoch); and resubscribing from the old
 * position says recovered: false instead of skipping anything silently.
 */

/** The master that owns `slot` and its replica, from CLUSTER NODES. */
function shardOf(nodes: string, slot: number): { master: number; replica: number } {
  const rows = nodes
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const port = (row: string[]) => Number(/:(\d+)@/.exec(row[1]!)![1]);
  const master = rows.find(
    (row) =>
      row[2]!.includes('master') &&
      row.slice(8).some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return slot >= from! && slot <= to!;
      }),
  );
  assert.ok(master, `no master for slot ${slot}:\n${nodes}`);
  const replica = rows.find((row) => row[3] === master[0]);
  assert.ok(replica, `no replica of ${master[1]}:\n${nodes}`);
  return { master: port(master), replica: port(replica) };
}

test('Redis Cluster failover: fail fast, resume, a new epoch, recovered: false', {
  timeout: 60_000,
}, async (t) => {
  if (!haveRedis(t)) return;
  const cluster = await startRedisCluster(t, { replicas: 1 });
  const hub = new Hub({
    noServer: true,
    engine: new RedisEngine({
      cluster: cluster.urls,
      sharded: true,
      commandTimeoutMs: 1000,
      reconnectMaxDelayMs: 200,
      presenceSweepMs: 100,
    }),
    namespaces: { orders: { historySize: 100, clientPublish: true } },
  });
  t.after(() => hub.close());
  await hub.listening();

  const channel = 'orders:eu';
  const pushes: Push[] = [];
  let wake = () => {};
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise<void>((resolve) => (wake = resolve));
  };
  const reader = await hub.connectLocal({
    user: 'reader',
    onPush: (push) => {
      pushes.push(push);
      wake();
    },
  });
  // Publishes go through a client connection: what a client is told is what this test checks.
  const writer = await hub.connectLocal({ user: 'writer', onPush: () => {} });
  const pubs = () =>
    pushes.flatMap((p) => (p.push === 'pub' && p.channel === channel ? [p.pub as Publication] : []));
  await reader.subscribe(channel);
  let acked = await writer.publish(channel, 1);
  acked = await writer.publish(channel, 2);
  await until(() => pubs().length === 2);

  const keys = channelKeys('socketeer:', channel);
  const seed = cluster.nodes[0]!;
  const slot = Number(await seed.cli('CLUSTER', 'KEYSLOT', keys.meta));
  const shard = shardOf(await seed.cli('CLUSTER', 'NODES'), slot);
  const master = cluster.nodes.find((n) => n.port === shard.master)!;
  const replica = cluster.nodes.find((n) => n.port === shard.replica)!;
  // Promotion only when the test asks for it, so "no master owns the slot" is a state, not a race.
  await replica.cli('CONFIG', 'SET', 'cluster-replica-no-failover', 'yes');
  // Everything so far has reached the replica: a write of ours on the master, acknowledged by
  // WAIT, comes after the hub's writes in the one replication stream.
  const raw = createClient({ url: master.url });
  raw.on('error', () => {});
  await raw.connect();
  await raw.set(`${keys.meta}:probe`, '1');
  assert.equal(await raw.sendCommand(['WAIT', '1', '10000']), 1, 'the replica is in sync');

  // The last write: in one MULTI the master shuts its replica out (a password the replica does
  // not know, so it cannot resync; connections already open stay in), cuts its replication link
  // and takes the write. The replica never receives it; then the master dies.
  const args = ['x', JSON.stringify('lost 3'), '', '100', '60000', '0', keys.pubsub, '1'];
  await raw
    .multi()
    .addCommand(['CONFIG', 'SET', 'requirepass', 'replica-shut-out'])
    .addCommand(['CLIENT', 'KILL', 'TYPE', 'replica'])
    .addCommand(['FCALL', Fn.publish, '3', keys.meta, keys.stream, keys.meta, ...args])
    .exec();
  raw.destroy();
  await master.stop('SIGKILL');

  // No master for the slot: publishes fail with a temporary error, at once or at the command
  // timeout, never queued for later.
  const during = await Promise.allSettled([1, 2, 3].map((n) => writer.publish(channel, `during ${n}`)));
  for (const outcome of during) {
    assert.equal(outcome.status, 'rejected');
    const error = (outcome as PromiseRejectedResult).reason;
    assert.ok(error instanceof HubError && error.temporary, String(error));
  }

  await replica.cli('CLUSTER', 'FAILOVER', 'TAKEOVER');
  while (!(await replica.cli('ROLE')).startsWith('master')) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await replica.cli('HGET', keys.meta, 'o'), '2', 'the promoted replica never got offset 3');
  // Publishing resumes by itself (the client follows the slot to the promoted replica).
  let resumed: { epoch: string; offset: number } | undefined;
  for (let attempt = 0; !resumed; attempt++) {
    try {
      resumed = await writer.publish(channel, 'after', 'after-1');
    } catch (error) {
      assert.ok(error instanceof HubError && error.temporary, String(error));
      assert.ok(attempt < 400, `publishing never resumed: ${error}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  assert.notEqual(resumed.epoch, acked.epoch, 'a new epoch: offset 3 of the old one was lost');

  // The subscriber is not left with a silent gap: told to resubscribe, and doing so says so.
  await until(() => pushes.some((p) => p.push === 'unsubscribed' && p.channel === channel));
  const lastSeen = pubs().at(-1)!;
  const again = await reader.subscribe(channel, { epoch: lastSeen.epoch, offset: lastSeen.offset });
  assert.equal(again.recovered, false);
  assert.equal(again.epoch, resumed.epoch);
  // And live delivery goes on in the new epoch.
  const next = await writer.publish(channel, 'live again');
  await until(() => pubs().some((p) => p.epoch === next.epoch && p.offset === next.offset));
  const seen = pubs().map((p) => `${p.epoch}/${p.offset}`);
  assert.equal(new Set(seen).size, seen.length, 'no (epoch, offset) delivered twice');
  assert.equal(hub.ready(), true);
});
