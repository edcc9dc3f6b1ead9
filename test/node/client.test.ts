import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/node/websocket.js';
import { HandshakeError } from '../../src/protocol/errors.js';
import { computeAccept } from '../../src/protocol/handshake.js';
import { inCI } from '../helpers.js';
import { startEchoServer, startServer } from './net-helpers.js';

/** A raw TCP server that answers the handshake with whatever `respond` returns. */
async function fakeServer(respond: (key: string, request: string) => string | null) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (req) => {
      const text = req.toString('latin1');
      const key = /sec-websocket-key: (.*)\r\n/i.exec(text)?.[1] ?? '';
      const answer = respond(key, text);
      if (answer !== null) socket.write(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

function failure(ws: WebSocket): Promise<{ error: Error | undefined; code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.on('close', (code, reason) => resolve({ error: ws.lastError, code, reason })),
  );
}

describe('client failures are clear and never thrown', () => {
  test('connection refused', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const { error, code } = await failure(new WebSocket(`ws://127.0.0.1:${port}/`));
    assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.equal(code, 1006);
  });

  test('DNS failure', async () => {
    const { error } = await failure(
      new WebSocket('ws://no-such-host.invalid/', undefined, { handshakeTimeout: 10_000 }),
    );
    assert.ok(error);
    assert.match(
      String((error as NodeJS.ErrnoException).code ?? error.message),
      /ENOTFOUND|EAI_AGAIN|timed out/,
    );
  });

  test('a non-101 answer gives the status, headers and body to the caller', async () => {
    const app = http.createServer((_req, res) => {
      res.writeHead(403, { 'Content-Type': 'text/plain', 'X-Why': 'token' });
      res.end('missing token\nmore detail');
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const port = (app.address() as net.AddressInfo).port;
    const { error } = await failure(new WebSocket(`ws://127.0.0.1:${port}/`));
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.statusCode, 403);
    assert.equal(error.headers?.['x-why'], 'token');
    assert.equal(error.body, 'missing token\nmore detail');
    assert.match(error.message, /server answered 403 Forbidden instead of 101: missing token/);
    app.close();
  });

  test('WebSocket.connect() rejects with the cause', async () => {
    const { server, port } = await startServer({ path: '/only' });
    await assert.rejects(WebSocket.connect(`ws://127.0.0.1:${port}/elsewhere`), (e: HandshakeError) => {
      assert.equal(e.statusCode, 404);
      return true;
    });
    await server.close();
  });

  const badResponses: Array<[string, (key: string) => string, RegExp]> = [
    [
      'wrong Sec-WebSocket-Accept',
      () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n',
      /wrong Sec-WebSocket-Accept/,
    ],
    [
      'missing Upgrade header',
      (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
      /Upgrade: websocket/,
    ],
    [
      'a subprotocol that was not offered',
      (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Protocol: evil\r\n\r\n`,
      /subprotocol "evil", which was not offered/,
    ],
    [
      'an extension that was not offered',
      (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Extensions: x-custom-compress\r\n\r\n`,
      /extension "x-custom-compress", which was not offered/,
    ],
    [
      'an invalid permessage-deflate answer',
      (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`,
      /invalid permessage-deflate response: client_max_window_bits needs a value in a response/,
    ],
  ];
  for (const [name, respond, message] of badResponses) {
    test(`the client fails on ${name}`, async () => {
      const { server, port } = await fakeServer(respond);
      const { error, code } = await failure(new WebSocket(`ws://127.0.0.1:${port}/`, ['chat']));
      assert.ok(error instanceof HandshakeError, String(error));
      assert.match(error.message, message);
      assert.equal(code, 1006);
      server.close();
    });
  }

  test('handshake timeout when the server never answers', async () => {
    const { server, port } = await fakeServer(() => null);
    const { error } = await failure(
      new WebSocket(`ws://127.0.0.1:${port}/`, undefined, { handshakeTimeout: 200 }),
    );
    assert.match(error!.message, /opening handshake timed out after 200 ms/);
    server.close();
  });

  test('close() while connecting aborts cleanly', async () => {
    const { server, port } = await fakeServer(() => null);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const result = failure(ws);
    ws.close();
    const { code, reason } = await result;
    assert.equal(code, 1006);
    assert.match(reason, /closed before the connection was established/);
    server.close();
  });
});

describe('client requests', () => {
  test('path, query string, custom headers and Host with a non-default port', async () => {
    let seen: http.IncomingMessage | undefined;
    const { server, port } = await startServer();
    server.on('connection', (_ws, req) => {
      seen = req;
    });
    const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/some/path?x=1&y=two#fragment`, {
      headers: { Authorization: 'Bearer abc', Origin: 'https://example.com' },
    });
    assert.equal(seen?.url, '/some/path?x=1&y=two');
    assert.equal(seen?.headers.host, `127.0.0.1:${port}`);
    assert.equal(seen?.headers.authorization, 'Bearer abc');
    assert.equal(seen?.headers.origin, 'https://example.com');
    assert.equal(ws.url, `ws://127.0.0.1:${port}/some/path?x=1&y=two`);
    ws.close();
    await server.close();
  });

  test('IPv6 literal URLs', async (t) => {
    const { WebSocketServer } = await import('../../src/index.js');
    const server = new WebSocketServer({ port: 0, host: '::1' });
    const ready = await server.listening().then(
      () => true,
      () => false,
    );
    if (!ready) {
      if (inCI) throw new Error('no IPv6 loopback (::1) on the CI machine');
      process.stderr.write('skipping: no IPv6 loopback on this machine\n');
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    const port = (server.address() as net.AddressInfo).port;
    let host: string | undefined;
    server.on('connection', (ws, req) => {
      host = req.headers.host;
      ws.send('over v6');
    });
    const ws = new WebSocket(`ws://[::1]:${port}/v6`);
    const [data] = await once(ws, 'message');
    assert.equal(data, 'over v6');
    assert.equal(host, `[::1]:${port}`);
    ws.close();
    await server.close();
  });

  test('http:// URLs are accepted as ws://', async () => {
    const { server, port } = await startEchoServer();
    const ws = await WebSocket.connect(`http://127.0.0.1:${port}/`);
    assert.equal(ws.url, `ws://127.0.0.1:${port}/`);
    ws.close();
    await server.close();
  });
});
