import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { computeAccept } from '../../src/protocol/handshake.js';
import { exchangeHead, startServer } from './net-helpers.js';

/**
 * Issue 11, "prove the class is gone": random request heads against a
 * standalone server whose hooks throw on some inputs, as application code
 * does. No input may throw past a handler or leave a promise rejection
 * unhandled; every answer is a 101 with the right accept key or an error
 * status with its standard reason phrase; the server serves normally after.
 */

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

const PHRASES: Record<number, string> = {
  101: 'Switching Protocols',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  505: 'HTTP Version Not Supported',
};

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

const anyChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const nastyString = (max: number) => fc.string({ unit: anyChar, maxLength: max });
const tokenString = fc.string({
  unit: fc.constantFrom(...'abcXYZ019-_.!#$%&*+^`|~'.split('')),
  minLength: 1,
  maxLength: 12,
});

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant('GET') },
  fc.constantFrom('POST', 'get', 'CONNECT', 'OPTIONS', 'PRI', ''),
  tokenString,
  nastyString(8),
);
const target = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/ws', '/ws?x=1', '/ws?boom', '/ws?reject', '/ws?url') },
  fc.constantFrom('/other', '*', '//%5B', '//[', 'http://h/ws', '/ws#f', '/%ff%00', '/ws?%E0%A4%A'),
  fc.string({ unit: fc.constantFrom(..."/ws?=&%[]:@!$'()*+,;".split('')), maxLength: 20 }),
  nastyString(30).map((s) => `/ws${s}`),
  fc.string({ maxLength: 10 }).map((s) => `/${Buffer.from(s).toString('latin1')}`),
);
const version = fc.oneof(
  { weight: 6, arbitrary: fc.constant('HTTP/1.1') },
  fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', ''),
  nastyString(10),
);
const goodHeaders: Array<[string, string]> = [
  ['Host', '127.0.0.1'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
];
const headerName = fc.oneof(
  fc.constantFrom(
    'Host',
    'Upgrade',
    'Connection',
    'Sec-WebSocket-Key',
    'Sec-WebSocket-Version',
    'Sec-WebSocket-Protocol',
    'Sec-WebSocket-Extensions',
    'Origin',
    'X-Forwarded-For',
    'Forwarded',
    'Cookie',
  ),
  tokenString,
  nastyString(10),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'websocket',
    'Upgrade',
    '13',
    '8, 13',
    KEY,
    'chat, boom',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; x=";\\"',
    '1.2.3.4, ::1',
    'for="[::1]:80";proto=https',
    'http://evil.example',
  ),
  nastyString(40),
  fc.string({ maxLength: 60 }).map((s) => Buffer.from(s).toString('latin1')),
);
const randomRequest = fc
  .record({
    method,
    target,
    version,
    keep: fc.array(fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)), {
      minLength: 5,
      maxLength: 5,
    }),
    extra: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
    splits: fc.array(fc.nat(), { maxLength: 3 }),
  })
  .map(({ method, target, version, keep, extra, splits }) => {
    const lines = [`${method} ${target} ${version}`];
    for (const [n, v] of [...goodHeaders.filter((_, i) => keep[i]), ...extra]) lines.push(`${n}: ${v}`);
    const bytes = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    const cuts = [...new Set(splits.map((s) => s % bytes.length))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let from = 0;
    for (const cut of cuts) {
      if (cut > from) chunks.push(bytes.subarray(from, cut));
      from = Math.max(from, cut);
    }
    chunks.push(bytes.subarray(from));
    return chunks;
  });
/**
 * Complete handshakes to the paths whose hooks refuse or fail: alone, the random heads above
 * reach a 500 in ~1% of runs (39 of 4,000 sampled), so 1 run in ~50 of 400 never saw one and
 * the coverage check below failed at random. A tenth of the runs are these.
 */
const wellFormed = fc
  .record({
    target: fc.constantFrom('/ws', '/ws?boom', '/ws?reject', '/ws?url', '/other'),
    extra: fc.constantFrom('', 'Sec-WebSocket-Protocol: chat, boom\r\n', 'Origin: http://[\r\n'),
  })
  .map(({ target, extra }) => [
    Buffer.from(
      `GET ${target} HTTP/1.1\r\n${goodHeaders.map(([n, v]) => `${n}: ${v}\r\n`).join('')}${extra}\r\n`,
      'latin1',
    ),
  ]);
const request = fc.oneof({ weight: 9, arbitrary: randomRequest }, { weight: 1, arbitrary: wellFormed });

describe('HTTP front of a standalone server under random request heads', () => {
  let server: WebSocketServer;
  let port: number;
  const hookErrors: Error[] = [];
  before(async () => {
    ({ server, port } = await startServer({
      path: '/ws',
      handshakeTimeout: 3000,
      // Application hooks that fail on odd input, as real ones do.
      handleProtocols: (offered) => {
        if (offered.includes('boom')) throw new Error('handleProtocols bug');
        return offered[0];
      },
      authenticate: async (req) => {
        if (req.url?.includes('boom')) throw new Error('authenticate bug');
        if (req.url?.includes('reject')) return { reject: 401 };
        if (req.url?.includes('badheader')) return { reject: 403, headers: { 'X-Why': 'a\r\nb' } };
        if (req.url?.includes('url')) new URL(req.headers.origin ?? '', 'http://x'); // may throw
        return { user: new URL(req.url ?? '/', `http://${req.headers.host}`).pathname };
      },
    }));
    server.on('error', (e) => hookErrors.push(e));
    server.on('connection', (ws) => ws.on('error', () => {}));
  });
  after(() => server.close());

  test('every head gets a 101 with the right key or an error status with its phrase', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (chunks) => {
        const errorsBefore = hookErrors.length;
        const response = await exchangeHead(port, chunks);
        const line = /^HTTP\/1\.1 (\d{3}) ([^\r\n]*)\r\n/.exec(response);
        assert.ok(line, `a status line for ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`);
        const status = Number(line[1]);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        assert.ok(status in PHRASES, `status ${status} is expected`);
        assert.equal(line[2], PHRASES[status], `the reason phrase of ${status}`);
        // A 500 only ever comes from a hook of this test failing (reported on 'error' before the
        // answer is written), never from the server's own request path.
        if (status === 500) assert.ok(hookErrors.length > errorsBefore, 'the 500 is a hook failure');
        if (status === 101)
          assert.ok(response.includes(`\r\nSec-WebSocket-Accept: ${computeAccept(KEY)}\r\n`));
        else assert.match(response, /\r\nConnection: close\r\n/);
      }),
      { numRuns: 400 },
    );
    // The generator reaches the interesting outcomes, not only 400s.
    for (const status of [101, 400, 404, 500]) assert.ok(seen.has(status), `status ${status} was produced`);
  });

  const handshake = (path: string, extra = '') =>
    Buffer.from(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  for (const [name, path, extra] of [
    ['handleProtocols throws', '/ws', 'Sec-WebSocket-Protocol: chat, boom\r\n'],
    ['authenticate rejects (async)', '/ws?boom', ''],
    ['authenticate answers headers that cannot be written', '/ws?badheader', ''],
    ['authenticate throws on an odd Origin', '/ws?url', 'Origin: http://[\r\n'],
  ] as const) {
    test(`${name}: 500, reported on 'error', nothing unhandled`, async () => {
      const before = hookErrors.length;
      const response = await exchangeHead(port, [handshake(path, extra)]);
      assert.match(response, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
      assert.equal(hookErrors.length, before + 1);
    });
  }

  test('afterwards the server still serves', async () => {
    const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/ws`);
    const echo = once(ws, 'pong');
    ws.ping('still here');
    const [payload] = (await echo) as [Buffer];
    assert.equal(payload.toString(), 'still here');
    ws.close();
    await once(ws, 'close');
  });
});
