import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { resolveClient } from '../../src/node/trust-proxy.js';
import { WebSocket } from '../../src/node/websocket.js';
import { startServer } from './net-helpers.js';

function request(peer: string, headers: Record<string, string>, encrypted = false): IncomingMessage {
  return { socket: { remoteAddress: peer, encrypted }, headers } as unknown as IncomingMessage;
}

describe('resolveClient', () => {
  const cases: Array<
    [string, IncomingMessage, boolean | string[] | undefined, { address: string; secure: boolean }]
  > = [
    [
      'no trust: headers ignored',
      request('10.0.0.1', { 'x-forwarded-for': '1.2.3.4' }),
      undefined,
      { address: '10.0.0.1', secure: false },
    ],
    [
      'untrusted peer: headers ignored',
      request('10.0.0.9', { 'x-forwarded-for': '1.2.3.4' }),
      ['10.0.0.1'],
      { address: '10.0.0.9', secure: false },
    ],
    [
      'trusted peer: X-Forwarded-For and -Proto',
      request('10.0.0.1', { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }),
      ['10.0.0.1'],
      { address: '1.2.3.4', secure: true },
    ],
    [
      'a spoofed leftmost entry is not believed past an untrusted hop',
      request('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 1.2.3.4' }),
      ['10.0.0.1'],
      { address: '1.2.3.4', secure: false },
    ],
    [
      'several trusted hops',
      request('10.0.0.1', { 'x-forwarded-for': '1.2.3.4, 10.0.0.2' }),
      ['10.0.0.1', '10.0.0.2'],
      { address: '1.2.3.4', secure: false },
    ],
    [
      'Forwarded (RFC 7239) with IPv6 and ports',
      request('::ffff:127.0.0.1', { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2' }),
      ['127.0.0.1', '10.0.0.2'],
      { address: '2001:db8:cafe::17', secure: true },
    ],
    [
      'Forwarded: a comma inside a quoted value is not a new hop (no spoofing through host="x,for=...")',
      request('10.0.0.1', { forwarded: 'for=1.2.3.4;host="x,for=6.6.6.6"' }),
      ['10.0.0.1'],
      { address: '1.2.3.4', secure: false },
    ],
    [
      'Forwarded: escaped quotes and semicolons stay inside the value',
      request('10.0.0.1', { forwarded: 'host="a\\";for=6.6.6.6;b";for=1.2.3.4' }),
      ['10.0.0.1'],
      { address: '1.2.3.4', secure: false },
    ],
    [
      'Forwarded: a malformed header is not believed',
      request('10.0.0.1', { forwarded: 'for="1.2.3.4' }),
      ['10.0.0.1'],
      { address: '10.0.0.1', secure: false },
    ],
    [
      'trust everything',
      request('10.9.9.9', { 'x-forwarded-for': '5.6.7.8' }),
      true,
      { address: '5.6.7.8', secure: false },
    ],
    [
      'TLS socket without headers',
      request('1.1.1.1', {}, true),
      ['10.0.0.1'],
      { address: '1.1.1.1', secure: true },
    ],
  ];
  for (const [name, req, trust, expected] of cases) {
    test(name, () => assert.deepEqual(resolveClient(req, trust), expected));
  }
});

test('trustProxy over a real socket: clientAddress and the per-IP limit use the forwarded address', async () => {
  const { server, url } = await startServer({ trustProxy: ['127.0.0.1'], maxConnectionsPerIp: 1 });
  const seen: Array<[string | undefined, boolean]> = [];
  server.on('connection', (ws) => seen.push([ws.clientAddress, ws.clientSecure]));
  const a = await WebSocket.connect(url, {
    headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' },
  });
  const b = await WebSocket.connect(url, { headers: { 'X-Forwarded-For': '203.0.113.8' } });
  await assert.rejects(WebSocket.connect(url, { headers: { 'X-Forwarded-For': '203.0.113.7' } }), /429/);
  assert.deepEqual(seen, [
    ['203.0.113.7', true],
    ['203.0.113.8', false],
  ]);
  a.close();
  b.close();
  await server.close();
});
