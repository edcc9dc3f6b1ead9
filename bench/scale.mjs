// The scale-out benchmark (issue 15 item 8): two socketeer hub nodes on the Redis
// engine against two Socket.IO 4 nodes with @socket.io/redis-adapter, on the same
// throwaway redis-server, side by side in every run. Both nodes and Redis run on
// core 0; the load generator (raw WebSocket clients, lib/fanout-protocols.mjs) on
// core 1. Subscribers alternate between the nodes; publishers too. Scenarios:
// a hot room, 1,000 rooms x 5 (both with publish-to-ack latency), and a node
// SIGKILLed mid-stream (failover-load.mjs). Every run checks count, order and
// duplicates; a socketeer run that loses anything fails.
//
//   npm run bench:scale
//   SCALE_RUNS=1 SCALE_SECONDS=3 SCALE_SUBSCRIBERS=2000 SCALE_ONLY=hot,failover npm run bench:scale
import { execFileSync } from 'node:child_process';
// The tests' redis-server starter (built by `npm run build`): a free port, no persistence.
import { startRedis } from '../dist/test/redis-server.js';
import { fmt, runLoad, saveResults, startServer, summarize } from './lib/fanout-runner.mjs';
import { pinnedLauncher } from './lib/processes.mjs';

const RUNS = Number(process.env.SCALE_RUNS ?? 3);
const SECONDS = Number(process.env.SCALE_SECONDS ?? 5);
const HOT_SUBSCRIBERS = Number(process.env.SCALE_SUBSCRIBERS ?? 10_000);
const only = process.env.SCALE_ONLY?.split(',');
const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? '0';
const LOAD_CORE = process.env.BENCH_LOAD_CORE ?? '1';
// SCALE_REDIS_STATS=1: Redis's per-command counts and µs for every measurement (to stderr).
const REDIS_STATS = process.env.SCALE_REDIS_STATS === '1';

const SCENARIOS = [
  {
    id: 'hot',
    title: `1 room x ${HOT_SUBSCRIBERS.toLocaleString('en-US')} subscribers over 2 nodes, 4 publications in flight`,
    load: { channels: 1, subsPerChannel: HOT_SUBSCRIBERS, publishers: 2, window: 4 },
  },
  {
    id: 'rooms',
    title: '1,000 rooms x 5 users over 2 nodes, 10 publishers, 200 publications in flight',
    load: { channels: 1000, subsPerChannel: 5, publishers: 10, window: 200 },
  },
  {
    id: 'failover',
    title: '100 rooms x 10 subscribers over 2 nodes, 200 publications/s; node B SIGKILLed after 2 s',
    failover: { channels: 100, subsPerChannel: 10, ratePerSecond: 2, killAfterMs: 2000, afterKillMs: 4000 },
  },
].filter((s) => !only || only.includes(s.id));
// SCALE_SERVERS=socketeer measures one side only (A/B comparisons of socketeer builds).
const onlyServers = process.env.SCALE_SERVERS?.split(',');
const SERVERS = [
  { kind: 'socketeer', script: 'hub', name: 'socketeer hub x2 (Redis engine)' },
  { kind: 'socketio', script: 'socketio', name: 'Socket.IO 4.8 x2 + redis-adapter 8.3.0' },
].filter((s) => !onlyServers || onlyServers.includes(s.kind));

const teardown = [];
const redis = await startRedis({ after: (fn) => teardown.push(fn) }, ['--maxclients', '10000'], {
  launcher: pinnedLauncher(SERVER_CORE),
});
const raw = Object.fromEntries(SCENARIOS.map((s) => [s.id, { socketeer: [], socketio: [] }]));
let failed = 0;
const started = Date.now();
try {
  for (let run = 1; run <= RUNS; run++) {
    for (const scenario of SCENARIOS) {
      for (const server of SERVERS) {
        const elapsed = Math.round((Date.now() - started) / 1000);
        process.stderr.write(`[${elapsed}s] run ${run}/${RUNS} ${scenario.id} / ${server.kind}... `);
        const nodes = [];
        try {
          for (let i = 0; i < 2; i++)
            nodes.push(await startServer(server.script, SERVER_CORE, { redis: redis.url }));
          const common = {
            kind: server.kind,
            ports: nodes.map((n) => n.port),
            serverPids: nodes.map((n) => n.child.pid),
            // Server CPU per delivery counts both nodes and Redis (socketeer stores every publication there).
            cpuPids: [...nodes.map((n) => n.child.pid), redis.process.pid],
            redisPid: redis.process.pid,
            // Fresh channels for every measurement: offsets start at 1.
            prefix: `r${run}${scenario.id}${Date.now().toString(36)}`,
          };
          if (REDIS_STATS) redisCli('CONFIG', 'RESETSTAT');
          const result = scenario.failover
            ? await runLoad(LOAD_CORE, { ...common, ...scenario.failover }, 'failover-load.mjs')
            : await runLoad(LOAD_CORE, {
                ...common,
                ...scenario.load,
                warmupMs: 1000,
                durationMs: SECONDS * 1000,
              });
          if (REDIS_STATS) process.stderr.write(`\n${redisCli('INFO', 'commandstats')}`);
          raw[scenario.id][server.kind].push(result);
          if (!result.ok) failed++;
          process.stderr.write(`${result.ok ? '' : 'FAILED '}${describe(result)}\n`);
        } catch (error) {
          failed++;
          raw[scenario.id][server.kind].push({ ok: false, error: error.message });
          process.stderr.write(`failed: ${error.message}\n`);
        } finally {
          for (const node of nodes) await node.stop();
        }
      }
    }
  }
} finally {
  for (const stop of teardown) await stop();
}

function redisCli(...args) {
  const port = new URL(redis.url).port;
  return execFileSync('redis-cli', ['-p', port, ...args], { encoding: 'utf8' });
}

function describe(r) {
  if (r.catchUpSeconds !== undefined)
    return (
      `${r.rejoinedClients}/${r.movedClients} clients back after ${fmt(r.catchUpSeconds)} s, ` +
      `lost ${r.lostDeliveries} deliveries at ${r.lostClients} clients, dup ${r.duplicates}, not recovered ${r.notRecovered}`
    );
  return (
    `${fmt(r.deliveriesPerSecond)} deliveries/s, p50 ${fmt(r.latencyMs.p50)} ms, p99 ${fmt(r.latencyMs.p99)} ms, ` +
    `ack p99 ${fmt(r.ackMs.p99)} ms, lost ${r.lost}, server ${fmt(r.serverCpuUsPerDelivery)} µs CPU/delivery ` +
    `(Redis ${fmt(r.redisCpuUsPerDelivery)}, kernel ${fmt(r.serverSystemUsPerDelivery)}), server got ${fmt(r.serverCoreShare * 100)}% of a core, ` +
    `${fmt(r.deliveriesPerServerWrite)} deliveries per write; per publication p50: first delivery ` +
    `${fmt(r.firstDeliveryMs?.p50)} ms after the publish, last ${fmt(r.fanoutSpreadMs?.p50)} ms after the first`
  );
}

const results = SCENARIOS.map((scenario) => {
  const servers = {};
  for (const { kind } of SERVERS) {
    const runs = raw[scenario.id][kind];
    // Socket.IO's failover runs "pass" when its clients are back; what they lost is the finding.
    const measured = runs.filter((r) => r.ok);
    servers[kind] = scenario.failover
      ? {
          catchUpSeconds: summarize(measured, (r) => r.catchUpSeconds),
          lostDeliveries: summarize(measured, (r) => r.lostDeliveries),
          lostClients: summarize(measured, (r) => r.lostClients),
          passed: measured.length,
          runs,
        }
      : {
          deliveriesPerSecond: summarize(runs, (r) => r.deliveriesPerSecond),
          p50Ms: summarize(runs, (r) => r.latencyMs.p50),
          p99Ms: summarize(runs, (r) => r.latencyMs.p99),
          ackP50Ms: summarize(runs, (r) => r.ackMs.p50),
          ackP99Ms: summarize(runs, (r) => r.ackMs.p99),
          serverCpuUsPerDelivery: summarize(runs, (r) => r.serverCpuUsPerDelivery),
          redisCpuUsPerDelivery: summarize(runs, (r) => r.redisCpuUsPerDelivery),
          // The kernel's part (stime of both nodes and Redis): the bound argued in RESULTS.md.
          systemUsPerDelivery: summarize(runs, (r) => r.serverSystemUsPerDelivery),
          deliveriesPerWrite: summarize(runs, (r) => r.deliveriesPerServerWrite),
          passed: measured.length,
          runs,
        };
  }
  const a = servers.socketeer?.deliveriesPerSecond?.median;
  const b = servers.socketio?.deliveriesPerSecond?.median;
  return { id: scenario.id, title: scenario.title, servers, ratio: a && b ? a / b : null };
});

let table =
  '| scenario | server | deliveries/s median (min-max) | vs Socket.IO | p50 / p99 ms | ack p50 / p99 ms | server CPU µs/delivery (of which Redis / kernel) | deliveries per write | runs passed |\n|---|---|---|---|---|---|---|---|---|\n';
let failover =
  '| scenario | server | clients back after (s) | lost deliveries | clients that lost some | runs passed |\n|---|---|---|---|---|---|\n';
for (const entry of results) {
  for (const server of SERVERS) {
    const s = entry.servers[server.kind];
    const m = (x) => fmt(x?.median);
    if (s.catchUpSeconds !== undefined) {
      failover += `| ${entry.id}: ${entry.title} | ${server.name} | ${m(s.catchUpSeconds)} | ${m(s.lostDeliveries)} | ${m(s.lostClients)} | ${s.passed}/${s.runs.length} |\n`;
      continue;
    }
    const d = s.deliveriesPerSecond;
    const ratio = server.kind === 'socketeer' && entry.ratio ? `${entry.ratio.toFixed(2)}x` : '';
    table += `| ${entry.id}: ${entry.title} | ${server.name} | ${d ? `${fmt(d.median)} (${fmt(d.min)}-${fmt(d.max)})` : 'no passing run'} | ${ratio} | ${m(s.p50Ms)} / ${m(s.p99Ms)} | ${m(s.ackP50Ms)} / ${m(s.ackP99Ms)} | ${m(s.serverCpuUsPerDelivery)} (${m(s.redisCpuUsPerDelivery)} / ${m(s.systemUsPerDelivery)}) | ${m(s.deliveriesPerWrite)} | ${s.passed}/${s.runs.length} |\n`;
  }
}
process.stdout.write(`\n${table}\n${failover}`);
saveResults('scale', { runs: RUNS, seconds: SECONDS, results, failed });
