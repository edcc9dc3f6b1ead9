import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { ReconnectingWebSocket } from '../../src/node/reconnecting.js';
import { WebSocket } from '../../src/node/websocket.js';
import { freePort } from './net-helpers.js';

async function serverOn(port: number, onMessage?: (data: string) => void) {
  const server = new WebSocketServer({ port, host: '127.0.0.1' });
  server.on('connection', (ws) => ws.on('message', (d) => onMessage?.(d as string)));
  await server.listening();
  return server;
}

const fast = { initialDelay: 20, maxDelay: 100 };

/** The final 'close' (events.once would also reject on the 'error' events these tests provoke). */
function finalClose(client: ReconnectingWebSocket): Promise<[number, string]> {
  return new Promise((resolve) =>
    client.once('close', (code: number, reason: string) => resolve([code, reason])),
  );
}

describe('ReconnectingWebSocket', { timeout: 20_000 }, () => {
  test('reconnects after the server restarts and flushes queued messages in order', async () => {
    const port = await freePort();
    const first = await serverOn(port);
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, { reconnect: fast });
    await once(client, 'open');
    const reconnecting = once(client, 'reconnecting');
    await first.close(); // 1001 Going Away: worth reconnecting
    const [attempt, delay, code] = await reconnecting;
    assert.equal(attempt, 1);
    assert.ok(delay >= 0 && delay <= 20);
    assert.equal(code, 1001);
    client.send('queued 1');
    client.send('queued 2');
    assert.equal(client.queued, 2);
    const received: string[] = [];
    let gotThree!: () => void;
    const three = new Promise<void>((r) => (gotThree = r));
    const second = await serverOn(port, (d) => {
      if (received.push(d) === 3) gotThree();
    });
    await once(client, 'reconnected');
    client.send('live 3');
    await three;
    assert.deepEqual(received, ['queued 1', 'queued 2', 'live 3']);
    const closed = once(client, 'close');
    client.close(1000, 'done');
    assert.deepEqual(await closed, [1000, 'done']);
    await second.close();
  });

  test('no reconnection after a stop code (1008), nor after a 4xx handshake answer', async () => {
    const port = await freePort();
    const server = new WebSocketServer({ port, host: '127.0.0.1', path: '/ok' });
    server.on('connection', (ws) => ws.close(4000));
    await server.listening();
    let reconnects = 0;
    const refused = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/missing`, { reconnect: fast });
    refused.on('reconnecting', () => reconnects++);
    const [code] = await finalClose(refused);
    assert.equal(code, 1006);
    assert.equal(reconnects, 0, 'a 404 will not fix itself');
    await server.close();

    const strict = new WebSocketServer({ port, host: '127.0.0.1' });
    strict.on('connection', (ws) => ws.close(4001)); // not a stop code: reconnect...
    await strict.listening();
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
      reconnect: { ...fast, stopCodes: [4001] }, // ...unless told so
    });
    client.on('reconnecting', () => reconnects++);
    const [finalCode] = await finalClose(client);
    assert.equal(finalCode, 4001);
    assert.equal(reconnects, 0);
    await strict.close();
  });

  test('gives up after maxAttempts; the queue is bounded', async () => {
    const port = await freePort(); // nothing listens
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, {
      reconnect: { ...fast, maxAttempts: 3, maxQueued: 2 },
    });
    const attempts: number[] = [];
    client.on('reconnecting', (n) => attempts.push(n));
    client.send('a');
    client.send('b');
    assert.throws(() => client.send('c'), /2 messages already wait for a reconnection/);
    const [code, reason] = await finalClose(client);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(code, 1006);
    assert.match(reason, /gave up after 3 reconnection attempts/);
    assert.throws(() => client.send('late'), /the client was closed/);
  });

  test('bad reconnect options say what is allowed', () => {
    assert.throws(
      () => new ReconnectingWebSocket('ws://127.0.0.1:1/', { reconnect: { delay: 5 } as never }),
      /unknown option "delay"; allowed options are: initialDelay, maxDelay, maxAttempts, stopCodes, maxQueued/,
    );
    assert.throws(
      () => new ReconnectingWebSocket('ws://127.0.0.1:1/', { reconnect: { maxDelay: 0 } }),
      /"maxDelay" must be an integer from 1 to 2147483647 ms; got 0/,
    );
  });

  test("the application's own close() never reconnects", async () => {
    const port = await freePort();
    const server = await serverOn(port);
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, { reconnect: fast });
    await once(client, 'open');
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    client.close(4100, 'bye');
    const [code] = await once(client, 'close');
    assert.equal(code, 4100);
    // The final 'close' is emitted only when the client decided not to reconnect
    // (it is that decision's other branch), so nothing can follow it.
    assert.equal(reconnects, 0);
    assert.equal(client.readyState, WebSocket.CLOSED);
    assert.equal(client.socket, null);
    await server.close();
  });
});
