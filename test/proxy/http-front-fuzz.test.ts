import assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeFrame } from '../../src/protocol/frame-encoder.js';
import { MaskKeyPool } from '../../src/protocol/mask.js';
import type { ReverseProxy } from '../../src/proxy/proxy.js';
import { exchangeHead } from '../node/net-helpers.js';
import { startBackend, startProxy, tripWire } from './helpers.js';

/**
 * Issue 11, "prove the class is gone", for the proxy: random request lines,
 * targets, headers (and frames glued to the head) against its HTTP front, and
 * random requests against its admin port. No input may throw past a handler
 * (a trip-wire records any uncaught exception or unhandled rejection); every
 * answer starts with a valid status line with Node's reason phrase; the proxy
 * never answers 500 for its own fault; it serves normally afterwards.
 */

const wire = tripWire();
after(() => {
  wire.dispose();
  assert.deepEqual(wire.escaped, [], 'nothing escaped to the process');
});

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const TOKEN = 'fuzz-admin-token-0123';

/** The first status line of an answer: a known status with Node's reason phrase. */
function assertStatusLine(response: string, sent: Buffer): number {
  const line = /^HTTP\/1\.[01] (\d{3}) ([^\r\n]*)\r\n/.exec(response);
  assert.ok(
    line,
    `a status line for ${JSON.stringify(sent.toString('latin1'))}: got ${JSON.stringify(response.slice(0, 40))}`,
  );
  const status = Number(line[1]);
  assert.ok(status >= 100 && status <= 599, `status ${status}`);
  assert.equal(line[2], http.STATUS_CODES[status], `the reason phrase of ${status}`);
  return status;
}

const anyChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const nasty = (max: number) => fc.string({ unit: anyChar, maxLength: max });
const token = fc.string({
  unit: fc.constantFrom(...'abcXYZ019-_.!#$%&*+^`|~'.split('')),
  minLength: 1,
  maxLength: 12,
});
const urlish = (max: number) =>
  fc.string({ unit: fc.constantFrom(..."/ws?=&%[]:@!$'()*+,;#.5Bx".split('')), maxLength: max });

const method = fc.oneof(
  { weight: 12, arbitrary: fc.constant('GET') },
  fc.constantFrom('POST', 'PUT', 'DELETE', 'get', 'CONNECT', 'OPTIONS', 'HEAD', 'PRI', ''),
  token,
  nasty(8),
);
const target = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('/', '/ws', '/ws?token=t0k3n', '/ws/x?token=t0k3n', '/?token=t0k3n&boom'),
  },
  fc.constantFrom(
    '*',
    '//%5B',
    '//[',
    '//%5B?token=t0k3n',
    'http://h/ws',
    '/%ff%00',
    '/ws?token=%E0%A4%A',
    '//x:99999',
  ),
  urlish(24),
  nasty(30).map((s) => `/${s}`),
);
const version = fc.oneof(
  { weight: 15, arbitrary: fc.constant('HTTP/1.1') },
  fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 ', ''),
  nasty(10),
);
const host = fc.oneof(
  { weight: 8, arbitrary: fc.constant('127.0.0.1') },
  fc.constantFrom(
    'x";for=6.6.6.6',
    'x,for=6.6.6.6',
    '[::1]:80',
    '[::1',
    'a b',
    'localhost:99999',
    '',
    'chat.example.',
  ),
  nasty(20),
);
const headerName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'Origin',
      'Authorization',
      'Cookie',
      'X-Forwarded-For',
      'Forwarded',
      'X-Real-IP',
      'Host',
      'Connection',
      'Upgrade',
      'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Extensions',
      'X-User',
      'Expect',
      'Content-Length',
    ),
  },
  token,
  nasty(10),
);
const headerValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'Bearer t0k3n',
      `Bearer ${TOKEN}`,
      'https://good.example',
      'http://evil.example',
      'for=6.6.6.6',
      '6.6.6.6',
      '0',
      '100-continue',
      'close',
      'websocket',
      'sid=1; sid=2',
      'chat, boom',
    ),
  },
  nasty(40),
);
const maskKeys = new MaskKeyPool();
/** Frames (or junk) sent in the same packet as the head: the handshake's trailing bytes. */
const trailing = fc.oneof(
  { weight: 3, arbitrary: fc.constant(Buffer.alloc(0)) },
  fc
    .integer({ min: 0, max: 4096 })
    .map((n) => Buffer.concat(encodeFrame(0x2, Buffer.alloc(n, 1), { fin: true, rsv1: false, maskKeys }))),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
);

function chunked(bytes: Buffer, splits: number[]): Buffer[] {
  const cuts = [...new Set(splits.map((s) => s % bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut > from) chunks.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const frontRequest = fc
  .record({
    method,
    target,
    version,
    host: fc.option(host, { nil: undefined, freq: 12 }),
    upgrade: fc.boolean(),
    extra: fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }),
    trailing,
    splits: fc.array(fc.nat(), { maxLength: 3 }),
  })
  .map((r) => {
    const lines = [`${r.method} ${r.target} ${r.version}`];
    if (r.host !== undefined) lines.push(`Host: ${r.host}`);
    if (r.upgrade)
      lines.push(
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${KEY}`,
        'Sec-WebSocket-Version: 13',
      );
    for (const [n, v] of r.extra) lines.push(`${n}: ${v}`);
    // A request with a body length would wait for the body: the fuzz is about heads.
    const head = lines.filter((l) => !/^content-length:\s*[1-9]/i.test(l)).join('\r\n');
    const bytes = Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), r.trailing]);
    return chunked(bytes, r.splits);
  });

describe("the proxy's HTTP front under random requests", () => {
  let proxy: ReverseProxy;
  let port: number;
  let stopBackend: () => Promise<void>;
  before(async () => {
    const b = await startBackend('fuzzed');
    stopBackend = b.stop;
    ({ proxy, port } = await startProxy({
      routes: [
        {
          path: '/ws',
          mode: 'inspect',
          maxMessageSize: 1024,
          backends: [b.url],
          balance: { hash: 'cookie', name: 'sid' },
        },
        { path: '/', backends: [b.url], balance: { hash: 'header', name: 'x-user' } },
      ],
      tokens: { values: ['t0k3n'] },
      origins: ['https://good.example'],
      trustProxy: ['10.0.0.1'],
      // An application hook that fails on odd input, as real ones do.
      authenticate: (req) => {
        if (req.url?.includes('boom')) throw new Error('hook bug');
        return undefined;
      },
      handshakeTimeout: 3000,
    }));
  });
  after(async () => {
    await proxy.close();
    await stopBackend();
  });

  test('every request gets a valid status line; the proxy never faults', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(frontRequest, async (chunks) => {
        const sent = Buffer.concat(chunks);
        const status = assertStatusLine(await exchangeHead(port, chunks), sent);
        seen.set(status, (seen.get(status) ?? 0) + 1);
      }),
      { numRuns: 500 },
    );
    assert.equal(proxy.stats().refused['internal-error'], undefined, 'no fault of the proxy');
    // The generator reaches the interesting outcomes, not only 400s.
    for (const status of [101, 200, 400, 401])
      assert.ok(seen.has(status), `status ${status} in ${[...seen.keys()]}`);
  });

  test('afterwards the proxy still serves', async () => {
    const answer = await exchangeHead(port, [Buffer.from('GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe("the proxy's admin port under random requests", () => {
  let proxy: ReverseProxy;
  let admin: http.Server;
  let adminPort: number;
  let stopBackend: () => Promise<void>;
  before(async () => {
    const b = await startBackend('admin-fuzzed');
    stopBackend = b.stop;
    ({ proxy } = await startProxy({ routes: [{ backends: [b.url] }], adminToken: TOKEN }));
    admin = proxy.createAdminServer();
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    adminPort = (admin.address() as net.AddressInfo).port;
  });
  after(async () => {
    admin.closeAllConnections();
    await new Promise((r) => admin.close(r));
    await proxy.close();
    await stopBackend();
  });

  const adminTarget = fc.oneof(
    fc.constantFrom('/status', '/drain', '/undrain', '/add', '/remove', '//[', '//%5B', '*', '/status?x=%ZZ'),
    fc
      .tuple(
        fc.constantFrom('/drain', '/undrain', '/add', '/remove'),
        fc.oneof(
          fc.constantFrom(
            'ws://127.0.0.1:9/',
            'not a url',
            'ftp://x',
            '%',
            'ws://[::1',
            'ws://127.0.0.1:99999',
          ),
          nasty(20),
        ),
        fc.oneof(fc.constantFrom('0', '1', '-1', 'NaN', '1e9', ''), nasty(4)),
      )
      .map(
        ([path, backend, route]) =>
          `${path}?backend=${encodeURIComponent(backend)}&route=${encodeURIComponent(route)}`,
      ),
    urlish(30),
    nasty(30).map((s) => `/${s}`),
  );
  const randomAdminRequest = fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST') }, method),
      target: adminTarget,
      version,
      host: fc.option(fc.oneof(fc.constant('127.0.0.1'), fc.constant('localhost:1'), host), {
        nil: undefined,
        freq: 12,
      }),
      auth: fc.oneof(
        { weight: 4, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
        fc.constantFrom('Bearer nope', `bearer ${TOKEN}`, undefined),
      ),
      extra: fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }),
      splits: fc.array(fc.nat(), { maxLength: 3 }),
    })
    .map((r) => {
      const lines = [`${r.method} ${r.target} ${r.version}`];
      if (r.host !== undefined) lines.push(`Host: ${r.host}`);
      if (r.auth !== undefined) lines.push(`Authorization: ${r.auth}`);
      for (const [n, v] of r.extra) lines.push(`${n}: ${v}`);
      const head = lines.filter((l) => !/^content-length:\s*[1-9]/i.test(l)).join('\r\n');
      return chunked(Buffer.from(`${head}\r\n\r\n`, 'latin1'), r.splits);
    });
  /**
   * Well-formed requests, mostly with the right token: alone, the random ones above get a 200
   * in ~1% of runs (45 of 4,000 sampled), so 1 run in ~30 of 300 never saw one and the
   * coverage check below failed at random. A tenth of the runs are these.
   */
  const wellFormedAdminRequest = fc
    .record({
      line: fc.constantFrom(
        'GET /status',
        'POST /add?backend=ws%3A%2F%2F127.0.0.1%3A9%2F&route=0',
        'POST /drain?backend=ws%3A%2F%2F127.0.0.1%3A9%2F',
        'POST /undrain?backend=ws%3A%2F%2F127.0.0.1%3A9%2F',
      ),
      token: fc.constantFrom(TOKEN, TOKEN, TOKEN, 'wrong-token'),
    })
    .map(({ line, token }) => [
      Buffer.from(`${line} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`),
    ]);
  const adminRequest = fc.oneof(
    { weight: 9, arbitrary: randomAdminRequest },
    { weight: 1, arbitrary: wellFormedAdminRequest },
  );

  test('every request gets a valid status line, never a 500', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(adminRequest, async (chunks) => {
        const sent = Buffer.concat(chunks);
        const status = assertStatusLine(await exchangeHead(adminPort, chunks), sent);
        assert.notEqual(status, 500, `no internal error for ${JSON.stringify(sent.toString('latin1'))}`);
        seen.set(status, (seen.get(status) ?? 0) + 1);
      }),
      { numRuns: 300 },
    );
    for (const status of [200, 400, 401, 404])
      assert.ok(seen.has(status), `status ${status} in ${[...seen.keys()]}`);
  });

  test('afterwards the admin port still answers', async () => {
    const answer = await exchangeHead(adminPort, [
      Buffer.from(`GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`),
    ]);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  });
});
