// What the proxy attacks of issue 11 (item 8, 10) cost, measured from outside:
// the proxy runs in a child process with its defaults (handshakeTimeout and
// backendTimeout 10 s), backends and attackers run here. Prints descriptors,
// memory and the time until the proxy cut each attack.
//
//   npm run build && node bench/proxy-attacks.mjs halfclose [clients=2000]
//   npm run build && node bench/proxy-attacks.mjs slowloris [clients=500]
//   npm run build && node bench/proxy-attacks.mjs drip
//   npm run build && node bench/proxy-attacks.mjs upload
//   npm run build && node bench/proxy-attacks.mjs inspect
//
// halfclose: clients send FIN without a Close frame (issue: 8,000 held 16,000 fds, forever)
// slowloris: clients drip a header line every second (issue: cut at ~60 s)
// drip:      the backend drips its 101 one byte every 8 s (issue: client held > 45 s)
// upload:    a client aborts a plain-HTTP upload (issue: held upstream ~300 s)
// inspect:   an 8 MiB frame in the same packet as the handshake, limit 64 KiB (issue: passed)
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';

async function startProxy(options) {
  const child = fork(new URL(import.meta.url).pathname, ['--proxy', JSON.stringify(options)]);
  const [{ port }] = await once(child, 'message');
  const sample = async () => {
    child.send('report');
    const [m] = await once(child, 'message');
    return m;
  };
  return { child, port, sample };
}

const HANDSHAKE = (path = '/') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

async function wsBackend() {
  const { WebSocketServer } = await import('../dist/src/index.js');
  const server = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    heartbeatInterval: 0,
    maxConnectionsPerIp: 0,
  });
  await server.listening();
  let messages = 0;
  server.on('connection', (ws) => ws.on('message', () => messages++));
  return { server, url: `ws://127.0.0.1:${server.address().port}`, messages: () => messages };
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const since = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

async function waitUntil(check, limitMs) {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > limitMs) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function attack(kind, n) {
  if (kind === 'halfclose') {
    const clients = n || 2000;
    const b = await wsBackend();
    const p = await startProxy({ routes: [{ backends: [b.url] }] });
    const idle = await p.sample();
    const sockets = [];
    for (let i = 0; i < clients; i++) {
      const s = net.connect(p.port, '127.0.0.1');
      s.on('error', () => {});
      s.write(HANDSHAKE());
      sockets.push(new Promise((resolve) => s.once('data', () => resolve(s))));
      if (i % 200 === 199) await Promise.all(sockets.slice(-200));
    }
    const open = await Promise.all(sockets);
    const held = await p.sample();
    const t0 = Date.now();
    for (const s of open) s.end(); // FIN, no Close frame
    const done = await waitUntil(async () => (await p.sample()).fds <= idle.fds + 5, 60_000);
    const after = await p.sample();
    console.log(
      `halfclose: ${clients} clients open: proxy ${held.fds} fds (idle ${idle.fds}), ${mb(held.rss - idle.rss)} over idle; ` +
        `after FIN: back to ${after.fds} fds in ${since(t0)}${done ? '' : ' (NOT within 60 s)'}, sessions ${after.stats.connections}`,
    );
    for (const s of open) s.destroy();
    p.child.kill();
    await b.server.close();
  } else if (kind === 'slowloris') {
    const clients = n || 500;
    const b = await wsBackend();
    const p = await startProxy({ routes: [{ backends: [b.url] }] });
    const idle = await p.sample();
    const t0 = Date.now();
    const cut = [];
    for (let i = 0; i < clients; i++) {
      const s = net.connect(p.port, '127.0.0.1');
      s.on('error', () => {});
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const drip = setInterval(() => s.write(`X-${i}: ${randomBytes(2).toString('hex')}\r\n`), 1000);
      let answer = '';
      s.on('data', (d) => (answer += d));
      cut.push(once(s, 'close').then(() => (clearInterval(drip), [Date.now() - t0, answer.slice(0, 12)])));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const held = await p.sample();
    const times = await Promise.all(cut);
    const statuses = new Set(times.map((t) => t[1]));
    const after = await p.sample();
    console.log(
      `slowloris: ${clients} clients dripping a header line per second: ${held.fds} fds while held (idle ${idle.fds}); ` +
        `cut after ${(Math.min(...times.map((t) => t[0])) / 1000).toFixed(1)}-${(Math.max(...times.map((t) => t[0])) / 1000).toFixed(1)} s ` +
        `with ${[...statuses].join(', ')}; ${after.fds} fds after`,
    );
    p.child.kill();
    await b.server.close();
  } else if (kind === 'drip') {
    const dripper = net.createServer((s) => {
      s.on('error', () => {});
      const answer = 'HTTP/1.1 101 Switching Protocols\r\n';
      let i = 0;
      s.write(answer[i++]);
      const t = setInterval(() => s.write(answer[i++ % answer.length]), 8000);
      s.on('close', () => clearInterval(t));
    });
    await new Promise((r) => dripper.listen(0, '127.0.0.1', r));
    const p = await startProxy({ routes: [{ backends: [`ws://127.0.0.1:${dripper.address().port}`] }] });
    const t0 = Date.now();
    const s = net.connect(p.port, '127.0.0.1');
    s.write(HANDSHAKE());
    let answer = '';
    s.on('data', (d) => (answer += d));
    await once(s, 'close');
    console.log(
      `drip: backend drips its 101 a byte per 8 s: client answered ${JSON.stringify(answer.split('\r\n')[0])} after ${since(t0)}`,
    );
    p.child.kill();
    dripper.close();
  } else if (kind === 'upload') {
    let t0 = 0;
    const aborted = new Promise((resolve) => {
      const server = http.createServer((req) => {
        req.once('data', () => resolve.started?.());
        req.on('close', () => resolve([Date.now() - t0, req.complete]));
      });
      server.listen(0, '127.0.0.1', async () => {
        const p = await startProxy({ routes: [{ backends: [`http://127.0.0.1:${server.address().port}`] }] });
        const s = net.connect(p.port, '127.0.0.1');
        s.on('error', () => {});
        s.write(
          `POST /up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n${'x'.repeat(65536)}`,
        );
        await new Promise((r) => setTimeout(r, 500));
        t0 = Date.now();
        s.destroy();
        aborted.finally(() => (p.child.kill(), server.close(), server.closeAllConnections()));
      });
    });
    const [ms, complete] = await aborted;
    console.log(
      `upload: client aborts after 64 KiB of 100 MB: upstream request closed after ${ms} ms (complete: ${complete})`,
    );
  } else if (kind === 'inspect') {
    const b = await wsBackend();
    const p = await startProxy({ routes: [{ backends: [b.url], mode: 'inspect', maxMessageSize: 65536 }] });
    const idle = await p.sample();
    const size = 8 * 1024 * 1024;
    const header = Buffer.from([
      0x82,
      0xff,
      0,
      0,
      0,
      0,
      size >>> 24,
      (size >>> 16) & 0xff,
      (size >>> 8) & 0xff,
      size & 0xff,
      0,
      0,
      0,
      0,
    ]);
    const s = net.connect(p.port, '127.0.0.1');
    s.on('error', () => {});
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.write(Buffer.concat([Buffer.from(HANDSHAKE()), header, Buffer.alloc(size)]));
    await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 10_000))]);
    const bytes = Buffer.concat(chunks);
    const frames = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
    const code = frames[0] === 0x88 ? frames.readUInt16BE(2) : 'none';
    const peak = await p.sample();
    console.log(
      `inspect: 8 MiB frame glued to the handshake, limit 64 KiB: close code ${code}, backend got ${b.messages()} messages, ` +
        `proxy ${mb(peak.rss - idle.rss)} over idle`,
    );
    s.destroy();
    p.child.kill();
    await b.server.close();
  } else {
    throw new Error(`unknown attack ${kind}`);
  }
}

// Dispatch last: the helpers above are initialised by then.
if (process.argv[2] === '--proxy') {
  const { ReverseProxy } = await import('../dist/src/proxy/proxy.js');
  const proxy = new ReverseProxy({ port: 0, host: '127.0.0.1', ...JSON.parse(process.argv[3]) });
  const { port } = await proxy.listen();
  const report = () => {
    const u = process.memoryUsage();
    process.send({ rss: u.rss, fds: readdirSync('/proc/self/fd').length, stats: proxy.stats() });
  };
  process.on('message', report);
  process.send({ port });
} else {
  await attack(process.argv[2] ?? 'halfclose', Number(process.argv[3] ?? 0));
  process.exit(0);
}
