/**
 * A node that holds one presence entry and refreshes its lease, for the test
 * that SIGKILLs it (redis-failures.test.ts). argv: redis URL, channel, client id, lease ms.
 */
import { RedisEngine } from '../../src/messaging/redis/index.js';

const [url, channel, client, lease] = process.argv.slice(2);
const ttlMs = Number(lease);
const engine = new RedisEngine({ url: url! });
await engine.start({ publication() {}, join() {}, leave() {}, resync() {}, readiness() {} });
const info = { user: 'doomed', client: client! };
await engine.addPresence(channel!, info, ttlMs);
await engine.publishJoin(channel!, info);
setInterval(() => engine.addPresence(channel!, info, ttlMs).catch(() => {}), ttlMs / 3);
process.stdout.write('present\n');
