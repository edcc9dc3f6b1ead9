import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { encodeFrame } from '../../src/protocol/frame-encoder.js';
import { MaskKeyPool } from '../../src/protocol/mask.js';
import { type ProxyOptions, ReverseProxy } from '../../src/proxy/proxy.js';
import { HANDSHAKE, rawClient, rawExchange } from '../node/net-helpers.js';
import { guardedFile, startBackend, startProxy } from './helpers.js';

/**
 * Regression tests for the proxy's remote crashes and resource holds (issue 11):
 * each fails against the code before its fix. A trip-wire records anything that
 * escapes to the process (unhandled rejection, uncaught exception).
 */

const { wire, cleanups } = guardedFile();

async function backend() {
  const b = await startBackend('b0');
  cleanups.push(() => b.stop());
  return b;
}

async function proxyFor(options: Omit<ProxyOptions, 'port'>) {
  const p = await startProxy(options);
  cleanups.push(() => p.proxy.close());
  return p;
}

async function adminFor(proxy: {
  handleAdmin: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}) {
  const admin = http.createServer((req, res) => proxy.handleAdmin(req, res));
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => admin.close(() => r())));
  return (admin.address() as AddressInfo).port;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

/** A tick for rejections and exceptions raised by the last exchange to surface. */
const settle = () => new Promise((r) => setImmediate(r));

describe('proxy: remote crashes (issue 11, crashes 2 and 3)', () => {
  test('with tokens configured, a request target that is not a URL gets 401, not an unhandled rejection', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }], tokens: { values: ['s3cret'] } });
    for (const target of ['//%5B', '//[', '//a:b@[::1', '//x:99999']) {
      const answer = await rawExchange(port, HANDSHAKE(target));
      assert.match(answer, /^HTTP\/1\.1 401 /, target);
    }
    assert.match(await rawExchange(port, HANDSHAKE('//%5B?token=s3cret')), /^HTTP\/1\.1 101 /);
    await settle();
    assert.deepEqual(wire.escaped, []);
  });

  test('the admin port answers a request target that is not a URL (404) and keeps serving', async () => {
    const b = await backend();
    const { proxy } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const adminPort = await adminFor(proxy);
    for (const target of ['//[', '//%5B', '//[/status', '//x:99999/status']) {
      const answer = await rawExchange(adminPort, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 404 /, target);
    }
    const status = await rawExchange(
      adminPort,
      'GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    assert.match(status, /^HTTP\/1\.1 200 /);
    await settle();
    assert.deepEqual(wire.escaped, []);
  });
});

/** Resolve with `promise`, or fail naming `what` when it takes more than a generous bound. */
function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

const maskKeys = new MaskKeyPool();
/** A masked client frame. */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  return Buffer.concat(encodeFrame(opcode, payload, { fin, rsv1: false, maskKeys }));
}

/** The close code of the first Close frame (unmasked, from the proxy) in `bytes`, if any. */
function closeCodeIn(bytes: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const len7 = bytes[at + 1]! & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const length =
      len7 === 126 ? bytes.readUInt16BE(at + 2) : len7 === 127 ? Number(bytes.readBigUInt64BE(at + 2)) : len7;
    const start = at + 2 + ext;
    if ((bytes[at]! & 0x0f) === 0x8) return length >= 2 ? bytes.readUInt16BE(start) : 1005;
    at = start + length;
  }
  return undefined;
}

describe('proxy: connections that end badly are cut (issue 11, item 8)', () => {
  test('a client that sends FIN without a Close frame: the backend gets 1001 and both sockets close', async () => {
    const b = await backend();
    const { port, proxy } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const backendClosed = new Promise<number>((resolve) =>
      b.wss.once('connection', (ws) => ws.once('close', (code) => resolve(code))),
    );
    const client = await rawClient(port);
    await client.waitFor((bytes) => bytes.includes('hello from b0'));
    const clientClosed = once(client.socket, 'close');
    client.socket.end(); // FIN, no Close frame, and the socket stays readable
    assert.equal(await within(backendClosed, 'the backend hears of it'), 1001);
    await within(clientClosed, 'the proxy closes its side (no CLOSE-WAIT)');
    await within(
      until(() => proxy.stats().connections === 0),
      'the session ends',
    );
  });

  test('a client FIN after its Close frame: the backend closes normally, the proxy does not wait', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const backendClosed = new Promise<number>((resolve) =>
      b.wss.once('connection', (ws) => ws.once('close', (code) => resolve(code))),
    );
    const client = await rawClient(port);
    await client.waitFor((bytes) => bytes.includes('hello from b0'));
    const clientClosed = once(client.socket, 'close');
    client.socket.end(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
    assert.equal(await within(backendClosed, 'the backend closes'), 1000);
    await within(clientClosed, 'the client socket closes');
    assert.equal(closeCodeIn(client.frames()), 1000, 'the backend answered the Close');
  });

  test('an aborted plain-HTTP upload is aborted upstream at once', async () => {
    let upstreamRequest: http.IncomingMessage | undefined;
    let markReceived: () => void = () => {};
    let markClosed: (complete: boolean) => void = () => {};
    const received = { promise: new Promise<void>((r) => (markReceived = r)) };
    const upstreamClosed = { promise: new Promise<boolean>((r) => (markClosed = r)) };
    const uploads = http.createServer((req) => {
      upstreamRequest = req;
      req.once('data', () => markReceived());
      req.on('close', () => markClosed(req.complete));
    });
    await new Promise<void>((r) => uploads.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      uploads.closeAllConnections();
      await new Promise((r) => uploads.close(r));
    });
    const { port } = await proxyFor({
      routes: [{ backends: [`http://127.0.0.1:${(uploads.address() as AddressInfo).port}`] }],
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`,
    );
    await within(received.promise, 'the upload reaches the backend');
    socket.destroy();
    assert.equal(await within(upstreamClosed.promise, 'the upstream request is aborted'), false);
    assert.ok(upstreamRequest);
  });

  /** A plain HTTP backend that records each request's body and answers 200 with its length once complete. */
  async function uploadBackend() {
    const requests: Array<{ chunks: number; bytes: number; complete: boolean; closed: Promise<boolean> }> =
      [];
    const chunkArrived: Array<() => void> = [];
    const uploads = http.createServer((req, res) => {
      const seen = {
        chunks: 0,
        bytes: 0,
        complete: false,
        closed: new Promise<boolean>((r) => req.on('close', () => r(req.complete))),
      };
      requests.push(seen);
      req.on('error', () => {}); // an aborted request is what some tests expect
      req.on('data', (chunk: Buffer) => {
        seen.chunks++;
        seen.bytes += chunk.length;
        chunkArrived.shift()?.();
      });
      req.on('end', () => {
        seen.complete = true;
        res.end(`got ${seen.bytes}`);
      });
    });
    await new Promise<void>((r) => uploads.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      uploads.closeAllConnections();
      await new Promise((r) => uploads.close(r));
    });
    const nextChunk = () => new Promise<void>((r) => chunkArrived.push(r));
    return { url: `http://127.0.0.1:${(uploads.address() as AddressInfo).port}`, requests, nextChunk };
  }

  test('a slow upload that keeps moving is not cut by the backend deadline, which starts once it is passed on', async () => {
    const b = await uploadBackend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }], backendTimeout: 40 });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const ended = once(socket, 'end');
    socket.write(
      'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n',
    );
    // The client is slow on purpose: each chunk leaves well after the last one arrived,
    // so the upload as a whole takes several backend deadlines.
    for (let i = 0; i < 4; i++) {
      const arrived = b.nextChunk();
      socket.write('x'.repeat(1000));
      await within(arrived, `chunk ${i} reaches the backend`);
      if (i < 3) await new Promise((r) => setTimeout(r, 30));
    }
    await within(ended, 'the answer arrives');
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /got 4000$/);
    assert.equal(b.requests[0]?.complete, true);
  });

  test('an upload that stalls gets 408 and is aborted upstream (no 300 s hold)', async () => {
    const b = await uploadBackend();
    const { port, proxy } = await proxyFor({ routes: [{ backends: [b.url] }], requestBodyTimeout: 100 });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const closed = once(socket, 'close');
    const arrived = b.nextChunk();
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(10)}`,
    );
    await within(arrived, 'the start of the body reaches the backend');
    await within(closed, 'the proxy ends the stalled request');
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.equal(await within(b.requests[0]!.closed, 'the upstream request is aborted'), false);
    assert.equal(proxy.stats().refused['request-body-timeout'], 1);
  });

  test('a client that stops uploading after the backend answered early (413) is cut, not held', async () => {
    let backendSockets = 0;
    const early = http.createServer((req, res) => {
      req.on('error', () => {});
      res.writeHead(413, { 'content-type': 'text/plain' }).end('too large\n');
    });
    early.on('connection', (socket) => {
      backendSockets++;
      socket.on('close', () => backendSockets--);
    });
    await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      early.closeAllConnections();
      await new Promise((r) => early.close(r));
    });
    const { port, proxy } = await proxyFor({
      routes: [{ backends: [`http://127.0.0.1:${(early.address() as AddressInfo).port}`] }],
      requestBodyTimeout: 100,
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const closed = once(socket, 'close');
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(10)}`,
    );
    await within(closed, 'the proxy cuts the stalled client');
    assert.match(answer, /^HTTP\/1\.1 413 /, 'the early answer was passed on first');
    // Cut by the body's idle limit (before, only Node's keep-alive wait ended it, 5 s later).
    assert.equal(proxy.stats().refused['request-body-timeout'], 1);
    await until(() => backendSockets === 0);
  });

  test('keep-alive: many uploads on one client connection leave no listeners behind', async () => {
    const b = await uploadBackend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 15; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const request = http.request(
            { port, host: '127.0.0.1', method: 'POST', path: '/up', agent },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          request.on('error', reject);
          request.end('x'.repeat(100));
        });
        assert.equal(status, 200);
      }
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
      assert.equal(b.requests.length, 15);
    } finally {
      process.off('warning', onWarning);
      agent.destroy();
    }
  });

  test('a backend that never reads a large upload gets its deadline (504), not an endless wait', async () => {
    const stuck = net.createServer((socket) => {
      socket.pause(); // accepts the connection, never reads: the upload blocks on 'drain'
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r));
    const held = new Set<net.Socket>();
    stuck.on('connection', (socket) => held.add(socket));
    cleanups.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((r) => stuck.close(r));
    });
    const size = 32 * 1024 * 1024;
    const { port } = await proxyFor({
      routes: [{ backends: [`http://127.0.0.1:${(stuck.address() as AddressInfo).port}`] }],
      backendTimeout: 200,
      requestBodyTimeout: 200,
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const answered = new Promise<void>((r) => socket.on('data', () => answer.includes('\r\n\r\n') && r()));
    socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(Buffer.alloc(size, 0x78));
    await within(answered, 'the proxy answers');
    assert.match(answer, /^HTTP\/1\.1 504 /);
    socket.destroy();
  });

  test('a backend dripping its 101 a byte at a time is cut at the deadline (504), not kept alive by each byte', async () => {
    const drips: NodeJS.Timeout[] = [];
    const dripper = net.createServer((socket) => {
      socket.on('error', () => {});
      const answer = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n';
      let i = 0;
      socket.once('data', () => {
        const timer = setInterval(() => socket.write(answer[i++ % answer.length]!), 20);
        drips.push(timer);
        socket.on('close', () => clearInterval(timer));
      });
    });
    await new Promise<void>((r) => dripper.listen(0, '127.0.0.1', r));
    const dripperClosed = new Promise((resolve) =>
      dripper.once('connection', (s) => s.once('close', resolve)),
    );
    cleanups.push(async () => {
      for (const t of drips) clearInterval(t);
      await new Promise((r) => dripper.close(r));
    });
    const { port, proxy } = await proxyFor({
      routes: [{ backends: [`ws://127.0.0.1:${(dripper.address() as AddressInfo).port}`] }],
      backendTimeout: 300,
    });
    const answer = await rawExchange(port, HANDSHAKE('/'), 30_000);
    assert.match(answer, /^HTTP\/1\.1 504 /);
    await within(dripperClosed, 'the backend connection is closed');
    assert.equal(proxy.stats().refused['backend-timeout'], 1);
  });

  test('slowloris on the listener: a head not complete within handshakeTimeout gets 408 and is closed', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }], handshakeTimeout: 300 });
    const silent = rawExchange(port, '', 30_000);
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let got = '';
    socket.on('data', (d) => (got += d));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 20);
    await within(once(socket, 'close'), 'the dripping client is cut');
    clearInterval(drip);
    assert.match(got, /^HTTP\/1\.1 408 /);
    assert.match(await silent, /^HTTP\/1\.1 408 |^$/);
  });
});

describe('proxy: spoofing and policy bypass (issue 11, items 9 and 10)', () => {
  test('a Host that would add to Forwarded gets 400; good ones are quoted and escaped per RFC 7239', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }] });
    for (const host of ['x";for=6.6.6.6', 'x,for=6.6.6.6', 'a b', 'x:99999', 'x\\"']) {
      const handshake = HANDSHAKE('/').replace('Host: 127.0.0.1', `Host: ${host}`);
      assert.match(await rawExchange(port, handshake), /^HTTP\/1\.1 400 /, `upgrade with Host ${host}`);
      const get = `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
      assert.match(await rawExchange(port, get), /^HTTP\/1\.1 400 /, `GET with Host ${host}`);
    }
    const twice = HANDSHAKE('/').replace('Host: 127.0.0.1', 'Host: 127.0.0.1\r\nHost: other');
    assert.match(await rawExchange(port, twice), /^HTTP\/1\.1 400 /);
    assert.equal(b.upgrades.length, 0, 'none reached the backend');
    for (const host of [
      'chat.example.com',
      'chat.example.com.:8080',
      '[::1]:80',
      '10.0.0.1',
      'xn--bcher-kva.example',
    ]) {
      const handshake = HANDSHAKE('/').replace('Host: 127.0.0.1', `Host: ${host}`);
      assert.match(await rawExchange(port, handshake, 300), /^HTTP\/1\.1 101 /, host);
      assert.equal(b.upgrades.at(-1)!.forwarded, `for=127.0.0.1;proto=http;host="${host}"`);
    }
  });

  test('X-Real-IP from a client is replaced like the other forwarding headers', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }] });
    await rawExchange(port, HANDSHAKE('/', 'X-Real-IP: 6.6.6.6\r\n'), 300);
    assert.equal(b.upgrades.at(-1)!['x-real-ip'], '127.0.0.1');
    const answer = await rawExchange(
      port,
      'GET /ip HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Real-IP: 6.6.6.6\r\nConnection: close\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(b.requests.at(-1)!['x-real-ip'], '127.0.0.1');
  });

  test('inspect mode: a frame in the same packet as the upgrade request is held to maxMessageSize', async () => {
    const b = await backend();
    let messages = 0;
    b.wss.on('connection', (ws) => ws.on('message', () => messages++));
    const { port } = await proxyFor({
      routes: [{ backends: [b.url], mode: 'inspect', maxMessageSize: 1024 }],
    });
    const big = clientFrame(0x2, Buffer.alloc(64 * 1024, 7));
    const answer = Buffer.from(
      await rawExchange(port, Buffer.concat([Buffer.from(HANDSHAKE('/')), big])),
      'latin1',
    );
    const head = answer.indexOf('\r\n\r\n');
    assert.match(answer.toString('latin1', 0, 12), /^HTTP\/1\.1 101/);
    assert.equal(closeCodeIn(answer.subarray(head + 4)), 1009);
    assert.equal(messages, 0, 'the oversized message did not reach the backend');
    const small = clientFrame(0x1, Buffer.from('early and small'));
    const echoed = await rawExchange(port, Buffer.concat([Buffer.from(HANDSHAKE('/')), small]), 500);
    assert.match(echoed, /early and small/, 'a small early frame still goes through');
  });

  test('a 64-bit frame length with the top bit set is a protocol error (1002), in splice mode too', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const backendClosed = new Promise<number>((resolve) =>
      b.wss.once('connection', (ws) => ws.once('close', (code) => resolve(code))),
    );
    const client = await rawClient(port);
    await client.waitFor((bytes) => bytes.includes('hello from b0'));
    client.socket.write(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]));
    await client.waitFor(() => closeCodeIn(client.frames()) !== undefined);
    assert.equal(closeCodeIn(client.frames()), 1002);
    assert.equal(await within(backendClosed, 'the backend is closed'), 1001);
  });
});

describe('proxy: the admin API refuses web pages and strangers (issue 11, item 11)', () => {
  async function request(port: number, method: string, path: string, headers: Record<string, string>) {
    const lines = Object.entries({ Host: `127.0.0.1:${port}`, ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const answer = await rawExchange(port, `${method} ${path} HTTP/1.1\r\n${lines}Connection: close\r\n\r\n`);
    return Number(answer.slice(9, 12));
  }

  test('a cross-site POST (Origin, Sec-Fetch-Site) is refused with 403 and adds nothing', async () => {
    const b = await backend();
    const { proxy } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const port = await adminFor(proxy);
    const add = '/add?backend=ws%3A%2F%2Fevil.example%3A80';
    assert.equal(await request(port, 'POST', add, { Origin: 'https://evil.example' }), 403);
    assert.equal(await request(port, 'POST', add, { Origin: 'null' }), 403);
    assert.equal(await request(port, 'POST', add, { 'Sec-Fetch-Site': 'cross-site' }), 403);
    assert.equal(await request(port, 'GET', '/status', { Origin: `http://127.0.0.1:${port}` }), 403);
    assert.equal(proxy.stats().routes[0]!.backends.length, 1);
    assert.equal(await request(port, 'GET', '/status', {}), 200, 'curl-like clients still work');
  });

  test('the Host must be an address, localhost or an adminHosts name (DNS rebinding)', async () => {
    const b = await backend();
    const { proxy } = await proxyFor({ routes: [{ backends: [b.url] }], adminHosts: ['Proxy-Admin'] });
    const port = await adminFor(proxy);
    assert.equal(await request(port, 'GET', '/status', { Host: `rebind.evil.example:${port}` }), 403);
    for (const host of [`localhost:${port}`, `[::1]:${port}`, '10.1.2.3', `proxy-admin:${port}`]) {
      assert.equal(await request(port, 'GET', '/status', { Host: host }), 200, host);
    }
  });

  test('with adminToken, requests need Authorization: Bearer <token> (401 otherwise)', async () => {
    const b = await backend();
    const token = 'correct-horse-battery-staple';
    const { proxy } = await proxyFor({ routes: [{ backends: [b.url] }], adminToken: token });
    const port = await adminFor(proxy);
    const add = `/add?backend=${encodeURIComponent('ws://127.0.0.1:9/')}`;
    assert.equal(await request(port, 'POST', add, {}), 401);
    assert.equal(
      await request(port, 'POST', add, { Authorization: 'Bearer wrong-token-of-some-length' }),
      401,
    );
    assert.equal(await request(port, 'POST', add, { Authorization: `Basic ${token}` }), 401);
    assert.equal(proxy.stats().routes[0]!.backends.length, 1);
    assert.equal(await request(port, 'POST', add, { Authorization: `Bearer ${token}` }), 200);
    assert.equal(proxy.stats().routes[0]!.backends.length, 2);
    assert.throws(
      () => new ReverseProxy({ routes: [{ backends: [b.url] }], adminToken: 'short' }),
      /"adminToken" must be a string of at least 16 visible ASCII characters; got "\(not shown\)"/,
    );
  });
});

describe('proxy: routes match whole path segments (issue 13, item 10)', () => {
  test('"/chat" matches /chat, /chat/x and /chat?q, not /chatroom', async () => {
    const [chat, other] = [await startBackend('chat'), await startBackend('other')];
    cleanups.push(
      () => chat.stop(),
      () => other.stop(),
    );
    const { port } = await proxyFor({
      routes: [
        { path: '/chat', backends: [chat.url] },
        { path: '/', backends: [other.url] },
      ],
    });
    const via = async (path: string) =>
      /hello from (\w+)/.exec(await rawExchange(port, HANDSHAKE(path), 300))?.[1];
    assert.equal(await via('/chat'), 'chat');
    assert.equal(await via('/chat/room1'), 'chat');
    assert.equal(await via('/chat?room=1'), 'chat');
    assert.equal(await via('/chatroom'), 'other');
    assert.equal(await via('/chat.html'), 'other');
  });
});
