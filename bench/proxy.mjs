// The proxy benchmark (issue 7): the same echo load straight to a backend, through
// `socketeer proxy` (splice and inspect) and through nginx, in one run. The proxy
// (or nginx, one worker) runs alone on core 0; the backend and the load generator
// share core 1 in every case, so the only difference between rows is the hop.
//
//   npm run bench:proxy     (nginx must be installed: apt-get install nginx-light)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPinned } from './lib/processes.mjs';

const here = (p) => new URL(p, import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const IDLE = Number(process.env.BENCH_PROXY_IDLE ?? 5000);
async function nodeServer(core, script, options) {
  const s = startPinned(core, [process.execPath, '--expose-gc', here(script), JSON.stringify(options)]);
  const port = Number(await s.next());
  return {
    port,
    rss: async () => {
      s.child.stdin.write('rss\n');
      return Number(await s.next());
    },
    stop: () => {
      s.child.kill('SIGKILL');
      return new Promise((r) => s.child.once('exit', r));
    },
  };
}

function findNginx() {
  for (const path of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' });
      return path;
    } catch {}
  }
  return null;
}

async function nginxServer(backendPort) {
  const dir = mkdtempSync(join(tmpdir(), 'socketeer-nginx-'));
  // Below the ephemeral range (32768+), where the load generator's own ports live.
  const port = 10000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
worker_cpu_affinity 01;
worker_rlimit_nofile 200000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 100000; multi_accept on; }
http {
  access_log off;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream backend { server 127.0.0.1:${backendPort}; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 3600s;
      proxy_buffering off;
    }
  }
}
`,
  );
  const s = startPinned(0, [findNginx(), '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  await new Promise((r) => setTimeout(r, 500));
  const workerRss = () => {
    // The master (our child: sh and taskset exec into it) and its worker: sum both.
    const workers = execFileSync('pgrep', ['-P', String(s.child.pid)])
      .toString()
      .trim()
      .split('\n');
    const pids = [String(s.child.pid), ...workers];
    return pids.reduce((sum, pid) => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return sum + Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
    }, 0);
  };
  return {
    port,
    rss: async () => workerRss(),
    stop: () => {
      s.child.kill('SIGTERM');
      return new Promise((r) => s.child.once('exit', r));
    },
  };
}

async function load(config) {
  const s = startPinned(1, [process.execPath, here('./loadgen.mjs'), JSON.stringify(config)]);
  const first = JSON.parse(await s.next());
  return { first, s };
}

const SCENARIOS = [
  {
    id: 'small',
    title: '32 B text, 64 connections x 16 in flight',
    metric: 'messagesPerSecond',
    unit: 'msg/s',
    load: { mode: 'echo', connections: 64, inFlight: 16, size: 32, binary: false },
  },
  {
    id: 'medium',
    title: '64 KiB binary, 8 connections',
    metric: 'megabytesPerSecond',
    unit: 'MB/s',
    load: { mode: 'echo', connections: 8, inFlight: 1, size: 64 * 1024, binary: true },
  },
  {
    id: 'idle',
    title: `proxy RSS per idle proxied connection at ${IDLE.toLocaleString('en-US')}`,
    metric: 'bytesPerConnection',
    unit: 'bytes',
    load: { mode: 'idle', connections: IDLE },
  },
];

const paths = ['direct', 'splice', 'inspect', ...(findNginx() ? ['nginx'] : [])];
if (!findNginx())
  process.stderr.write('nginx not found (apt-get install nginx-light): its rows are left out\n');

const only = process.env.BENCH_ONLY?.split(',');
const results = [];
for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
  const entry = { id: scenario.id, title: scenario.title, unit: scenario.unit, paths: {} };
  for (const path of paths) {
    if (scenario.id === 'idle' && path === 'direct') continue;
    const values = [];
    const p50 = [];
    for (let run = 0; run < RUNS; run++) {
      process.stderr.write(`${scenario.id} / ${path} run ${run + 1}... `);
      const backend = await nodeServer(1, './servers/socketeer.mjs', {});
      const hop =
        path === 'direct'
          ? null
          : path === 'nginx'
            ? await nginxServer(backend.port)
            : await nodeServer(0, './servers/proxy.mjs', {
                backend: `ws://127.0.0.1:${backend.port}`,
                mode: path,
              });
      const port = hop ? hop.port : backend.port;
      try {
        const config = { ...scenario.load, port, warmupMs: 1000, durationMs: SECONDS * 1000 };
        if (scenario.id === 'idle') {
          const before = await hop.rss();
          const { first, s } = await load(config);
          if (first.error) throw new Error(first.error);
          const afterRss = await hop.rss();
          s.child.stdin.write('done\n');
          await s.next();
          values.push((afterRss - before) / IDLE);
        } else {
          const { first } = await load(config);
          if (first.error) throw new Error(first.error);
          values.push(first[scenario.metric]);
          p50.push(first.latencyMs.p50);
        }
        process.stderr.write(`${Math.round(values.at(-1)).toLocaleString('en-US')} ${scenario.unit}\n`);
      } catch (error) {
        process.stderr.write(`failed: ${error.message}\n`);
      } finally {
        await hop?.stop();
        await backend.stop();
      }
    }
    const sorted = [...values].sort((a, b) => a - b);
    const mid = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
    if (values.length)
      entry.paths[path] = {
        median: mid(values),
        min: sorted[0],
        max: sorted.at(-1),
        p50: p50.length ? mid(p50) : null,
      };
  }
  results.push(entry);
}

let table =
  '| scenario | path | median (min-max) | vs direct | vs nginx | p50 latency ms |\n|---|---|---|---|---|---|\n';
for (const e of results) {
  for (const [path, v] of Object.entries(e.paths)) {
    const ratio = (anchor) => (anchor?.median ? `${(v.median / anchor.median).toFixed(2)}x` : '');
    const fmt = (n) => Math.round(n).toLocaleString('en-US');
    table += `| ${e.id}: ${e.title} | ${path} | ${fmt(v.median)} (${fmt(v.min)}-${fmt(v.max)}) ${e.unit} | ${ratio(e.paths.direct)} | ${ratio(e.paths.nginx)} | ${v.p50?.toFixed(2) ?? ''} |\n`;
  }
}
process.stdout.write(`\n${table}`);
// Scenarios run now replace their earlier entries; the others are kept (BENCH_ONLY runs).
let previous = [];
try {
  previous = JSON.parse(readFileSync(here('./results/proxy.json'), 'utf8')).results ?? [];
} catch {}
const merged = [...previous.filter((e) => !results.some((r) => r.id === e.id)), ...results];
writeFileSync(
  here('./results/proxy.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs: RUNS, results: merged }, null, 2)}\n`,
);
