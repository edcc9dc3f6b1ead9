import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildAcceptResponse,
  buildRejectResponse,
  buildRequestHeaders,
  computeAccept,
  generateKey,
  validateClientRequest,
  validateServerResponse,
} from '../../src/protocol/handshake.js';
import { parseExtensions } from '../../src/protocol/headers.js';

const good = {
  method: 'GET',
  httpVersion: '1.1',
  headers: {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
  } as Record<string, string | undefined>,
};

function withHeaders(changes: Record<string, string | undefined>, extra: Partial<typeof good> = {}) {
  return { ...good, ...extra, headers: { ...good.headers, ...changes } };
}

describe('server side: validating the request', () => {
  test('the RFC example key gives the RFC example accept', () => {
    assert.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('a valid request passes; tokens are case-insensitive and may be listed', () => {
    const r = validateClientRequest(withHeaders({ upgrade: 'WebSocket', connection: 'keep-alive, UPGRADE' }));
    assert.ok(r.ok);
    assert.equal(r.key, 'dGhlIHNhbXBsZSBub25jZQ==');
  });

  const cases: Array<[string, ReturnType<typeof withHeaders>, number]> = [
    ['POST', withHeaders({}, { method: 'POST' }), 400],
    ['HTTP/1.0', withHeaders({}, { httpVersion: '1.0' }), 400],
    ['no Upgrade', withHeaders({ upgrade: undefined }), 400],
    ['Upgrade: h2c', withHeaders({ upgrade: 'h2c' }), 400],
    ['Connection without upgrade', withHeaders({ connection: 'keep-alive' }), 400],
    ['no Host', withHeaders({ host: undefined }), 400],
    ['no key', withHeaders({ 'sec-websocket-key': undefined }), 400],
    ['key of 15 bytes', withHeaders({ 'sec-websocket-key': Buffer.alloc(15).toString('base64') }), 400],
    ['key of 17 bytes', withHeaders({ 'sec-websocket-key': Buffer.alloc(17).toString('base64') }), 400],
    ['key not base64', withHeaders({ 'sec-websocket-key': '!!!!!!!!!!!!!!!!!!!!!!==' }), 400],
    ['no version', withHeaders({ 'sec-websocket-version': undefined }), 400],
    ['version 8', withHeaders({ 'sec-websocket-version': '8' }), 426],
    ['version 14', withHeaders({ 'sec-websocket-version': '14' }), 426],
    ['bad subprotocol token', withHeaders({ 'sec-websocket-protocol': 'chat, a b' }), 400],
    ['malformed extensions', withHeaders({ 'sec-websocket-extensions': 'permessage-deflate; =1' }), 400],
  ];
  for (const [name, request, status] of cases) {
    test(`${name} -> ${status}`, () => {
      const r = validateClientRequest(request);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.status === status && r.reason.length > 0);
      if (status === 426) assert.ok(!r.ok && r.headers?.['Sec-WebSocket-Version'] === '13');
    });
  }

  test('subprotocols and extension offers are parsed', () => {
    const r = validateClientRequest(
      withHeaders({
        'sec-websocket-protocol': 'chat, superchat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits, foo; a="1"; b=2',
      }),
    );
    assert.ok(r.ok);
    assert.deepEqual(r.protocols, ['chat', 'superchat']);
    assert.deepEqual(r.extensions, [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      {
        name: 'foo',
        params: [
          ['a', '1'],
          ['b', '2'],
        ],
      },
    ]);
  });

  test('the 101 response and error responses are well formed', () => {
    const ok = buildAcceptResponse('dGhlIHNhbXBsZSBub25jZQ==', { protocol: 'chat' });
    assert.match(ok, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(ok, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(ok, /\r\nSec-WebSocket-Protocol: chat\r\n\r\n$/);
    const bad = buildRejectResponse(426, 'unsupported version', { 'Sec-WebSocket-Version': '13' });
    assert.match(bad, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    assert.match(bad, /\r\nContent-Length: 20\r\n/);
    assert.ok(bad.endsWith('\r\n\r\nunsupported version\n'));
    assert.throws(() => buildRejectResponse(400, 'x', { 'X-Bad': 'a\r\nInjected: 1' }), TypeError);
  });
});

describe('client side: validating the response', () => {
  const key = generateKey();
  const headers = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': computeAccept(key) };
  const offered = { protocols: ['chat'], extensionNames: [] as string[] };

  test('keys are 16 random bytes', () => {
    assert.equal(Buffer.from(key, 'base64').length, 16);
    assert.notEqual(generateKey(), generateKey());
  });

  test('a correct response passes', () => {
    const r = validateServerResponse({ ...headers, 'sec-websocket-protocol': 'chat' }, key, offered);
    assert.ok(r.ok && r.protocol === 'chat');
  });

  const bad: Array<[string, Record<string, string | undefined>]> = [
    ['wrong accept', { 'sec-websocket-accept': computeAccept(generateKey()) }],
    ['missing accept', { 'sec-websocket-accept': undefined }],
    ['missing Upgrade', { upgrade: undefined }],
    ['missing Connection', { connection: undefined }],
    ['subprotocol not offered', { 'sec-websocket-protocol': 'other' }],
    ['extension not offered', { 'sec-websocket-extensions': 'permessage-deflate' }],
  ];
  for (const [name, change] of bad) {
    test(`${name} fails`, () => {
      const r = validateServerResponse({ ...headers, ...change }, key, offered);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.reason.length > 0);
    });
  }
});

describe('extension header parsing', () => {
  test('rejects malformed values', () => {
    for (const v of ['a;', 'a; b=', 'a; b="unterminated', 'a b', ';a', 'a; b="not token"']) {
      assert.equal(parseExtensions(v), null, v);
    }
  });
});

describe('client side: building the request headers', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  test("caller headers come out next to the handshake's own, once each", () => {
    const out = buildRequestHeaders(key, {
      protocols: ['a', 'b'],
      headers: { Origin: 'https://x', host: 'h' },
    });
    assert.deepEqual(out, {
      Origin: 'https://x',
      host: 'h',
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Protocol': 'a, b',
    });
  });
  // A raw writer of the map would send both copies; Node's http would silently keep one.
  for (const name of [
    'sec-websocket-key',
    'Sec-WebSocket-Version',
    'UPGRADE',
    'connection',
    'sec-websocket-protocol',
    'Sec-WebSocket-Extensions',
  ]) {
    test(`a caller's ${name} is refused, named`, () => {
      assert.throws(
        () => buildRequestHeaders(key, { headers: { [name]: 'x' } }),
        new RegExp(`^TypeError: header "${name}" is set by the opening handshake: `),
      );
    });
  }
  test('one name in two cases is refused', () => {
    assert.throws(
      () => buildRequestHeaders(key, { headers: { cookie: 'a=1', Cookie: 'b=2' } }),
      /"cookie" and "Cookie" are one header/,
    );
  });
});
