import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/node/websocket.js';

/**
 * Caller headers on the opening handshake: those the handshake writes itself
 * (RFC 6455 section 4.1) are refused at construction, naming the header; Host
 * and Origin are the caller's to set, and each header name goes out once,
 * whatever its case (RFC 9110 section 5.1).
 */

/** The raw header lines of one opening handshake the client sends (the server then hangs up). */
async function requestHeadLines(options: ConstructorParameters<typeof WebSocket>[2]): Promise<string[]> {
  const server = http.createServer();
  const seen = new Promise<string[]>((resolve) => {
    server.once('upgrade', (request: http.IncomingMessage, socket) => {
      resolve(request.rawHeaders);
      socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, ['chat'], options);
    const failed = once(ws, 'error');
    const raw = await seen;
    await failed;
    const lines: string[] = [];
    for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]?.toLowerCase()}: ${raw[i + 1]}`);
    return lines;
  } finally {
    server.close();
  }
}

describe('opening handshake request headers (Node client)', () => {
  const owned = [
    'Connection',
    'upgrade',
    'sec-websocket-key',
    'Sec-WebSocket-Version',
    'SEC-WEBSOCKET-PROTOCOL',
    'Sec-WebSocket-Extensions',
  ];
  for (const name of owned) {
    test(`a caller's ${name} header is refused at construction, named`, () => {
      assert.throws(
        () => new WebSocket('ws://127.0.0.1:1/', undefined, { headers: { [name]: 'x' } }),
        (error: Error) =>
          error instanceof TypeError &&
          error.message.startsWith('WebSocket client: option "headers": ') &&
          error.message.includes(`header ${JSON.stringify(name)} is set by the opening handshake`),
      );
    });
  }

  test('one header given twice in different case is refused', () => {
    assert.throws(
      () => new WebSocket('ws://127.0.0.1:1/', undefined, { headers: { origin: 'a', Origin: 'b' } }),
      /option "headers": "origin" and "Origin" are one header \(names are case-insensitive/,
    );
  });

  test('Host and Origin given by the caller are sent once, with its values', async () => {
    const lines = await requestHeadLines({
      headers: { host: 'virtual.example', ORIGIN: 'https://app.example' },
    });
    const named = (name: string) => lines.filter((line) => line.startsWith(`${name}: `));
    assert.deepEqual(named('host'), ['host: virtual.example']);
    assert.deepEqual(named('origin'), ['origin: https://app.example']);
    for (const name of [
      'connection',
      'upgrade',
      'sec-websocket-key',
      'sec-websocket-version',
      'sec-websocket-protocol',
    ]) {
      assert.equal(named(name).length, 1, `${name} once in ${lines.join(' | ')}`);
    }
    assert.deepEqual(named('sec-websocket-protocol'), ['sec-websocket-protocol: chat']);
  });
});
