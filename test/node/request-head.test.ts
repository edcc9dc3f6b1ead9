import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RefusalReason, WebSocketServer } from '../../src/index.js';
import { HANDSHAKE, rawExchange, startServer } from './net-helpers.js';

/**
 * Issue 11, item 12: the request head of standalone servers is read strictly
 * (RFC 9112 section 3, RFC 6455 section 4.1), and what cannot be HTTP is
 * answered at once.
 */

const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) ([^\r\n]+)\r\n/;

describe('request lines and heads', () => {
  let server: WebSocketServer;
  let port: number;
  before(async () => {
    // A long handshake timeout: every answer below must come from parsing, not from the timer.
    ({ server, port } = await startServer({ handshakeTimeout: 30_000 }));
  });
  after(() => server.close());

  const cases: Array<[string, string | Buffer, number, RegExp?]> = [
    ['a control character in the target', HANDSHAKE('/a\x01b'), 400, /malformed HTTP/],
    ['DEL in the target', HANDSHAKE('/a\x7fb'), 400, /malformed HTTP/],
    ['NUL in the target', HANDSHAKE('/a\x00b'), 400, /malformed HTTP/],
    ['HTTP/9.9', HANDSHAKE('/').replace('HTTP/1.1', 'HTTP/9.9'), 505, /HTTP\/9\.9 is not supported/],
    ['HTTP/2.0', HANDSHAKE('/').replace('HTTP/1.1', 'HTTP/2.0'), 505, /HTTP\/2\.0 is not supported/],
    ['HTTP/0.9', HANDSHAKE('/').replace('HTTP/1.1', 'HTTP/0.9'), 505],
    ['the HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
    [
      'HTTP/1.0 (RFC 6455 needs 1.1 or later)',
      HANDSHAKE('/').replace('HTTP/1.1', 'HTTP/1.0'),
      400,
      /HTTP\/1\.1 or later/,
    ],
    ['two Host headers', HANDSHAKE('/', 'Host: evil.example\r\n'), 400, /more than one Host/],
    ['two Host headers, other case', HANDSHAKE('/', 'hOsT: 127.0.0.1\r\n'), 400, /more than one Host/],
    ['no Host header', HANDSHAKE('/').replace('Host: 127.0.0.1\r\n', ''), 400, /Host header is missing/],
    [
      'a TLS ClientHello on a ws:// port',
      Buffer.from('16030100f4010000f00303' + 'ab'.repeat(32) + '000002c02f0100', 'hex'),
      400,
      /malformed HTTP/,
    ],
    ['a space before the method', ` ${HANDSHAKE('/')}`, 400],
    ['binary noise', Buffer.from([0x00, 0xff, 0x10, 0x20]), 400],
    ['a version that is not HTTP', 'GET / XTTP/1.1\r\n', 400],
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.6\r\n', 400],
  ];
  for (const [name, request, status, body] of cases) {
    test(`${name} -> ${status}, at once`, async () => {
      const response = await rawExchange(port, request, 10_000);
      const line = STATUS_LINE.exec(response);
      assert.ok(line, `a status line, got ${JSON.stringify(response.slice(0, 60))}`);
      assert.equal(Number(line[1]), status);
      if (body) assert.match(response, body);
    });
  }

  for (const [name, request] of [
    ['HTTP/1.2 (a later 1.x)', HANDSHAKE('/').replace('HTTP/1.1', 'HTTP/1.2')],
    [
      'a raw UTF-8 path',
      Buffer.concat([Buffer.from('GET /caf'), Buffer.from('é'), Buffer.from(HANDSHAKE('/').slice(5))]),
    ],
    ['a percent-encoded, query-carrying target', HANDSHAKE('/a%20b?x=1&y=[2]')],
  ] as const) {
    test(`${name} is still accepted`, async () => {
      const response = await rawExchange(port, request, 300);
      assert.match(response, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    });
  }

  test('refused heads are counted under their typed reason; a client that leaves is not a refusal', async () => {
    const { server: s, port: p } = await startServer({ maxHeaderSize: 1024 });
    try {
      const leaver = net.createConnection(p, '127.0.0.1');
      await once(leaver, 'connect');
      leaver.end('GET / HTTP/1.1\r\nHost: x\r\n'); // half a head, then gone
      await once(leaver, 'close');
      await rawExchange(p, HANDSHAKE('/').replace('HTTP/1.1', 'HTTP/2.0'), 10_000);
      await rawExchange(p, 'SSH-2.0-OpenSSH_9.6\r\n', 10_000);
      await rawExchange(p, HANDSHAKE('/', `X-Padding: ${'p'.repeat(2000)}\r\n`), 10_000);
      // Each refusal is counted before its answer is written (and the leaver's
      // FIN reached the server before these three connections did).
      const refused: Partial<Record<RefusalReason, number>> = s.stats().refused;
      assert.deepEqual(refused, { 'http-version': 1, 'malformed-http': 1, 'headers-too-large': 1 });
    } finally {
      await s.close();
    }
  });

  test('the reason phrases are the standard ones (426, 404 and 400 here)', async () => {
    const { server: s, port: p } = await startServer({ path: '/ws' });
    try {
      const plain = await rawExchange(p, 'GET /ws HTTP/1.1\r\nHost: x\r\n\r\n', 1000);
      assert.match(plain, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
      const missing = await rawExchange(p, HANDSHAKE('/nope'), 1000);
      assert.match(missing, /^HTTP\/1\.1 404 Not Found\r\n/);
      const bad = await rawExchange(p, 'HELLO\r\n\r\n', 1000);
      assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    } finally {
      await s.close();
    }
  });
});

test('a head not complete in time gets "408 Request Timeout"', async () => {
  const { server, port } = await startServer({ handshakeTimeout: 200 });
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (d) => (answer += d.toString('latin1')));
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and nothing more
  await once(socket, 'close');
  assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  await server.close();
});
