// The benchmark runner: every server under test in its own process on core 0,
// the same raw-socket load generator on core 1, each scenario run BENCH_RUNS
// times (median, min-max), ratios to `ws` from the same run. Progress goes to
// stderr; the table to stdout; JSON to results/latest.json; Markdown to RESULTS.md.
//
//   npm run bench                       (everything, ~10 minutes)
//   BENCH_ONLY=small,large npm run bench   (some scenarios)
//   BENCH_SERVERS=socketeer,ws BENCH_RUNS=1 BENCH_SECONDS=2 npm run bench
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { startPinned, withTimeout } from './lib/processes.mjs';
import { renderMarkdown, renderTable, useScenarios } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';

useScenarios(SCENARIOS);

const here = (p) => new URL(p, import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const only = process.env.BENCH_ONLY?.split(',');
const serverFilter = process.env.BENCH_SERVERS?.split(',');
const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? '0';
const LOAD_CORE = process.env.BENCH_LOAD_CORE ?? '1';

async function startServer(name, options) {
  const script = here(`./servers/${name}.mjs`);
  const command =
    name === 'bun'
      ? [here('./node_modules/bun/bin/bun.exe'), script, JSON.stringify(options)]
      : [process.execPath, '--expose-gc', script, JSON.stringify(options)];
  const { child, next } = startPinned(SERVER_CORE, command);
  const port = Number(await withTimeout(next(), 15_000, `starting ${name}`));
  return {
    port,
    async rss() {
      child.stdin.write('rss\n');
      return Number(await withTimeout(next(), 15_000, `${name} rss`));
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function startLoad(config) {
  const { child, next } = startPinned(LOAD_CORE, [
    process.execPath,
    here('./loadgen.mjs'),
    JSON.stringify(config),
  ]);
  return {
    next: async () => JSON.parse(await withTimeout(next(), 180_000, `load generator (${config.mode})`)),
    send: (line) => child.stdin.write(`${line}\n`),
    exited: new Promise((r) => child.once('exit', r)),
  };
}

/** One measurement: a fresh server process and a fresh load generator. */
async function measure(scenario, server) {
  const srv = await startServer(server, scenario.server ?? {});
  try {
    const config = { ...scenario.load, port: srv.port, raw: server === 'raw' };
    if (scenario.load.mode === 'echo') {
      config.warmupMs = 1000;
      config.durationMs = SECONDS * 1000;
    }
    if (scenario.load.mode === 'idle') {
      const before = await srv.rss();
      const load = startLoad(config);
      const ready = await load.next();
      if (ready.error) throw new Error(ready.error);
      const after = await srv.rss();
      load.send('done');
      await load.next();
      await load.exited;
      return { bytesPerConnection: (after - before) / config.connections };
    }
    const load = startLoad(config);
    const result = await load.next();
    await load.exited;
    if (result.error) throw new Error(result.error);
    return result;
  } finally {
    await srv.stop();
  }
}

function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1), runs: values };
}

const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.id));
const results = [];
const started = Date.now();
let step = 0;
const totalSteps = scenarios.reduce(
  (n, s) => n + s.servers.filter((x) => !serverFilter || serverFilter.includes(x)).length * RUNS,
  0,
);
for (const scenario of scenarios) {
  const entry = {
    id: scenario.id,
    title: scenario.title,
    metric: scenario.metric,
    unit: scenario.unit,
    servers: {},
  };
  for (const server of scenario.servers.filter((x) => !serverFilter || serverFilter.includes(x))) {
    const values = [];
    const extras = [];
    for (let run = 0; run < RUNS; run++) {
      step++;
      const elapsed = Math.round((Date.now() - started) / 1000);
      process.stderr.write(
        `[${step}/${totalSteps}, ${elapsed}s] ${scenario.id} / ${server} run ${run + 1}... `,
      );
      try {
        const result = await measure(scenario, server);
        values.push(result[scenario.metric]);
        extras.push(result);
        process.stderr.write(
          `${Math.round(result[scenario.metric]).toLocaleString('en-US')} ${scenario.unit}\n`,
        );
      } catch (error) {
        process.stderr.write(`failed: ${error.message}\n`);
      }
    }
    if (values.length > 0) {
      const summary = summarize(values);
      const p50 = extras.map((e) => e.latencyMs?.p50).filter((v) => v != null);
      const p99 = extras.map((e) => e.latencyMs?.p99).filter((v) => v != null);
      if (p50.length) summary.latencyMs = { p50: summarize(p50).median, p99: summarize(p99).median };
      entry.servers[server] = summary;
    }
  }
  const anchor = entry.servers.ws?.median;
  for (const s of Object.values(entry.servers)) s.ratioToWs = anchor ? s.median / anchor : null;
  results.push(entry);
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
  node: process.version,
  runs: RUNS,
  seconds: SECONDS,
  results,
};
mkdirSync(here('./results'), { recursive: true });
// Only a full run replaces latest.json (and RESULTS.md); a partial one goes to partial.json.
const full = !only && !serverFilter;
writeFileSync(here(`./results/${full ? 'latest' : 'partial'}.json`), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(renderTable(report));
if (full) {
  // A full run refreshes the table in RESULTS.md (between the markers; the prose around it stays).
  const path = here('./RESULTS.md');
  const current = readFileSync(path, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const table = `${start}\n${renderMarkdown(report)}${end}`;
  const next = current.includes(start)
    ? current.replace(new RegExp(`${start}[\\s\\S]*${end}`), table)
    : `${current}\n${table}\n`;
  writeFileSync(path, next);
}
process.stderr.write(
  `done in ${Math.round((Date.now() - started) / 1000)} s; results/${full ? 'latest' : 'partial'}.json written\n`,
);
