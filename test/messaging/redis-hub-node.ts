/**
 * One application node for the multi-process tests: a messaging hub on the
 * Redis engine, on a free port. argv: redis URL. Prints "listening <port>".
 */
import type { AddressInfo } from 'node:net';
import { Hub } from '../../src/messaging/index.js';
import { RedisEngine } from '../../src/messaging/redis/index.js';

const hub = new Hub({
  port: 0,
  host: '127.0.0.1',
  engine: new RedisEngine({ url: process.argv[2]!, presenceSweepMs: 200 }),
  namespaces: { chat: { clientPublish: true, presence: true, joinLeave: true, historySize: 1000 } },
  presenceTtl: 3000,
});
await hub.listening();
process.stdout.write(`listening ${(hub.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
