import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import type { DeflateOptions } from '../../src/node/deflate.js';
import { WebSocket } from '../../src/node/websocket.js';
import { buildFrame, decodeFrames } from '../helpers.js';
import { rawClient, startEchoServer, startServer } from './net-helpers.js';

/** Deflate `total` bytes of zeros without ever holding them: a decompression bomb. */
async function bomb(total: number): Promise<Buffer> {
  const deflater = zlib.createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflater.on('data', (c) => chunks.push(c));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < total / zeros.length; i++) {
    if (!deflater.write(zeros)) await once(deflater, 'drain');
  }
  await new Promise<void>((r) => deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
  const out = Buffer.concat(chunks);
  return out.subarray(0, out.length - 4); // without 00 00 ff ff, as on the wire
}

const text = 'All work and no play makes Jack a dull boy. '.repeat(5000); // ~220 KB, very compressible

describe('permessage-deflate over real sockets', () => {
  const configs: Array<[string, DeflateOptions, DeflateOptions]> = [
    ['defaults (server drops its context after each message)', {}, {}],
    ['context takeover both ways', { serverNoContextTakeover: false }, {}],
    ['no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }, {}],
    [
      'client asks for no context takeover',
      {},
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
    ],
    ['window bits 9', { serverMaxWindowBits: 9, clientMaxWindowBits: 9 }, {}],
    ['client limits the server window to 10', {}, { serverMaxWindowBits: 10, clientMaxWindowBits: 11 }],
    ['threshold 0, level 9, memLevel 4', { threshold: 0, level: 9, memLevel: 4 }, { threshold: 0 }],
  ];
  for (const [name, serverOptions, clientOptions] of configs) {
    test(`round trips with ${name}`, async () => {
      const { server, url } = await startEchoServer({ perMessageDeflate: serverOptions });
      let serverSocket: Socket | undefined;
      server.on('connection', (_ws, req) => {
        serverSocket = req.socket as Socket;
      });
      const ws = await WebSocket.connect(url, { perMessageDeflate: clientOptions });
      assert.match(ws.extensions, /^permessage-deflate/);
      const messages: Array<string | Buffer> = [
        'tiny',
        text,
        Buffer.from(text),
        '',
        'é€😀'.repeat(10_000),
        text.slice(0, 1500),
        text,
      ];
      const received: Array<string | Buffer> = [];
      ws.on('message', (d) => received.push(d));
      for (const m of messages) ws.send(m);
      while (received.length < messages.length) await once(ws, 'message');
      assert.deepEqual(received, messages);
      const sent = messages.reduce((n, m) => n + Buffer.byteLength(m), 0);
      assert.ok(
        serverSocket!.bytesRead < sent / 10,
        `compressed on the wire: ${serverSocket!.bytesRead} of ${sent} bytes`,
      );
      assert.ok(serverSocket!.bytesWritten < sent / 10, `compressed replies: ${serverSocket!.bytesWritten}`);
      ws.close();
      await once(ws, 'close');
      await server.close();
    });
  }

  test('a window of 8 bits is agreed, and that side sends uncompressed (zlib cannot)', async () => {
    const { server, url } = await startEchoServer({ perMessageDeflate: { serverMaxWindowBits: 8 } });
    let serverSocket: Socket | undefined;
    server.on('connection', (_ws, req) => {
      serverSocket = req.socket as Socket;
    });
    const ws = await WebSocket.connect(url, { perMessageDeflate: { clientMaxWindowBits: 8 } });
    assert.equal(
      ws.extensions,
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8',
    );
    ws.send(text);
    assert.equal((await once(ws, 'message'))[0], text);
    assert.ok(serverSocket!.bytesWritten > text.length, 'the reply went uncompressed');
    ws.close();
    await server.close();
  });

  test('order is kept across compressed and uncompressed messages, and the Close comes last', async () => {
    const { server, url } = await startEchoServer({ perMessageDeflate: { threshold: 100 } });
    const ws = await WebSocket.connect(url);
    const sent: string[] = [];
    for (let i = 0; i < 300; i++) sent.push(i % 3 === 0 ? `${i}:${text.slice(0, 5000 + i)}` : `small ${i}`);
    const received: string[] = [];
    ws.on('message', (d) => received.push(d as string));
    for (const m of sent) ws.send(m);
    while (received.length < sent.length) await once(ws, 'message');
    assert.deepEqual(received, sent);
    // Messages queued behind a deflate still go out before the Close frame.
    const serverGot: string[] = [];
    server.once('connection', (peer) => peer.on('message', (d) => serverGot.push(d as string)));
    const second = await WebSocket.connect(url);
    second.send(text);
    second.send('after');
    second.close(1000, 'bye');
    await once(second, 'close');
    assert.deepEqual(serverGot, [text, 'after']);
    ws.close();
    await server.close();
  });

  test('compress: false sends a message uncompressed', async () => {
    const { server, url } = await startEchoServer({ perMessageDeflate: true });
    let serverSocket: Socket | undefined;
    server.on('connection', (_ws, req) => {
      serverSocket = req.socket as Socket;
    });
    const ws = await WebSocket.connect(url);
    ws.send(text, { compress: false });
    await once(ws, 'message');
    assert.ok(serverSocket!.bytesRead > text.length);
    ws.close();
    await server.close();
  });

  test('no compression unless both sides want it', async () => {
    const plain = await startEchoServer();
    const ws = await WebSocket.connect(plain.url);
    assert.equal(ws.extensions, '');
    ws.close();
    await plain.server.close();
    const deflating = await startEchoServer({ perMessageDeflate: true });
    const ws2 = await WebSocket.connect(deflating.url, { perMessageDeflate: false });
    assert.equal(ws2.extensions, '');
    ws2.send(text);
    assert.equal((await once(ws2, 'message'))[0], text);
    ws2.close();
    await deflating.server.close();
  });

  test('a decompression bomb closes with 1009 without allocating past the limit', async () => {
    const limit = 1024 * 1024;
    const payload = await bomb(100 * 1024 * 1024); // 100 MiB of zeros in ~100 KB
    assert.ok(payload.length < 200_000);
    const { server, port } = await startServer({ perMessageDeflate: true, maxMessageSize: limit });
    const closed = new Promise<[number, string]>((resolve) =>
      server.on('connection', (ws) => ws.on('close', (code, reason) => resolve([code, reason]))),
    );
    const client = await rawClient(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 1);
    client.socket.write(buildFrame({ opcode: 2, payload, rsv: 4 }));
    const [code, reason] = await closed;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    assert.equal(code, 1009);
    assert.match(reason, /inflates to more than 1048576 bytes/);
    const growth = peak - baseline;
    assert.ok(
      growth < 24 * 1024 * 1024,
      `memory grew by ${growth} bytes for a 1 MiB limit (the bomb is 100 MiB)`,
    );
    await server.close();
  });

  test('corrupt compressed data closes with 1007; RSV1 on a continuation with 1002', async () => {
    const { server, port } = await startServer({ perMessageDeflate: true });
    const codes: number[] = [];
    server.on('connection', (ws) => ws.on('close', (code) => codes.push(code)));
    const a = await rawClient(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    a.socket.write(buildFrame({ opcode: 1, payload: Buffer.from([0xff, 0xff, 0xff, 0x00, 0x01]), rsv: 4 }));
    await a.waitFor(() => false, 2000);
    assert.equal(decodeFrames(a.frames())[0]!.payload.readUInt16BE(0), 1007);
    const b = await rawClient(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    b.socket.write(
      Buffer.concat([
        buildFrame({ opcode: 1, payload: 'a', fin: false }),
        buildFrame({ opcode: 0, payload: 'b', rsv: 4 }),
      ]),
    );
    await b.waitFor(() => false, 2000);
    assert.equal(decodeFrames(b.frames())[0]!.payload.readUInt16BE(0), 1002);
    await server.close();
  });

  test('bad perMessageDeflate options are refused with what is allowed', async () => {
    const { WebSocketServer } = await import('../../src/index.js');
    assert.throws(
      () => new WebSocketServer({ noServer: true, perMessageDeflate: { serverMaxWindowBits: 16 } }),
      /"serverMaxWindowBits" must be an integer from 8 to 15; got 16/,
    );
    assert.throws(
      () => new WebSocketServer({ noServer: true, perMessageDeflate: { windowBits: 10 } as never }),
      /unknown option "windowBits"; allowed options are: serverNoContextTakeover/,
    );
    assert.throws(
      () => new WebSocketServer({ noServer: true, perMessageDeflate: 'yes' as never }),
      /must be true, false or an object/,
    );
  });
});
