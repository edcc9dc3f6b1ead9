import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocketServer as WsServer } from 'ws';
import {
  createWebSocketStream,
  ReconnectingWebSocket,
  type ServerWebSocket,
  WebSocket,
  WebSocketServer,
} from '../../src/index.js';
import { RateLimiter } from '../../src/node/rate-limiter.js';
import { InvalidStateError } from '../../src/protocol/errors.js';
import { startEchoServer, startServer } from './net-helpers.js';

/** What a `ws` user types in their first hour, run against socketeer (issue 13). */
describe('ws idioms', () => {
  test('new WebSocket(url, { headers }): the options object may come second', async () => {
    const { server, url } = await startServer({ protocols: ['chat'] });
    const seen = new Promise<http.IncomingMessage>((resolve) =>
      server.once('connection', (_ws, request) => resolve(request)),
    );
    const ws = new WebSocket(url, { headers: { Authorization: 'Bearer t' }, protocols: ['chat'] });
    await once(ws, 'open');
    assert.equal((await seen).headers.authorization, 'Bearer t');
    assert.equal(ws.protocol, 'chat');
    // @ts-expect-error the types refuse it too
    assert.throws(() => new WebSocket(url, {}, {}), /either second .* or third, not both/);
    ws.close();
    await once(ws, 'close');
    await server.close();
  });

  test("handleUpgrade with `(ws) => wss.emit('connection', ws, req)` runs the handler once", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const httpServer = http.createServer();
    httpServer.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    });
    const handled: string[] = [];
    wss.on('connection', (ws, request) => {
      handled.push(request.url ?? '');
      ws.send('hello');
    });
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    const { port } = httpServer.address() as AddressInfo;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/one`);
    const [message] = await once(ws, 'message');
    assert.equal(String(message), 'hello');
    // Without the emit in the callback, socketeer emits 'connection' itself, once.
    const plain = new WebSocketServer({ noServer: true });
    let plainCount = 0;
    plain.on('connection', () => plainCount++);
    const callbacks: unknown[] = [];
    httpServer.removeAllListeners('upgrade');
    httpServer.on('upgrade', (request, socket, head) =>
      plain.handleUpgrade(request, socket, head, (w) => callbacks.push(w)),
    );
    const second = await WebSocket.connect(`ws://127.0.0.1:${port}/two`);
    assert.deepEqual(handled, ['/one']);
    assert.equal(plainCount, 1);
    assert.equal(callbacks.length, 1);
    ws.close();
    second.close();
    await Promise.all([wss.close(), plain.close()]);
    httpServer.close();
  });

  test('clients holds OPEN connections only: clients.forEach(send) never meets a closing one', async () => {
    const { server, url } = await startEchoServer();
    const [a, b] = await Promise.all([WebSocket.connect(url), WebSocket.connect(url)]);
    while (server.clients.size < 2) await once(server, 'connection');
    const [first] = [...server.clients];
    first!.close(1001, 'going');
    assert.equal(first!.readyState, WebSocket.CLOSING);
    assert.equal(server.clients.size, 1, 'a closing connection leaves clients at once');
    assert.equal(server.stats().connections, 1);
    const sent: number[] = [];
    for (const c of server.clients) sent.push(c.readyState);
    server.clients.forEach((c) => {
      c.send('to everyone');
    });
    assert.deepEqual(sent, [WebSocket.OPEN]);
    assert.throws(() => first!.send('late'), InvalidStateError, 'sending to a closing socket still says so');
    await Promise.all([once(a, 'close'), server.close()]);
    assert.equal(b.readyState, WebSocket.CLOSED);
  });

  test('await server.listening() rejects on EADDRINUSE instead of an unhandled error', async () => {
    const { server, port } = await startServer();
    const second = new WebSocketServer({ port, host: '127.0.0.1' });
    await assert.rejects(second.listening(), (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE');
    await assert.rejects(second.listening(), /EADDRINUSE/, 'and again when asked later');
    // With an 'error' listener, the error goes there too.
    const third = new WebSocketServer({ port, host: '127.0.0.1' });
    const [error] = (await once(third, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'EADDRINUSE');
    await server.close();
  });

  test("the client's 'upgrade' event shows the 101's headers (Set-Cookie), before 'open'", async () => {
    const peer = new WsServer({ port: 0, host: '127.0.0.1' });
    await once(peer, 'listening');
    peer.on('headers', (headers) => headers.push('Set-Cookie: session=abc; HttpOnly'));
    const { port } = peer.address() as AddressInfo;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const order: string[] = [];
    let cookie: string[] | undefined;
    ws.on('upgrade', (response) => {
      order.push('upgrade');
      cookie = response.headers['set-cookie'];
    });
    ws.on('open', () => order.push('open'));
    await once(ws, 'open');
    assert.deepEqual(order, ['upgrade', 'open']);
    assert.deepEqual(cookie, ['session=abc; HttpOnly']);
    ws.close();
    await once(ws, 'close');
    await new Promise((resolve) => peer.close(resolve));
  });

  test('ws client option names get the socketeer equivalent in the error', () => {
    assert.throws(
      () => new WebSocket('ws://127.0.0.1:1/', { origin: 'https://a.example' } as never),
      /option "origin" is ws's; send it as a header: \{ headers: \{ Origin/,
    );
    assert.throws(
      () => new WebSocket('ws://127.0.0.1:1/', { maxPayload: 10 } as never),
      /option "maxPayload" is ws's; use "maxMessageSize"/,
    );
  });

  test('pause() stops message events until resume(); isPaused says so', async () => {
    const { server, url } = await startServer();
    const peer = new Promise<ServerWebSocket>((resolve) => server.once('connection', resolve));
    const ws = await WebSocket.connect(url);
    const sender = await peer;
    assert.equal(ws.isPaused, false);
    ws.pause();
    assert.equal(ws.isPaused, true);
    const got: string[] = [];
    ws.on('message', (data) => got.push(String(data)));
    sender.send('one');
    // Wait until the frame sits in the paused socket's buffer: it arrived, and was not delivered.
    const socket = (ws as unknown as { socket: Socket }).socket;
    while (socket.readableLength === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(got, [], 'nothing delivered while paused');
    const next = once(ws, 'message');
    ws.resume();
    await next;
    assert.deepEqual(got, ['one']);
    ws.close();
    await once(ws, 'close');
    await server.close();
  });

  test('createWebSocketStream: a Duplex over a WebSocket (pipe in, pipe out, end closes)', async () => {
    const { server, url } = await startEchoServer();
    const ws = new WebSocket(url);
    const stream = createWebSocketStream(ws);
    stream.write('hello '); // before 'open': waits for it
    stream.write(Buffer.from('world'));
    const chunks: string[] = [];
    for await (const chunk of stream) {
      chunks.push(String(chunk));
      if (chunks.join('') === 'hello world') stream.end();
    }
    assert.equal(chunks.join(''), 'hello world');
    assert.equal(ws.readyState, WebSocket.CLOSED);
    assert.equal(ws.closeCode, 1000);
    await server.close();
  });

  test('ReconnectingWebSocket events are typed', async () => {
    const { server, url } = await startEchoServer();
    const client = new ReconnectingWebSocket(url);
    const opened = new Promise<void>((resolve) => client.once('open', resolve));
    client.on('reconnecting', (attempt, delay, code, reason) => {
      const typed: [number, number, number, string] = [attempt, delay, code, reason];
      assert.equal(typed.length, 4);
    });
    await opened;
    const echoed = new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));
    client.send('typed');
    assert.equal(await echoed, 'typed');
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    client.close();
    assert.equal(await closed, 1000);
    await server.close();
  });

  test('the server is generic over its user type: ws.user.name compiles and is what authenticate gave', async () => {
    const { server, url } = await startServer({
      authenticate: (request) => ({ user: { name: String(request.headers['x-name']) } }),
    });
    const names = new Promise<string>((resolve) => server.on('connection', (ws) => resolve(ws.user.name)));
    const inferred = new WebSocketServer({
      noServer: true,
      authenticate: () => ({ user: { id: 7 } }),
    });
    inferred.on('connection', (ws) => {
      const id: number = ws.user.id; // a compile-time check: User is inferred from authenticate
      assert.equal(typeof id, 'number');
    });
    const ws = await WebSocket.connect(url, { headers: { 'x-name': 'ada' } });
    assert.equal(await names, 'ada');
    ws.close();
    await Promise.all([server.close(), inferred.close()]);
  });
});

test('RateLimiter: at most `limit` per window, counting again in the next window', () => {
  const limiter = new RateLimiter(2, 1000);
  assert.deepEqual([limiter.take(5000), limiter.take(5001), limiter.take(5999)], [true, true, false]);
  assert.deepEqual([limiter.take(6000), limiter.take(6001), limiter.take(6002)], [true, true, false]);
});
