import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/node/websocket.js';
import { rawClient, startServer } from './net-helpers.js';

const chunk = Buffer.alloc(256 * 1024, 1);

/** A server-side WebSocket whose peer does not read (its socket is paused). */
async function stalledPeer(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  const peer = new Promise<WebSocket>((r) => started.server.once('connection', r));
  const client = await rawClient(started.port);
  client.socket.pause();
  return { ...started, client, ws: await peer };
}

describe('backpressure', () => {
  test("send() says when to wait; 'drain' fires at the low-water mark", async () => {
    const { server, client, ws } = await stalledPeer({ highWaterMark: 512 * 1024, lowWaterMark: 1024 });
    let sends = 0;
    while (ws.send(chunk)) {
      sends++;
      assert.ok(sends < 1000, 'send() must eventually return false');
    }
    assert.ok(ws.bufferedAmount >= 512 * 1024);
    const drained = once(ws, 'drain');
    client.socket.resume(); // the peer starts reading
    await drained;
    assert.ok(ws.bufferedAmount <= 1024);
    ws.terminate();
    await server.close();
  });

  test('sendAsync() resolves as the buffer drains; drained() waits for the low-water mark', async () => {
    const { server, url } = await startServer();
    let received = 0;
    let allReceived!: () => void;
    const gotAll = new Promise<void>((r) => (allReceived = r));
    server.on('connection', (peer) =>
      peer.on('message', () => {
        if (++received === 40) allReceived();
      }),
    );
    const ws = await WebSocket.connect(url);
    for (let i = 0; i < 40; i++) await ws.sendAsync(chunk);
    assert.ok(ws.bufferedAmount <= 16 * 1024);
    await ws.drained();
    await gotAll;
    ws.close();
    await server.close();
  });

  test('a slow consumer past maxBufferedAmount is dropped at once, its buffer freed, reported as 1013', async () => {
    // The default closeTimeout (30 s) would outlast the test: the drop must not wait for it.
    const { server, ws } = await stalledPeer({ maxBufferedAmount: 1024 * 1024 });
    const closed = new Promise<[number, string]>((r) => ws.on('close', (c, reason) => r([c, reason])));
    const errors: Error[] = [];
    for (let i = 0; i < 100 && ws.readyState === ws.OPEN; i++) ws.send(chunk, (e) => e && errors.push(e));
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const [code, reason] = await closed;
    assert.equal(code, 1013, 'the cause, not 1006: the peer could not read a Close frame anyway');
    assert.match(reason, /slow consumer: more than 1048576 bytes buffered/);
    assert.equal(ws.wasClean, false);
    assert.equal(ws.bufferedAmount, 0, 'the buffered megabyte is gone with the socket');
    assert.equal(server.clients.size, 0);
    assert.ok(errors.some((e) => /reads too slowly/.test(e.message)));
    await server.close();
  });

  test("slowConsumer: 'drop' discards messages past the cap, with a 'drop' event and a count", async () => {
    const { server, ws } = await stalledPeer({ maxBufferedAmount: 1024 * 1024, slowConsumer: 'drop' });
    const dropped: unknown[] = [];
    ws.on('drop', (d) => dropped.push(d));
    for (let i = 0; i < 20; i++) ws.send(chunk);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.ok(dropped.length > 0 && dropped.length < 20);
    assert.equal(server.stats().messagesOut + dropped.length, 20);
    assert.equal(server.stats().dropped, dropped.length, 'stats() counts the drops');
    ws.terminate();
    await server.close();
  });

  test('for await: a slow loop pauses reading (TCP backpressure) and gets every message in order', async () => {
    const { server, url } = await startServer();
    const pad = 'x'.repeat(4096); // 400 x 4 KiB spans many TCP reads, so pausing matters
    server.on('connection', (peer) => {
      for (let i = 0; i < 400; i++) peer.send(`message ${i} ${pad}`);
    });
    const ws = await WebSocket.connect(url);
    const socket = (ws as unknown as { socket: Socket }).socket;
    const got: string[] = [];
    let sawPause = false;
    for await (const { data, isBinary } of ws) {
      assert.equal(isBinary, false);
      got.push((data as string).split(' ', 2).join(' '));
      if (socket.isPaused()) sawPause = true;
      if (got.length % 50 === 0) await new Promise((r) => setTimeout(r, 20)); // a slow consumer
      if (got.length === 400) ws.close(1000, 'done');
    }
    assert.equal(got.length, 400);
    assert.deepEqual(got.slice(0, 3), ['message 0', 'message 1', 'message 2']);
    assert.equal(got[399], 'message 399');
    assert.ok(sawPause, 'the socket was paused while the loop lagged');
    assert.equal(ws.closeCode, 1000);
    await server.close();
  });

  test('broadcasts obey the cap too: a stalled subscriber is closed, the others served', {
    timeout: 20_000,
  }, async () => {
    const { server, ws, url } = await stalledPeer({ maxBufferedAmount: 1024 * 1024, closeTimeout: 200 });
    const healthy = await WebSocket.connect(url);
    let healthyGot = 0;
    healthy.on('message', () => healthyGot++);
    const closed = new Promise<string>((r) => ws.on('close', (_c, reason) => r(reason)));
    // The kernel's loopback buffers absorb several MB first. The healthy client
    // reads each broadcast before the next is sent, so only the stalled one falls behind.
    let sent = 0;
    while (ws.readyState === WebSocket.OPEN && sent < 400) {
      const delivered = once(healthy, 'message');
      server.broadcast(chunk);
      sent++;
      await delivered;
    }
    assert.match(await closed, /slow consumer/);
    while (healthyGot < sent) await once(healthy, 'message');
    assert.equal(healthy.readyState, WebSocket.OPEN);
    healthy.close();
    await server.close();
  });

  test('drained() and sendAsync() reject when the connection closes before draining', async () => {
    const { server, client, ws } = await stalledPeer();
    while (ws.send(chunk)) {}
    const outcomes = Promise.allSettled([ws.drained(), ws.sendAsync(chunk)]);
    client.socket.destroy(); // the peer vanishes
    const [waiting, sending] = await outcomes;
    assert.equal(waiting.status, 'rejected');
    assert.match(String((waiting as PromiseRejectedResult).reason), /closed before the buffer drained/);
    assert.equal(sending.status, 'rejected');
    await server.close();
  });

  test('flow options are checked', async () => {
    const { WebSocketServer } = await import('../../src/index.js');
    assert.throws(
      () => new WebSocketServer({ noServer: true, highWaterMark: 1024, lowWaterMark: 4096 }),
      /"lowWaterMark" \(4096\) must not exceed "highWaterMark" \(1024\)/,
    );
    assert.throws(
      () => new WebSocketServer({ noServer: true, slowConsumer: 'kill' as never }),
      /"close" or "drop"/,
    );
  });
});
