// The Redis engine alone, without WebSockets: CPU per publish on the node (publish
// + receiving it back from pub/sub) and in Redis. One engine subscribes to CHANNELS
// channels and publishes PUBLISHES publications round-robin, 200 in flight, then
// waits until every one came back live. For A/B comparisons of engine changes: run
// it back to back for two builds (`node bench/redis-engine.mjs` in each checkout).
//
//   npm run build && node bench/redis-engine.mjs [publishes=20000] [channels=1000]
import { readFileSync } from 'node:fs';
import { RedisEngine } from '../dist/src/messaging/redis/index.js';
import { startRedis } from '../dist/test/redis-server.js';

const PUBLISHES = Number(process.argv[2] ?? 20_000);
const CHANNELS = Number(process.argv[3] ?? 1000);
const IN_FLIGHT = 200;
const history = { size: 1000, ttlMs: 300_000 };

const teardown = [];
const redis = await startRedis({ after: (fn) => teardown.push(fn) });
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
};

let received = 0;
let expected = 0;
let allReceived = () => {};
const engine = new RedisEngine({ url: redis.url });
await engine.start({
  publication() {
    if (++received === expected) allReceived();
  },
  join() {},
  leave() {},
  resync() {},
  readiness() {},
});
for (let c = 0; c < CHANNELS; c++) await engine.subscribe(`c${c}`);

async function run(count) {
  received = 0;
  expected = count;
  const arrived = new Promise((resolve) => (allReceived = resolve));
  let sent = 0;
  let inFlight = 0;
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (inFlight < IN_FLIGHT && sent < count) {
        inFlight++;
        const channel = `c${sent++ % CHANNELS}`;
        const data = { s: sent, t: 1234.567 };
        engine.publish({ channel, data, info: { client: 'c1', user: '' }, history }).then(() => {
          inFlight--;
          if (sent < count) pump();
          else if (inFlight === 0) resolve();
        }, reject);
      }
    };
    pump();
  });
  await arrived;
}

try {
  await run(Math.min(5000, PUBLISHES)); // warm-up
  const node0 = process.cpuUsage();
  const redis0 = cpuSeconds(redis.process.pid);
  const wall0 = performance.now();
  await run(PUBLISHES);
  const node = process.cpuUsage(node0);
  const seconds = (performance.now() - wall0) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      publishes: PUBLISHES,
      channels: CHANNELS,
      nodeCpuUsPerPublish: +((node.user + node.system) / PUBLISHES).toFixed(2),
      redisCpuUsPerPublish: +(((cpuSeconds(redis.process.pid) - redis0) * 1e6) / PUBLISHES).toFixed(2),
      publishesPerSecond: Math.round(PUBLISHES / seconds),
    })}\n`,
  );
} finally {
  await engine.close();
  for (const fn of teardown.reverse()) await fn();
}
