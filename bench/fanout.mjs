// The fan-out benchmark (issue 14 item 10): socketeer's messaging hub (memory
// engine, one process) against Socket.IO 4 (websocket transport, rooms), side by
// side in every run. Each server runs alone on core 0; the load generator
// (fanout-load.mjs: raw WebSocket clients for both, see lib/fanout-protocols.mjs)
// on core 1. A run that loses, duplicates or reorders a delivery fails.
//
//   npm run bench:fanout
//   FANOUT_RUNS=1 FANOUT_SECONDS=3 FANOUT_SUBSCRIBERS=2000 FANOUT_ONLY=hot npm run bench:fanout
import { fmt, runLoad, saveResults, startServer, summarize } from './lib/fanout-runner.mjs';

const RUNS = Number(process.env.FANOUT_RUNS ?? 3);
const SECONDS = Number(process.env.FANOUT_SECONDS ?? 5);
const HOT_SUBSCRIBERS = Number(process.env.FANOUT_SUBSCRIBERS ?? 10_000);
const only = process.env.FANOUT_ONLY?.split(',');
const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? '0';
const LOAD_CORE = process.env.BENCH_LOAD_CORE ?? '1';

const SCENARIOS = [
  {
    id: 'hot',
    title: `1 channel x ${HOT_SUBSCRIBERS.toLocaleString('en-US')} subscribers, 4 publications in flight`,
    load: { channels: 1, subsPerChannel: HOT_SUBSCRIBERS, publishers: 1, window: 4 },
  },
  {
    id: 'rooms',
    title: '1,000 channels x 5 subscribers, 10 publishers, 200 publications in flight',
    load: { channels: 1000, subsPerChannel: 5, publishers: 10, window: 200 },
  },
].filter((s) => !only || only.includes(s.id));
const SERVERS = [
  { kind: 'socketeer', script: 'hub', name: 'socketeer hub (memory engine)' },
  { kind: 'socketio', script: 'socketio', name: 'Socket.IO 4.8 (websocket, rooms)' },
];

const raw = Object.fromEntries(SCENARIOS.map((s) => [s.id, { socketeer: [], socketio: [] }]));
let failed = 0;
const started = Date.now();
for (let run = 1; run <= RUNS; run++) {
  for (const scenario of SCENARIOS) {
    for (const server of SERVERS) {
      const elapsed = Math.round((Date.now() - started) / 1000);
      process.stderr.write(`[${elapsed}s] run ${run}/${RUNS} ${scenario.id} / ${server.kind}... `);
      const srv = await startServer(server.script, SERVER_CORE);
      try {
        const result = await runLoad(LOAD_CORE, {
          ...scenario.load,
          kind: server.kind,
          ports: [srv.port],
          serverPids: [srv.child.pid],
          warmupMs: 1000,
          durationMs: SECONDS * 1000,
        });
        raw[scenario.id][server.kind].push(result);
        if (!result.ok) failed++;
        process.stderr.write(
          `${result.ok ? '' : 'FAILED (lost/duplicated/reordered) '}${fmt(result.deliveriesPerSecond)} deliveries/s, ` +
            `p50 ${fmt(result.latencyMs.p50)} ms, p99 ${fmt(result.latencyMs.p99)} ms` +
            `, server ${fmt(result.serverCpuUsPerDelivery)} µs CPU/delivery (${fmt(result.serverSystemUsPerDelivery)} in the kernel), ` +
            `${fmt(result.deliveriesPerServerWrite)} deliveries/write, generator ${fmt(result.loadCpuUsPerDelivery)} µs/delivery ` +
            `(core share: server ${fmt(result.serverCoreShare)}, generator ${fmt(result.loadCoreShare)})` +
            `${result.ok ? '' : ` ${JSON.stringify(result)}`}\n`,
        );
      } catch (error) {
        failed++;
        raw[scenario.id][server.kind].push({ ok: false, error: error.message });
        process.stderr.write(`failed: ${error.message}\n`);
      } finally {
        await srv.stop();
      }
    }
  }
}

const results = SCENARIOS.map((scenario) => {
  const servers = {};
  for (const { kind } of SERVERS) {
    const runs = raw[scenario.id][kind];
    servers[kind] = {
      deliveriesPerSecond: summarize(runs, (r) => r.deliveriesPerSecond),
      p50Ms: summarize(runs, (r) => r.latencyMs.p50),
      p99Ms: summarize(runs, (r) => r.latencyMs.p99),
      ackP99Ms: summarize(runs, (r) => r.ackMs.p99),
      serverCpuUsPerDelivery: summarize(runs, (r) => r.serverCpuUsPerDelivery),
      serverSystemUsPerDelivery: summarize(runs, (r) => r.serverSystemUsPerDelivery),
      deliveriesPerServerWrite: summarize(runs, (r) => r.deliveriesPerServerWrite),
      serverCoreShare: summarize(runs, (r) => r.serverCoreShare),
      passed: runs.filter((r) => r.ok).length,
      runs,
    };
  }
  const a = servers.socketeer.deliveriesPerSecond?.median;
  const b = servers.socketio.deliveriesPerSecond?.median;
  const ca = servers.socketeer.serverCpuUsPerDelivery?.median;
  const cb = servers.socketio.serverCpuUsPerDelivery?.median;
  return {
    id: scenario.id,
    title: scenario.title,
    servers,
    ratio: a && b ? a / b : null,
    cpuRatio: ca && cb ? cb / ca : null,
  };
});

let table =
  '| scenario | server | deliveries/s median (min-max) | vs Socket.IO | p50 ms | p99 ms | server CPU µs/delivery (kernel) | vs Socket.IO | deliveries/write | server core share | runs passed |\n|---|---|---|---|---|---|---|---|---|---|---|\n';
for (const entry of results) {
  for (const server of SERVERS) {
    const s = entry.servers[server.kind];
    const d = s.deliveriesPerSecond;
    const ratio = server.kind === 'socketeer' && entry.ratio ? `${entry.ratio.toFixed(2)}x` : '';
    const cpuRatio =
      server.kind === 'socketeer' && entry.cpuRatio ? `${entry.cpuRatio.toFixed(2)}x less` : '';
    table += `| ${entry.id}: ${entry.title} | ${server.name} | ${d ? `${fmt(d.median)} (${fmt(d.min)}-${fmt(d.max)})` : 'no passing run'} | ${ratio} | ${fmt(s.p50Ms?.median)} | ${fmt(s.p99Ms?.median)} | ${fmt(s.serverCpuUsPerDelivery?.median)} (${fmt(s.serverSystemUsPerDelivery?.median)}) | ${cpuRatio} | ${fmt(s.deliveriesPerServerWrite?.median)} | ${fmt(s.serverCoreShare?.median)} | ${s.passed}/${s.runs.length} |\n`;
  }
}
process.stdout.write(`\n${table}`);
saveResults('fanout', { runs: RUNS, seconds: SECONDS, results, failed });
