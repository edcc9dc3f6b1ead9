import { after, before, test } from 'node:test';
import { RedisEngine } from '../../src/messaging/redis/index.js';
import { inCI } from '../helpers.js';
import { haveRedis, type RedisServer, startRedis } from '../redis-server.js';
import { findBinary } from '../system.js';
import { runEngineContract } from './engine-contract.js';

/** The shared engine contract against real Redis (one server for the file). */
if (findBinary('redis-server') || inCI) {
  let redis: RedisServer;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    redis = await startRedis({ after: (fn) => cleanups.push(fn) });
  });
  after(async () => {
    for (const fn of cleanups) await fn();
  });
  const interruptFeed = async () => {
    await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
  };
  // Sharded pub/sub runs the contract on the cluster (redis-cluster.test.ts).
  runEngineContract(
    'redis',
    () => new RedisEngine({ url: redis.url, presenceSweepMs: 50, reconnectMaxDelayMs: 200 }),
    { interruptFeed },
  );
} else {
  test('engine contract: redis', (t) => {
    haveRedis(t);
  });
}
