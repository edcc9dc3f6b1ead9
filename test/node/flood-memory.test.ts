import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as net from 'node:net';
import { after, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import type { WebSocket } from '../../src/node/websocket.js';
import { buildFrame, decodeFrames } from '../helpers.js';
import { rawClient, startServer } from './net-helpers.js';

/**
 * Issue 11, items 4-6: one connection (or many) must not drive the server's
 * memory past a bound, whatever it sends. Each test asserts on what the server
 * holds for the attacker (send buffer, parser backlog, reassembly buffer),
 * sampled while the flood runs; bench/attacks.mjs measures the same floods as
 * process memory from outside.
 */

const MiB = 1024 * 1024;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

/** Internal state of a server-side connection, read for the assertions only. */
function internals(ws: WebSocket) {
  const connection = (ws as unknown as { connection: Record<string, unknown> }).connection;
  const parser = connection.parser as { backlogLength: number };
  return {
    backlog: () => parser.backlogLength,
    reassembly: () =>
      (connection.messageBufferStore as { buffer: Buffer | null } | null)?.buffer?.length ?? 0,
  };
}

/** Write `frame` `count` times, honouring the socket's own backpressure, until done or closed. */
async function writeMany(socket: net.Socket, frame: Buffer, count: number): Promise<number> {
  const batch = Buffer.concat(
    Array.from({ length: Math.max(1, Math.floor(65536 / frame.length)) }, () => frame),
  );
  const perBatch = batch.length / frame.length;
  let written = 0;
  while (written < count && !socket.destroyed) {
    written += perBatch;
    if (!socket.write(batch)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
  }
  return written;
}

describe('ping flood from a peer that never reads (item 4)', () => {
  test('the send buffer stays bounded; the most recent ping is answered once the peer reads', async () => {
    const { server, port } = await startServer();
    const serverSide = once(server, 'connection') as Promise<[WebSocket]>;
    const client = await rawClient(port);
    const [ws] = await serverSide;
    client.socket.pause(); // never read
    let pings = 0;
    let maxBuffered = 0;
    ws.on('ping', () => {
      pings++;
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
    });
    // 160,000 pings of 125 bytes: 21 MB of pings, 20 MB of pongs if all were answered.
    const payload = Buffer.alloc(125, 7);
    const count = await writeMany(client.socket, buildFrame({ opcode: 0x9, payload }), 160_000);
    const last = Buffer.alloc(125, 9);
    client.socket.write(buildFrame({ opcode: 0x9, payload: last }));
    while (pings < count + 1) await once(ws, 'ping');
    // Before the fix: every pong queued, ~15 MB in the server's buffer (more in its heap).
    assert.ok(maxBuffered < 512 * 1024, `the server buffered up to ${maxBuffered} bytes of pongs`);
    assert.equal(ws.readyState, ws.OPEN, 'a ping is no slow-consumer offence below the cap');
    // The peer reads at last: the pongs drain and the last ping gets its pong.
    client.socket.resume();
    await client.waitFor((b) => b.includes(last), 20_000);
    const frames = decodeFrames(client.frames());
    const lastPong = frames.filter((f) => f.opcode === 0xa).at(-1);
    assert.ok(lastPong?.payload.equals(last), 'the most recent ping was answered');
    assert.ok(frames.length < count, `pongs were coalesced: ${frames.length} for ${count + 1} pings`);
    client.socket.destroy();
    await server.close();
  });

  test("slowConsumer 'close': past maxBufferedAmount a pinging non-reader is cut at once, reported as 1013", async () => {
    const { server, port } = await startServer({ maxBufferedAmount: 1024 });
    const serverSide = once(server, 'connection') as Promise<[WebSocket]>;
    const client = await rawClient(port);
    const [ws] = await serverSide;
    client.socket.pause();
    const closed = once(ws, 'close') as Promise<[number, string]>;
    void writeMany(client.socket, buildFrame({ opcode: 0x9, payload: Buffer.alloc(125) }), 400_000);
    const [code, reason] = await closed;
    assert.equal(code, 1013, 'dropped without waiting for a Close it could not read');
    assert.match(reason, /slow consumer/);
    client.socket.destroy();
    await server.close();
  });
});

describe('compressed flood (item 5)', () => {
  test('reading stops while a message inflates: the backlog stays within a chunk, the sender feels TCP backpressure', async () => {
    const { server, port } = await startServer({ perMessageDeflate: true });
    const serverSide = once(server, 'connection') as Promise<[WebSocket]>;
    const client = await rawClient(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    const [ws] = await serverSide;
    const { backlog } = internals(ws);
    // 16 KB on the wire, 16 MiB once inflated.
    const deflated = zlib.deflateRawSync(Buffer.alloc(16 * MiB), {
      level: 9,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const frame = buildFrame({ opcode: 0x2, rsv: 4, payload: deflated.subarray(0, deflated.length - 4) });
    let received = 0;
    let maxBacklog = 0;
    const target = 24;
    const enough = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        assert.equal((data as Buffer).length, 16 * MiB);
        received++;
        maxBacklog = Math.max(maxBacklog, backlog());
        if (received === target) resolve();
      }),
    );
    // 400 messages = 6.6 MB on the wire (6.4 GB inflated): far more than the
    // kernel buffers hold, so the client's writes must back up.
    const writing = writeMany(client.socket, frame, 400);
    await enough;
    maxBacklog = Math.max(maxBacklog, backlog());
    // Before the fix the server read everything into the parser's backlog (megabytes).
    assert.ok(maxBacklog <= 256 * 1024, `parser backlog reached ${maxBacklog} bytes`);
    assert.ok(client.socket.writableLength > 0, 'the sender is held back by TCP');
    client.socket.destroy();
    await writing;
    await server.close();
  });
});

describe('frame headers announcing 64 MiB (item 6)', () => {
  test('200 connections each announce a 64 MiB fragment and send 3 bytes: at most twice the 3 bytes is reserved', async () => {
    const { server, port } = await startServer({ maxConnectionsPerIp: 0 });
    const connections: WebSocket[] = [];
    server.on('connection', (ws) => connections.push(ws));
    const sockets: net.Socket[] = [];
    const before = process.memoryUsage().arrayBuffers;
    const header = Buffer.alloc(14);
    header[0] = 0x02; // binary, not final
    header[1] = 0x80 | 127;
    header.writeUInt32BE(64 * MiB, 6);
    for (let i = 0; i < 200; i++) {
      const client = await rawClient(port);
      client.socket.write(Buffer.concat([header, Buffer.from('abc')]));
      sockets.push(client.socket);
    }
    // Wait until every server side has the 3 bytes.
    const deadline = Date.now() + 20_000;
    while (connections.filter((ws) => internals(ws).reassembly() > 0).length < 200 && Date.now() < deadline) {
      await new Promise((r) => setImmediate(r));
    }
    const held = connections.reduce((n, ws) => n + internals(ws).reassembly(), 0);
    // A header's announced length may be reserved ahead, but never past twice the bytes that came.
    assert.ok(held <= 200 * 3 * 2, `reassembly buffers hold ${held} bytes`);
    const growth = process.memoryUsage().arrayBuffers - before;
    // Before the fix: 200 x 64 MiB = 12.8 GB of array buffers.
    assert.ok(growth < 64 * MiB, `arrayBuffers grew by ${(growth / MiB).toFixed(1)} MiB`);
    for (const s of sockets) s.destroy();
    await server.close();
  });
});
