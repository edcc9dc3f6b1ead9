// Server memory per connection with permessage-deflate, socketeer vs ws, same run,
// same client load (the `ws` client with its default deflate offer). Each client
// sends one 4 KiB compressible message and waits for the echo, so both zlib
// contexts exist, then stays idle. Server pinned to core 0 (taskset), median of runs.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WS from 'ws';

const counts = (process.env.BENCH_COUNTS ?? '1000,10000').split(',').map(Number);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const message = 'socketeer benchmark payload, quite compressible. '.repeat(84).slice(0, 4096);

function startServer(impl, deflate) {
  const child = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      '--expose-gc',
      new URL('./servers/echo.mjs', import.meta.url).pathname,
      impl,
      deflate ? '1' : '0',
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = () => new Promise((r) => queue.push(r));
  return {
    child,
    next,
    rss: async () => {
      child.stdin.write('rss\n');
      return Number(await next());
    },
  };
}

async function openClients(port, count, deflate) {
  const clients = [];
  for (let i = 0; i < count; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 200); j++) {
      batch.push(
        new Promise((resolve, reject) => {
          const ws = new WS(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
          ws.once('error', reject);
          ws.once('open', () => {
            ws.send(message);
            ws.once('message', () => resolve(ws));
          });
        }),
      );
    }
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

async function measure(impl, deflate, count) {
  const server = startServer(impl, deflate);
  const port = Number(await server.next());
  const before = await server.rss();
  const clients = await openClients(port, count, deflate);
  if (deflate && !clients[0].extensions.includes('permessage-deflate'))
    throw new Error(`${impl} did not negotiate deflate`);
  const after = await server.rss();
  for (const c of clients) c.terminate();
  server.child.kill();
  return (after - before) / count;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const count of counts) {
  for (const deflate of [true, false]) {
    const row = { count, deflate };
    for (const impl of ['socketeer', 'ws']) {
      const samples = [];
      for (let r = 0; r < runs; r++) {
        process.stderr.write(
          `\r${count} conns, deflate ${deflate ? 'on ' : 'off'}, ${impl.padEnd(9)} run ${r + 1}/${runs}   `,
        );
        samples.push(await measure(impl, deflate, count));
      }
      row[impl] = {
        median: Math.round(median(samples)),
        min: Math.round(Math.min(...samples)),
        max: Math.round(Math.max(...samples)),
      };
    }
    row.ratio = +(row.socketeer.median / row.ws.median).toFixed(2);
    results.push(row);
  }
}
process.stderr.write('\n');
const fmt = (n) => n.toLocaleString('en-US');
console.log('\nServer RSS growth per connection (bytes; median of %d, min-max)', runs);
console.log('| connections | deflate | socketeer | ws | socketeer / ws |');
console.log('|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${fmt(r.count)} | ${r.deflate ? 'on' : 'off'} | ${fmt(r.socketeer.median)} (${fmt(r.socketeer.min)}-${fmt(r.socketeer.max)}) | ${fmt(r.ws.median)} (${fmt(r.ws.min)}-${fmt(r.ws.max)}) | ${r.ratio} |`,
  );
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/deflate-memory.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs, results }, null, 2)}\n`,
);
