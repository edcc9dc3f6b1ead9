// The socketeer messaging hub under test (bench:fanout, bench:scale): clients may
// publish in the default namespace; no per-connection command rate limit (the
// load generator's publishers send thousands of commands per second). With
// options.redis the hub runs on the Redis engine (a node of bench:scale).
import { Hub } from '../../dist/src/messaging/index.js';
import { options, ready } from './control.mjs';

let engine;
if (options.redis) {
  const redis = await import('../../dist/src/messaging/redis/index.js');
  engine = new redis.RedisEngine(redis.redisOptionsFromUrl(options.redis));
}
const hub = new Hub({
  port: options.port ?? 0,
  host: '127.0.0.1',
  engine,
  namespaces: { '': { clientPublish: true, historySize: options.historySize ?? 1000 } },
  commandRate: 0,
  maxCommandsInFlight: 100_000,
  websocket: { heartbeatInterval: 0, maxConnections: 0, maxConnectionsPerIp: 0 },
});
await hub.listening();
ready(hub.address().port);
