import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { WebSocket } from '../../src/node/websocket.js';
import { computeAccept } from '../../src/protocol/handshake.js';
import { buildFrame, decodeFrames } from '../helpers.js';
import { rawClient, startServer } from './net-helpers.js';

/**
 * RFC 7692 section 7.2.3.4: a sender may end a compressed message with a
 * DEFLATE block that has BFINAL set (zlib's Z_FINISH; some platforms can only
 * flush that way). Every size must inflate, in both directions, with and
 * without context takeover; after a final block the next message starts a
 * fresh DEFLATE stream.
 */

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Z_FINISH output: the message ends with a BFINAL block (no 00 00 ff ff to strip). */
const finished = (data: Buffer) => zlib.deflateRawSync(data);
/** Z_SYNC_FLUSH output with the tail removed, as RFC 7692 section 7.2.1 sends it. */
function synced(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(out.subarray(out.length - 4), TAIL);
  return out.subarray(0, out.length - 4);
}

function sampleText(bytes: number): Buffer {
  const words = ['socket', 'frame', 'deflate', 'window', 'final', 'block', 'header', 'stream'];
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `${words[(i * 7) % words.length]}${i % 977} `;
  return Buffer.from(s.slice(0, bytes));
}

/** The sizes the issue reported refused (300 KB of text, 4 MiB of zeros) and small ones. */
const MESSAGES: Array<[string, Buffer, boolean]> = [
  ['small text', Buffer.from('Hello'), true],
  ['empty', Buffer.alloc(0), false],
  ['300 KB of text', sampleText(300_000), true],
  ['4 MiB of zeros', Buffer.alloc(4 * 1024 * 1024), false],
  ['16 KiB + 1 of text (an output chunk boundary)', sampleText(16 * 1024 + 1), true],
];

/** Each message twice with BFINAL, then once with a sync flush: the context must survive or be fresh. */
function plan(): Array<{ data: Buffer; isText: boolean; payload: Buffer }> {
  const out: Array<{ data: Buffer; isText: boolean; payload: Buffer }> = [];
  for (const [, data, isText] of MESSAGES) {
    out.push({ data, isText, payload: finished(data) });
    out.push({ data, isText, payload: finished(data) });
  }
  out.push({
    data: Buffer.from('after final blocks'),
    isText: true,
    payload: synced(Buffer.from('after final blocks')),
  });
  return out;
}

for (const contextTakeover of [true, false]) {
  const label = contextTakeover ? 'with context takeover' : 'without context takeover';

  describe(`BFINAL-terminated messages are accepted (${label})`, () => {
    test('client to server (the server inflates)', async () => {
      const { server, port } = await startServer({
        perMessageDeflate: {
          serverNoContextTakeover: !contextTakeover,
          clientNoContextTakeover: !contextTakeover,
        },
      });
      const received: Array<{ data: Buffer; isBinary: boolean }> = [];
      let errors = 0;
      server.on('connection', (ws) => {
        ws.on('message', (data, isBinary) =>
          received.push({ data: Buffer.isBuffer(data) ? data : Buffer.from(data), isBinary }),
        );
        ws.on('error', () => errors++);
      });
      const offer = contextTakeover
        ? 'permessage-deflate'
        : 'permessage-deflate; client_no_context_takeover; server_no_context_takeover';
      const client = await rawClient(port, '/', `Sec-WebSocket-Extensions: ${offer}\r\n`);
      const messages = plan();
      for (const m of messages) {
        client.socket.write(buildFrame({ opcode: m.isText ? 1 : 2, rsv: 4, payload: m.payload }));
      }
      const deadline = Date.now() + 20_000;
      while (received.length < messages.length && !client.ended && Date.now() < deadline) {
        await client.waitFor(() => received.length >= messages.length, 500);
      }
      assert.equal(errors, 0, 'no protocol error');
      assert.equal(client.ended, false, 'the connection stays open');
      assert.equal(received.length, messages.length);
      received.forEach((r, i) => {
        assert.equal(r.isBinary, !messages[i]!.isText);
        assert.ok(r.data.equals(messages[i]!.data), `message ${i} intact (${r.data.length} bytes)`);
      });
      client.socket.destroy();
      await server.close();
    });

    test('server to client (the client inflates)', async () => {
      const messages = plan();
      const frameServer = net.createServer((socket) => {
        socket.on('error', () => {});
        socket.once('data', (req) => {
          const key = /sec-websocket-key: (.*)\r\n/i.exec(req.toString('latin1'))?.[1] ?? '';
          const params = contextTakeover ? '' : '; server_no_context_takeover';
          socket.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n` +
              `Sec-WebSocket-Extensions: permessage-deflate${params}\r\n\r\n`,
          );
          for (const m of messages) {
            socket.write(buildFrame({ opcode: m.isText ? 1 : 2, rsv: 4, mask: false, payload: m.payload }));
          }
        });
      });
      frameServer.listen(0, '127.0.0.1');
      await once(frameServer, 'listening');
      const { port } = frameServer.address() as net.AddressInfo;
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, undefined, { perMessageDeflate: true });
      const received: Array<{ data: Buffer; isBinary: boolean }> = [];
      const done = new Promise<void>((resolve, reject) => {
        ws.on('message', (data, isBinary) => {
          received.push({ data: Buffer.isBuffer(data) ? data : Buffer.from(data), isBinary });
          if (received.length === messages.length) resolve();
        });
        ws.on('close', (code, reason) => reject(new Error(`closed early: ${code} ${reason}`)));
      });
      await done;
      received.forEach((r, i) => {
        assert.equal(r.isBinary, !messages[i]!.isText);
        assert.ok(r.data.equals(messages[i]!.data), `message ${i} intact (${r.data.length} bytes)`);
      });
      ws.terminate();
      await once(ws, 'close');
      frameServer.close();
    });
  });
}

test('our replies to BFINAL messages still decode (the echo path with a ws-like peer)', async () => {
  const { server, port } = await startServer({ perMessageDeflate: { threshold: 0 } });
  server.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
  const client = await rawClient(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
  const data = sampleText(300_000);
  client.socket.write(buildFrame({ opcode: 1, rsv: 4, payload: finished(data) }));
  const inflater = zlib.createInflateRaw();
  let frames: ReturnType<typeof decodeFrames> = [];
  await client.waitFor(() => {
    frames = decodeFrames(client.frames());
    return frames.length > 0;
  }, 10_000);
  assert.equal(frames[0]!.rsv, 4);
  const chunks: Buffer[] = [];
  inflater.on('data', (c) => chunks.push(c));
  inflater.write(Buffer.concat([frames[0]!.payload, TAIL]));
  await new Promise<void>((r) => inflater.flush(() => r()));
  assert.ok(Buffer.concat(chunks).equals(data));
  client.socket.destroy();
  await server.close();
});
