/**
 * Messaging hub live fan-out: one hub (this process) publishes P publications
 * to one channel with N subscribers (raw `ws` clients in a child process).
 * Reports deliveries per second from the first publish to the last delivery.
 *
 *   npm run build && node bench/hub-fanout.mjs [subscribers=1000] [publications=200] [payloadBytes=100]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Hub } from '../dist/src/messaging/index.js';

const N = Number(process.argv[2] ?? 1000);
const P = Number(process.argv[3] ?? 200);
const SIZE = Number(process.argv[4] ?? 100);

if (process.argv[2] === 'child') {
  const { default: WebSocket } = await import('ws');
  const [, , , url, n, p] = process.argv;
  let ready = 0;
  let received = 0;
  const total = Number(n) * Number(p);
  for (let i = 0; i < Number(n); i++) {
    const ws = new WebSocket(url, 'socketeer.v1.json');
    ws.on('open', () => {
      ws.send(JSON.stringify({ id: 1, cmd: 'connect', params: { subs: { bench: {} } } }));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"id":1,')) {
        if (++ready === Number(n)) process.send({ ready });
        return;
      }
      if (text.startsWith('{"push":"pub"') && ++received === total) process.send({ done: received });
    });
  }
} else {
  const hub = new Hub({ port: 0, host: '127.0.0.1', maxOutboundBytes: 64 * 1024 * 1024 });
  await hub.listening();
  const url = `ws://127.0.0.1:${hub.address().port}`;
  const child = fork(fileURLToPath(import.meta.url), ['child', url, String(N), String(P)]);
  await new Promise((resolve) => child.on('message', (m) => m.ready && resolve()));
  const data = { text: 'x'.repeat(SIZE) };
  const start = process.hrtime.bigint();
  const done = new Promise((resolve) => child.on('message', (m) => m.done && resolve()));
  for (let i = 0; i < P; i++) await hub.publish('bench', data);
  const published = Number(process.hrtime.bigint() - start) / 1e6;
  await done;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    `hub fan-out: ${N} subscribers x ${P} publications (${SIZE} B): ${Math.round((N * P) / (ms / 1000))} deliveries/s (published in ${published.toFixed(0)} ms, all delivered in ${ms.toFixed(0)} ms)`,
  );
  child.kill();
  await hub.close();
}
