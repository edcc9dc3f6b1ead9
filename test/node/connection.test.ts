import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/node/websocket.js';
import { InvalidStateError } from '../../src/protocol/errors.js';
import { buildFrame, closePayload, decodeFrames } from '../helpers.js';
import { rawClient, startEchoServer, startServer } from './net-helpers.js';

describe('closing', () => {
  test('peer-initiated close: the server echoes the code and closes TCP first', async () => {
    const { server, port } = await startServer();
    const closed = new Promise<[number, string]>((resolve) =>
      server.on('connection', (ws) => ws.on('close', (code, reason) => resolve([code, reason]))),
    );
    const client = await rawClient(port);
    client.socket.write(buildFrame({ opcode: 8, payload: closePayload(4001, 'done here') }));
    await client.waitFor(() => false, 2000); // until the server ends TCP
    assert.ok(client.ended, 'the server closed the TCP connection');
    const frames = decodeFrames(client.frames());
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.opcode, 8);
    assert.equal(frames[0]!.payload.readUInt16BE(0), 4001);
    assert.deepEqual(await closed, [4001, 'done here']);
    await server.close();
  });

  test('client-initiated close over real sockets: both sides see the code, wasClean', async () => {
    const { server, url } = await startEchoServer();
    const serverSide = new Promise<[number, string]>((resolve) =>
      server.on('connection', (ws) => ws.on('close', (code, reason) => resolve([code, reason]))),
    );
    const ws = await WebSocket.connect(url);
    ws.close(3333, 'bye now');
    const [code, reason] = await once(ws, 'close');
    assert.deepEqual([code, reason], [3333, 'bye now']);
    assert.equal(ws.wasClean, true);
    assert.deepEqual(await serverSide, [3333, 'bye now']);
    await server.close();
  });

  test('a peer that never answers our Close is dropped after closeTimeout', async () => {
    const { server, port } = await startServer({ closeTimeout: 200 });
    const closed = new Promise<number>((resolve) =>
      server.on('connection', (ws) => {
        ws.close(1000);
        ws.on('close', (code) => resolve(code));
      }),
    );
    const client = await rawClient(port);
    assert.equal(await closed, 1006, 'no Close frame came back: abnormal closure');
    await client.waitFor(() => false, 1000);
    assert.ok(client.ended);
    await server.close();
  });

  test('a server-side socket may close with every code RFC 6455 lets an endpoint send', async () => {
    const { server, url } = await startServer();
    const sendable = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999];
    const received: number[] = [];
    const refused: number[] = [];
    server.on('connection', (ws) => {
      // Reporting-only and reserved codes are refused before anything is sent.
      for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5]) {
        try {
          ws.close(code);
        } catch (error) {
          assert.ok(error instanceof RangeError);
          refused.push(code);
        }
      }
      ws.close(Number(ws.url.slice(1)), 'server says so');
    });
    for (const code of sendable) {
      const ws = new WebSocket(`${url}/${code}`);
      const [got, reason] = await once(ws, 'close');
      assert.equal(reason, 'server says so');
      received.push(got);
    }
    assert.deepEqual(received, sendable);
    assert.equal(refused.length, 9 * sendable.length);
    await server.close();
  });

  test('server.close() sends 1001 to every client and resolves when they are gone', async () => {
    const { server, url } = await startEchoServer();
    const clients = await Promise.all([1, 2, 3].map(() => WebSocket.connect(url)));
    const codes = clients.map((c) => once(c, 'close'));
    await server.close();
    for (const [code, reason] of await Promise.all(codes)) {
      assert.equal(code, 1001);
      assert.equal(reason, 'server shutting down');
    }
    assert.equal(server.clients.size, 0);
  });
});

describe('bad peers never harm the process or other connections', () => {
  test('a protocol violation closes only that connection, with the RFC code and a reason', async () => {
    const { server, port, url } = await startEchoServer();
    const good = await WebSocket.connect(url);
    const serverErrors: Error[] = [];
    server.on('connection', (ws) => ws.on('error', (e) => serverErrors.push(e)));
    const bad = await rawClient(port);
    bad.socket.write(buildFrame({ opcode: 1, payload: 'x', mask: false })); // unmasked
    await bad.waitFor(() => false, 2000);
    const frames = decodeFrames(bad.frames());
    assert.equal(frames[0]!.opcode, 8);
    assert.equal(frames[0]!.payload.readUInt16BE(0), 1002);
    assert.match(frames[0]!.payload.subarray(2).toString(), /must be masked/);
    assert.ok(bad.ended);
    assert.equal(serverErrors[0]?.name, 'ProtocolError');
    good.send('unaffected');
    const [data] = await once(good, 'message');
    assert.equal(data, 'unaffected');
    good.close();
    await server.close();
  });

  test('no error listener: a violation is reported through close, never thrown', async () => {
    const { server, port } = await startServer();
    const result = new Promise<[number, string, Error | undefined]>((resolve) =>
      server.on('connection', (ws) =>
        ws.on('close', (code, reason) => resolve([code, reason, ws.lastError])),
      ),
    );
    const bad = await rawClient(port);
    bad.socket.write(buildFrame({ opcode: 1, payload: Buffer.from([0xff]) }));
    const [code, reason, error] = await result;
    assert.equal(code, 1007);
    assert.match(reason, /not valid UTF-8/);
    assert.equal(error?.name, 'ProtocolError');
    await server.close();
  });

  test('an abrupt reset mid-frame is a 1006 close, nothing thrown', async () => {
    const { server, port } = await startServer();
    const closed = new Promise<number>((resolve) =>
      server.on('connection', (ws) => ws.on('close', (code) => resolve(code))),
    );
    const client = await rawClient(port);
    client.socket.write(buildFrame({ opcode: 2, payload: Buffer.alloc(1000) }).subarray(0, 300));
    client.socket.resetAndDestroy();
    assert.equal(await closed, 1006);
    await server.close();
  });

  test('the client fails the connection on a masked server frame (1002)', async () => {
    const { createServer } = await import('node:net');
    const { computeAccept } = await import('../../src/protocol/handshake.js');
    const fake = createServer((socket) => {
      socket.once('data', (req) => {
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(req.toString())![1]!;
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
        );
        socket.write(buildFrame({ opcode: 1, payload: 'masked!', mask: true }));
        socket.on('data', () => {});
        socket.on('error', () => {});
      });
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    const port = (fake.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, undefined, { closeTimeout: 300 });
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      ws.on('close', (c, r) => resolve([c, r])),
    );
    assert.equal(ws.lastError?.name, 'ProtocolError');
    assert.equal(code, 1002);
    assert.match(reason, /server frames must not be masked/);
    fake.close();
  });
});

describe('the WebSocket API', () => {
  test('send() takes strings, Buffers, typed arrays, ArrayBuffers and DataViews', async () => {
    const { server, url } = await startEchoServer();
    const ws = await WebSocket.connect(url);
    const received: Array<[string | Buffer, boolean]> = [];
    ws.on('message', (d, b) => received.push([d, b]));
    ws.send('text');
    ws.send(Buffer.from('buffer'));
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send(new Uint16Array([0x0201]).buffer);
    ws.send(new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    ws.send(Buffer.from('as text'), { binary: false });
    while (received.length < 6) await once(ws, 'message');
    assert.deepEqual(received, [
      ['text', false],
      [Buffer.from('buffer'), true],
      [Buffer.from([1, 2, 3]), true],
      [Buffer.from([1, 2]), true],
      [Buffer.from([8, 7]), true],
      ['as text', false],
    ]);
    assert.throws(
      () => ws.send(42 as never),
      /expected a string, Buffer, ArrayBuffer or typed array; got number/,
    );
    ws.close();
    await once(ws, 'close');
    await server.close();
  });

  test('fragmented sends arrive as one message', async () => {
    const { server, url } = await startEchoServer();
    const ws = await WebSocket.connect(url);
    ws.send('Hel', { fin: false });
    ws.send('lo, ', { fin: false });
    ws.send('world');
    const [data] = await once(ws, 'message');
    assert.equal(data, 'Hello, world');
    ws.close();
    await server.close();
  });

  test('ping/pong: pings are answered automatically and both are events', async () => {
    const { server, url } = await startServer();
    const serverPing = new Promise<Buffer>((resolve) =>
      server.on('connection', (ws) => ws.on('ping', (p) => resolve(p))),
    );
    const ws = await WebSocket.connect(url);
    ws.ping('are you there');
    const [payload] = await once(ws, 'pong');
    assert.equal(payload.toString(), 'are you there');
    assert.equal((await serverPing).toString(), 'are you there');
    assert.throws(() => ws.ping(Buffer.alloc(126)), /at most 125 bytes/);
    ws.close();
    await server.close();
  });

  test('close() checks codes and reasons; send() after close throws InvalidStateError', async () => {
    const { server, url } = await startEchoServer();
    const ws = await WebSocket.connect(url);
    assert.equal(ws.remoteAddress, '127.0.0.1');
    for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5]) {
      assert.throws(() => ws.close(code), /close code must be 1000-1003, 1007-1014 or 3000-4999/);
    }
    assert.throws(() => ws.close(1000, 'é'.repeat(62)), /at most 123 UTF-8 bytes; got 124/);
    ws.close(1000, 'é'.repeat(61));
    assert.equal(ws.readyState, WebSocket.CLOSING);
    assert.throws(() => ws.send('late'), InvalidStateError);
    assert.throws(() => ws.send('late'), /cannot send: the WebSocket is CLOSING/);
    ws.close(); // a second close is a no-op
    const [code, reason] = await once(ws, 'close');
    assert.equal(code, 1000);
    assert.equal(reason, 'é'.repeat(61));
    assert.equal(ws.readyState, WebSocket.CLOSED);
    await server.close();
  });

  test('send() while connecting throws', async () => {
    const { server, url } = await startServer();
    const ws = new WebSocket(url);
    assert.throws(() => ws.send('too early'), /the WebSocket is CONNECTING/);
    await once(ws, 'open');
    ws.terminate();
    const [code] = await once(ws, 'close');
    assert.equal(code, 1006);
    await server.close();
  });

  test('large messages both ways (8 MiB)', async () => {
    const { server, url } = await startEchoServer();
    const ws = await WebSocket.connect(url);
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    ws.send(big);
    const [data] = await once(ws, 'message');
    assert.ok(big.equals(data as Buffer));
    ws.close();
    await server.close();
  });

  test('messages above maxMessageSize close with 1009', async () => {
    const { server, url } = await startEchoServer({ maxMessageSize: 1024 });
    const ws = await WebSocket.connect(url);
    ws.send(Buffer.alloc(2048));
    const [code, reason] = await once(ws, 'close');
    assert.equal(code, 1009);
    assert.match(reason, /exceeds the limit/);
    await server.close();
  });
});

test('messages that arrive with the 101 are not lost to `await WebSocket.connect()`', {
  timeout: 10_000,
}, async () => {
  const { server, url } = await startServer();
  server.on('connection', (ws) => {
    for (let i = 0; i < 50; i++) ws.send(`early ${i}`);
  });
  for (let attempt = 0; attempt < 5; attempt++) {
    const ws = await WebSocket.connect(url);
    const got: string[] = [];
    ws.on('message', (d) => got.push(d as string));
    while (got.length < 50) await once(ws, 'message');
    assert.equal(got[0], 'early 0');
    ws.close();
  }
  await server.close();
});
