import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { type ServerWebSocket, WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import type { HandshakeError } from '../../src/protocol/errors.js';
import { HANDSHAKE, startServer } from './net-helpers.js';

function refusal(url: string, headers: Record<string, string> = {}): Promise<HandshakeError> {
  return WebSocket.connect(url, { headers }).then(
    () => assert.fail('the handshake should have been refused'),
    (e: HandshakeError) => e,
  );
}

describe('handshake hooks', () => {
  test('authenticate: async accept with user data, reject with status, headers and body', async () => {
    const { server, url } = await startServer({
      authenticate: async (req) => {
        await new Promise((r) => setImmediate(r)); // answer on a later turn, as a database lookup would
        const token = req.headers.authorization;
        if (token !== 'Bearer good') {
          return {
            reject: 401,
            body: 'a valid token is required',
            headers: { 'WWW-Authenticate': 'Bearer' },
          };
        }
        return { user: { name: 'ada', from: req.socket.remoteAddress } };
      },
    });
    const users: unknown[] = [];
    server.on('connection', (ws) => users.push(ws.user));
    const refused = await refusal(url, { Authorization: 'Bearer bad' });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers?.['www-authenticate'], 'Bearer');
    assert.equal(refused.body, 'a valid token is required\n');
    assert.equal(server.clients.size, 0);
    const ws = await WebSocket.connect(url, { headers: { Authorization: 'Bearer good' } });
    assert.deepEqual(users, [{ name: 'ada', from: '127.0.0.1' }]);
    ws.close();
    await server.close();
  });

  test('a hook that throws answers 500 (and reports the error); an invalid status too', async () => {
    let mode = 'throw';
    const { server, url } = await startServer({
      authenticate: () => {
        if (mode === 'throw') throw new Error('database down');
        return { reject: 200 };
      },
    });
    const errors: Error[] = [];
    server.on('error', (e) => errors.push(e));
    assert.equal((await refusal(url)).statusCode, 500);
    mode = 'bad status';
    assert.equal((await refusal(url)).statusCode, 500);
    assert.deepEqual(
      errors.map((e) => e.message),
      ['database down', 'authenticate: reject must be an HTTP status from 400 to 599; got 200'],
    );
    await server.close();
  });

  test('a client that leaves during a slow hook causes no connection and no crash', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: (request: IncomingMessage) => void;
    const inHook = new Promise<IncomingMessage>((r) => (entered = r));
    const { server, port } = await startServer({
      authenticate: (request) => {
        entered(request);
        return gate.then(() => undefined);
      },
    });
    let connections = 0;
    server.on('connection', () => connections++);
    const { createConnection } = await import('node:net');
    const socket = createConnection(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(HANDSHAKE('/'));
    const request = await inHook;
    assert.equal(server.stats().handshakesInProgress, 1);
    const serverSideClosed = once(request.socket, 'close');
    socket.destroy();
    await serverSideClosed; // the server has seen the client leave
    release();
    await gate;
    // The hook's verdict is handled in promise callbacks: all of them run before this turn.
    await new Promise((r) => setImmediate(r));
    assert.equal(connections, 0);
    assert.equal(server.stats().handshakesInProgress, 0);
    assert.equal(server.stats().accepted, 0);
    await server.close();
  });

  test('origin allow-list: 403 for others; requests without Origin pass', async () => {
    const { server, url } = await startServer({ origins: ['https://app.example.com'] });
    const bad = await refusal(url, { Origin: 'https://evil.example.com' });
    assert.equal(bad.statusCode, 403);
    assert.match(bad.body ?? '', /origin https:\/\/evil\.example\.com is not allowed/);
    const good = await WebSocket.connect(url, { headers: { Origin: 'https://APP.example.com' } });
    const none = await WebSocket.connect(url);
    good.close();
    none.close();
    await once(none, 'close');
    await server.close();
    assert.throws(
      () => new WebSocketServer({ noServer: true, origins: 'x' as never }),
      /"origins" must be an array/,
    );
  });
});

describe('connection limits', () => {
  test('maxConnectionsPerIp -> 429, and slots free up on close', async () => {
    const { server, url } = await startServer({ maxConnectionsPerIp: 2 });
    const accepted = once(server, 'connection');
    const a = await WebSocket.connect(url);
    const [aOnServer] = (await accepted) as [ServerWebSocket];
    const b = await WebSocket.connect(url);
    const third = await refusal(url);
    assert.equal(third.statusCode, 429);
    assert.equal(third.headers?.['retry-after'], '5');
    assert.match(third.body ?? '', /too many connections from 127\.0\.0\.1/);
    a.close();
    // The slot is freed as the server's socket closes, before its WebSocket reports 'close'.
    await once(aOnServer, 'close');
    const c = await WebSocket.connect(url);
    b.close();
    c.close();
    await server.close();
  });

  test('maxConnections -> 503; rejected handshakes do not hold a slot', async () => {
    let admit = false;
    const { server, url } = await startServer({
      maxConnections: 1,
      authenticate: async () => (admit ? undefined : { reject: 403 }),
    });
    assert.equal((await refusal(url)).statusCode, 403);
    assert.equal((await refusal(url)).statusCode, 403, 'a rejected handshake does not hold a slot');
    admit = true;
    const ws = await WebSocket.connect(url);
    assert.equal((await refusal(url)).statusCode, 503);
    ws.close();
    await server.close();
    assert.throws(() => new WebSocketServer({ noServer: true, maxConnections: -1 }), /"maxConnections"/);
  });
});

describe('abuse limits', () => {
  test('slowloris: a client dripping its headers is cut off with 408', async () => {
    const { server, port } = await startServer({ handshakeTimeout: 300 });
    const { createConnection } = await import('node:net');
    const socket = createConnection(port, '127.0.0.1');
    socket.on('error', () => {});
    let response = '';
    let closed = false;
    socket.on('data', (d) => (response += d));
    socket.on('close', () => (closed = true));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    // The drip is the attack under test (a byte every 50 ms, never finishing the
    // head), not a wait: the loop ends when the server closes the connection.
    for (let i = 0; i < 60 && !closed; i++) {
      socket.write('X');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed, 'the server closed the connection');
    assert.match(response, /^HTTP\/1\.1 408 /);
    await server.close();
  });

  test('request heads above maxHeaderSize get 431', async () => {
    const { server, port } = await startServer({ maxHeaderSize: 2048 });
    const { rawExchange } = await import('./net-helpers.js');
    const response = await rawExchange(port, HANDSHAKE('/', `X-Padding: ${'p'.repeat(3000)}\r\n`), 2000);
    assert.match(response, /^HTTP\/1\.1 431 /);
    await server.close();
  });

  test('maxMessageRate: a flooding peer is closed with 1008', async () => {
    const { server, url } = await startServer({ maxMessageRate: 10 });
    let delivered = 0;
    server.on('connection', (ws) => ws.on('message', () => delivered++));
    const ws = await WebSocket.connect(url);
    for (let i = 0; i < 50; i++) ws.send(`flood ${i}`);
    const [code, reason] = await once(ws, 'close');
    assert.deepEqual([code, reason], [1008, 'more than 10 messages or pings per second']);
    assert.equal(delivered, 10);
    await server.close();
  });

  test('maxMessageRate counts pings: a peer flooding pings and reading the pongs is closed with 1008', async () => {
    const { server, url } = await startServer({ maxMessageRate: 10 });
    let pings = 0;
    let messages = 0;
    server.on('connection', (ws) => {
      ws.on('ping', () => pings++);
      ws.on('message', () => messages++);
    });
    const ws = await WebSocket.connect(url);
    let pongs = 0;
    ws.on('pong', () => pongs++);
    ws.send('one message'); // messages and pings share the budget
    for (let i = 0; i < 50; i++) ws.ping(`p${i}`);
    const [code, reason] = await once(ws, 'close');
    assert.deepEqual([code, reason], [1008, 'more than 10 messages or pings per second']);
    assert.deepEqual([messages, pings], [1, 9]);
    assert.ok(pongs >= 9, `the pings within the limit were answered (${pongs})`);
    await server.close();
  });

  test('options that only standalone servers can honour say so', () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, handshakeTimeout: 1000 }),
      /apply to standalone servers; set headersTimeout and maxHeaderSize on your own HTTP server/,
    );
  });
});

test('server.stats(): connections, messages, bytes, accepted and refused handshakes by reason', async () => {
  const { server, url, port } = await startServer({ path: '/ws', origins: ['https://ok.example'] });
  let serverSide: ServerWebSocket | undefined;
  server.on('connection', (ws) => {
    serverSide = ws;
    ws.on('message', (d) => ws.send(d));
  });
  const { rawExchange } = await import('./net-helpers.js');
  await rawExchange(port, HANDSHAKE('/elsewhere'), 1000);
  await rawExchange(port, HANDSHAKE('/ws').replace('Version: 13', 'Version: 8'), 1000);
  await refusal(`${url}/ws`, { Origin: 'https://bad.example' });
  const ws = await WebSocket.connect(`${url}/ws`);
  for (let i = 0; i < 3; i++) {
    ws.send(`message ${i}`);
    await once(ws, 'message');
  }
  const live = server.stats();
  assert.equal(live.connections, 1);
  assert.equal(live.accepted, 1);
  assert.equal(live.messagesIn, 3);
  assert.equal(live.messagesOut, 3);
  assert.deepEqual(live.refused, { 'unknown-path': 1, 'unsupported-version': 1, origin: 1 });
  assert.ok(live.bytesIn > 3 * 'message 0'.length && live.bytesOut > 3 * 'message 0'.length);
  ws.close();
  // The server counts a connection's bytes as it closes, before its WebSocket reports 'close'.
  await once(serverSide!, 'close');
  const after = server.stats();
  assert.equal(after.connections, 0);
  assert.ok(after.bytesIn >= live.bytesIn, 'bytes of closed connections are kept');
  await server.close();
});
