import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisEngine } from '../../src/messaging/redis/index.js';
import { channelKeys } from '../../src/messaging/redis/keys.js';
import { inCI } from '../helpers.js';
import { haveRedis, type RedisClusterServers, startRedisCluster } from '../redis-server.js';
import { findBinary } from '../system.js';
import { runEngineContract } from './engine-contract.js';
import { history, startEngine } from './redis-helpers.js';

/**
 * A local 3-master Redis Cluster: every channel's keys live in one hash slot
 * (the `{channel}` tag), so each function call runs on the master that owns it.
 * Two engines = two nodes of the application, each with its own cluster client.
 */
const runnable = findBinary('redis-server') !== null || inCI;
let cluster: RedisClusterServers;
const cleanups: (() => unknown)[] = [];
if (runnable) {
  // One cluster for the file (creating one takes a few seconds).
  before(async () => {
    cluster = await startRedisCluster({ after: (fn) => cleanups.push(fn) });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
}

test('Redis Cluster (3 masters): publish, subscribe, recover — plain and sharded pub/sub', async (t) => {
  if (!haveRedis(t)) return;
  // Channels spread over the three masters (checked below), plus names that need escaping.
  const channels = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'a}b', ''];
  const owners = new Set<string>();
  for (const name of channels) {
    const slot = Number(
      await cluster.nodes[0]!.cli('CLUSTER', 'KEYSLOT', channelKeys('socketeer:', name).meta),
    );
    const shards = await cluster.nodes[0]!.cli('CLUSTER', 'SHARDS');
    owners.add(ownerOf(shards, slot));
  }
  assert.equal(owners.size, 3, 'the channels live on all three masters');

  for (const sharded of [false, true]) {
    const prefix = sharded ? 'sharded:' : 'plain:';
    const a = await startEngine(t, { cluster: cluster.urls, sharded, prefix });
    const b = await startEngine(t, { cluster: [cluster.urls[1]!], sharded, prefix });
    for (const name of channels) await a.engine.subscribe(name);
    const positions = new Map<string, { epoch: string; offset: number }>();
    for (const name of channels) {
      for (let n = 1; n <= 3; n++) {
        const outcome = await b.engine.publish({ channel: name, data: `${name}#${n}`, history });
        assert.equal(outcome.offset, n);
        if (n === 1) positions.set(name, outcome);
      }
    }
    await a.handler.until(
      () => a.handler.publications.length === channels.length * 3,
      `all delivered (${prefix})`,
    );
    for (const name of channels) {
      assert.deepEqual(
        a.handler.pubsOf(name).map((p) => p.data),
        [`${name}#1`, `${name}#2`, `${name}#3`],
      );
      // Recovery: everything after offset 1 of the same epoch.
      const page = await a.engine.history({ channel: name, since: positions.get(name)!, limit: 10 });
      assert.deepEqual(
        page.publications.map((p) => p.offset),
        [2, 3],
      );
      assert.equal(page.top.offset, 3);
    }
    await b.engine.addPresence('alpha', { user: 'u', client: 'c1' }, 60_000);
    await b.engine.publishJoin('alpha', { user: 'u', client: 'c1' });
    await a.handler.until(() => a.handler.joins.length === 1, 'join across nodes');
    assert.deepEqual(await a.engine.presenceStats('alpha'), { clients: 1, users: 1 });
  }
});

/** The master ("role primary") owning `slot`, from CLUSTER SHARDS as redis-cli prints it (one item per line). */
function ownerOf(shards: string, slot: number): string {
  const lines = shards.split('\n');
  let ranges: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === 'slots') {
      ranges = [];
      // The slot list is the run of integer lines that follows "slots".
      for (let j = i + 1; /^\d+$/.test(lines[j] ?? ''); j++) ranges.push(Number(lines[j]));
    }
    if (lines[i] === 'port') {
      for (let r = 0; r + 1 < ranges.length; r += 2) {
        if (slot >= ranges[r]! && slot <= ranges[r + 1]!) return lines[i + 1]!;
      }
    }
  }
  throw new Error(`no owner for slot ${slot}`);
}

/** The shared engine contract on the cluster with sharded pub/sub (per-shard subscriber connections). */
if (runnable) {
  runEngineContract(
    'redis cluster (sharded pub/sub)',
    () =>
      new RedisEngine({
        cluster: cluster.urls,
        sharded: true,
        presenceSweepMs: 50,
        reconnectMaxDelayMs: 200,
      }),
    {
      interruptFeed: async () => {
        await Promise.all(cluster.nodes.map((node) => node.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')));
      },
    },
  );
}
