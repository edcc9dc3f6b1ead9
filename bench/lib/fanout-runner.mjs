// Shared by bench:fanout and bench:scale: start a server under test pinned to a
// core, run the fan-out load generator pinned to another, and summarize runs
// (median, min-max) with the socketeer / Socket.IO ratio from the same run.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { startPinned, withTimeout } from './processes.mjs';

const here = (p) => new URL(`../${p}`, import.meta.url).pathname;

// Extra node flags for the servers under test, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const SERVER_NODE_ARGS = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

/** servers/<name>.mjs on `core`; resolves to {port, child, stop()}. */
export async function startServer(name, core, options = {}) {
  const { child, next } = startPinned(core, [
    process.execPath,
    ...SERVER_NODE_ARGS,
    here(`servers/${name}.mjs`),
    JSON.stringify(options),
  ]);
  const port = Number(await withTimeout(next(), 30_000, `starting ${name}`));
  const exited = new Promise((r) => child.once('exit', r));
  return {
    port,
    child,
    exited,
    async stop() {
      // With extra flags (a profiler) exit normally so it writes its output; SIGKILL if that hangs.
      if (SERVER_NODE_ARGS.length && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        return;
      }
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One load generator run; resolves to its JSON result. */
export async function runLoad(core, config, script = 'fanout-load.mjs') {
  const { child, next } = startPinned(core, [process.execPath, here(script), JSON.stringify(config)]);
  const exited = new Promise((r) => child.once('exit', r));
  try {
    return JSON.parse(await withTimeout(next(), 300_000, `load generator (${config.kind})`));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

/** Median (min-max) of a metric over the runs that passed their checks. */
export function summarize(results, pick) {
  const values = results
    .filter((r) => r.ok)
    .map(pick)
    .filter((v) => v != null);
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { median: median(values), min: sorted[0], max: sorted.at(-1) };
}

export const fmt = (n) =>
  n == null ? '-' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2);

/** Write results/<name>.json with the machine's facts, and fail the command if a run failed its checks. */
export function saveResults(name, { runs, seconds, results, failed }) {
  mkdirSync(here('results'), { recursive: true });
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model}`,
    loadAverage: os.loadavg(),
  };
  writeFileSync(
    here(`results/${name}.json`),
    `${JSON.stringify({ ...machine, runs, seconds, results }, null, 2)}\n`,
  );
  if (failed) {
    process.stderr.write(`${failed} run(s) failed their checks\n`);
    process.exitCode = 1;
  }
}
