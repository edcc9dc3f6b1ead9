import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { ChatServer } from '../../src/chat/server.js';
import { exchangeHead } from '../node/net-helpers.js';

/**
 * Issue 11, "prove the class is gone", for `socketeer serve`: random request
 * heads (methods, targets, versions, headers, split at random) against the
 * chat server's HTTP front — the page, /chat, /healthz and the favicon. No
 * input may throw past a handler or leave a promise rejection unhandled; every
 * answer is a well-formed status line (or a close); the server serves after.
 */

const faults: unknown[] = [];
const onFault = (reason: unknown) => faults.push(reason);
process.on('unhandledRejection', onFault);
process.on('uncaughtException', onFault);
after(() => {
  process.off('unhandledRejection', onFault);
  process.off('uncaughtException', onFault);
});

const anyChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const nasty = (max: number) => fc.string({ unit: anyChar, maxLength: max });
const method = fc.oneof(fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'CONNECT', 'get', ''), nasty(6));
const target = fc.oneof(
  fc.constantFrom(
    '/',
    '/chat',
    '/app.js',
    '/style.css',
    '/favicon.ico',
    '/healthz',
    '/readyz',
    '/index.html',
  ),
  fc.constantFrom('//%5B', '//[', '*', '/%ff%00', '/../../etc/passwd', '/chat?x', 'http://h/chat'),
  nasty(24).map((s) => `/${s}`),
);
const version = fc.oneof(fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', ''), nasty(8));
const header = fc.oneof(
  fc.constantFrom(
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99',
    'Content-Length: 5',
    'Transfer-Encoding: chunked',
    'Origin: http://evil.example',
  ),
  fc.tuple(nasty(10), nasty(20)).map(([n, v]) => `${n}: ${v}`),
);
const request = fc
  .record({ method, target, version, headers: fc.array(header, { maxLength: 8 }), splits: fc.nat(6) })
  .map(({ method, target, version, headers, splits }) => {
    const bytes = Buffer.from(`${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
    const chunks: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < splits && at < bytes.length; i++) {
      const next = at + 1 + ((i * 7919) % Math.max(1, bytes.length - at));
      chunks.push(bytes.subarray(at, next));
      at = next;
    }
    if (at < bytes.length) chunks.push(bytes.subarray(at));
    return chunks;
  });

test('serve: random request heads never crash the chat server; it serves normally after', async () => {
  const chat = new ChatServer({ port: 0, host: '127.0.0.1' });
  const { port } = await chat.listen();
  try {
    await fc.assert(
      fc.asyncProperty(request, async (chunks) => {
        const answer = await exchangeHead(port, chunks);
        if (answer !== '') assert.match(answer, /^HTTP\/1\.1 [1-5]\d\d /, `answer: ${answer.slice(0, 80)}`);
      }),
      { numRuns: 300 },
    );
    const page = await exchangeHead(port, [Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]);
    assert.match(page, /^HTTP\/1\.1 200 /);
    assert.deepEqual(faults, [], 'no unhandled rejection or uncaught exception');
  } finally {
    await chat.close();
  }
});
