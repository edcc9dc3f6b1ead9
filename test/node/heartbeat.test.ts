import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { HeartbeatMonitor, type Monitored } from '../../src/node/heartbeat.js';
import {
  kHeartbeatPing,
  kHeartbeatTimeout,
  kIdleTimeout,
  kLastMessage,
  kLastReceived,
  kPingSentAt,
} from '../../src/node/internal.js';
import { WebSocket } from '../../src/node/websocket.js';
import { rawClient, startServer } from './net-helpers.js';

function fake(at: number) {
  const log: string[] = [];
  const c: Monitored & { log: string[] } = {
    log,
    [kLastReceived]: at,
    [kLastMessage]: at,
    [kPingSentAt]: 0,
    [kHeartbeatPing]: () => log.push('ping'),
    [kHeartbeatTimeout]: (reason) => log.push(`timeout: ${reason}`),
    [kIdleTimeout]: (reason) => log.push(`idle: ${reason}`),
  };
  return c;
}

describe('HeartbeatMonitor (explicit clock)', () => {
  test('pings quiet peers, not busy ones; drops peers that do not answer', () => {
    const quiet = fake(0);
    const busy = fake(0);
    const answering = fake(0);
    const monitor = new HeartbeatMonitor({ interval: 1000, timeout: 500, idleTimeout: 0 }, () => [
      quiet,
      busy,
      answering,
    ]);
    busy[kLastReceived] = 900;
    monitor.tick(1000);
    assert.deepEqual([quiet.log, busy.log, answering.log], [['ping'], [], ['ping']]);
    answering[kLastReceived] = 1200; // a pong (or anything) after the ping
    monitor.tick(1400);
    assert.deepEqual(quiet.log, ['ping'], 'still within the timeout');
    assert.equal(answering[kPingSentAt], 0, 'answered');
    monitor.tick(1500);
    assert.deepEqual(quiet.log, ['ping', 'timeout: no answer to a ping within 500 ms']);
    assert.deepEqual(answering.log, ['ping']);
  });

  test('idle timeout counts data messages only', () => {
    const c = fake(0);
    const monitor = new HeartbeatMonitor({ interval: 0, timeout: 1, idleTimeout: 2000 }, () => [c]);
    c[kLastReceived] = 1900; // pongs and pings do not count as activity
    monitor.tick(1999);
    assert.deepEqual(c.log, []);
    monitor.tick(2000);
    assert.deepEqual(c.log, ['idle: idle for 2000 ms']);
  });
});

describe('heartbeats over real sockets', () => {
  test('a peer that never answers pings is terminated: 1006 with the reason', async () => {
    const { server, port } = await startServer({ heartbeatInterval: 100, heartbeatTimeout: 100 });
    const closed = new Promise<[number, string]>((resolve) =>
      server.on('connection', (ws) => ws.on('close', (code, reason) => resolve([code, reason]))),
    );
    const silent = await rawClient(port); // reads, never answers
    assert.deepEqual(await closed, [1006, 'no answer to a ping within 100 ms']);
    await silent.waitFor(() => false, 1000);
    assert.ok(silent.ended);
    await server.close();
  });

  test('a live client answers automatically and stays connected', async () => {
    // A generous timeout: a loaded CI machine must not turn a slow pong into a failure.
    const { server, url } = await startServer({ heartbeatInterval: 50, heartbeatTimeout: 2000 });
    const ws = await WebSocket.connect(url);
    let pings = 0;
    ws.on('ping', () => pings++);
    while (pings < 4) await once(ws, 'ping');
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
    await once(ws, 'close');
    await server.close();
  });

  test('idle connections are closed with 1001; active ones stay', async () => {
    const { server, url } = await startServer({ heartbeatInterval: 0, idleTimeout: 600 });
    const idle = await WebSocket.connect(url);
    const active = await WebSocket.connect(url);
    const timer = setInterval(() => active.readyState === active.OPEN && active.send('still here'), 50);
    const [code, reason] = await once(idle, 'close');
    assert.deepEqual([code, reason], [1001, 'idle for 600 ms']);
    assert.equal(active.readyState, WebSocket.OPEN);
    clearInterval(timer);
    active.close();
    await server.close();
  });

  test('one timer for all connections, not one per socket', async () => {
    const { server, url } = await startServer({ heartbeatInterval: 60_000, idleTimeout: 120_000 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const first = await WebSocket.connect(url);
    const before = timers();
    const many = await Promise.all(Array.from({ length: 200 }, () => WebSocket.connect(url)));
    assert.ok(timers() <= before + 1, `${timers() - before} more timers for 200 more connections`);
    for (const ws of [first, ...many]) ws.terminate();
    await server.close();
  });

  test('bad heartbeat options are refused', () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, heartbeatInterval: -1 }),
      /"heartbeatInterval" must be an integer from 0 to 2147483647 ms; got -1/,
    );
    assert.throws(() => new WebSocketServer({ noServer: true, heartbeatTimeout: 0 }), /"heartbeatTimeout"/);
  });
});

test('client heartbeats: a server that stops answering is detected (1006 with the reason)', async () => {
  const { createServer } = await import('node:net');
  const { computeAccept } = await import('../../src/protocol/handshake.js');
  // A server that completes the handshake, then never says anything again (not even pongs).
  const mute = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (req) => {
      const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(req.toString())![1]!;
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
      );
    });
  });
  mute.listen(0, '127.0.0.1');
  await once(mute, 'listening');
  const port = (mute.address() as { port: number }).port;
  const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/`, {
    heartbeatInterval: 100,
    heartbeatTimeout: 100,
  });
  const [code, reason] = await once(ws, 'close');
  assert.equal(code, 1006);
  assert.equal(reason, 'no answer to a ping within 100 ms');
  mute.close();
  // A live server answers, so the client stays connected.
  const { server, url } = await startServer();
  const live = await WebSocket.connect(url, { heartbeatInterval: 50, heartbeatTimeout: 2000 });
  let pongs = 0;
  live.on('pong', () => pongs++);
  while (pongs < 3) await once(live, 'pong');
  assert.equal(live.readyState, WebSocket.OPEN);
  live.close();
  await server.close();
});
