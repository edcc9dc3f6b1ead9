import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import WS, { WebSocketServer as WSServer } from 'ws';
import { DeflateClosedError, PerMessageDeflate } from '../../src/node/deflate.js';
import { WebSocket } from '../../src/node/websocket.js';
import { startEchoServer } from './net-helpers.js';

/**
 * Issue 11, crash 1: a connection that closes while its message (or the reply)
 * is being compressed or inflated must not touch the zlib stream afterwards
 * (Node's `reset()` on a closed stream is a fatal ERR_INTERNAL_ASSERTION).
 */

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

const NO_TAKEOVER = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const TAKEOVER = { ...NO_TAKEOVER, serverNoContextTakeover: false, clientNoContextTakeover: false };

function noisy(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 7919) % 251 < 100 ? 65 : i % 13;
  return b;
}

/** Call a deflate/inflate job and collect every callback it makes. */
function run(
  job: (cb: (error: Error | null, result?: Buffer) => void) => void,
): Promise<Array<[Error | null, Buffer | undefined]>> {
  const calls: Array<[Error | null, Buffer | undefined]> = [];
  return new Promise((resolve) => {
    job((error, result) => {
      calls.push([error, result]);
      // Let any second (wrong) callback show up before resolving.
      setImmediate(() => setImmediate(() => resolve(calls)));
    });
  });
}

describe('PerMessageDeflate: close() while a job runs', () => {
  for (const [name, params] of [
    ['without context takeover (pooled contexts)', NO_TAKEOVER],
    ['with context takeover', TAKEOVER],
  ] as const) {
    for (const role of ['server', 'client'] as const) {
      test(`deflate, ${name}, ${role}`, async () => {
        const deflate = new PerMessageDeflate(params, role, {}, 1 << 26);
        const pending = run((cb) => deflate.deflate(noisy(20_000), cb));
        deflate.close();
        const calls = await pending;
        assert.equal(calls.length, 1, 'the callback runs exactly once');
        assert.ok(calls[0]![0] instanceof DeflateClosedError);
        // The pool is intact: a new connection compresses normally.
        const next = new PerMessageDeflate(params, role, {}, 1 << 26);
        const [[error, out]] = (await run((cb) => next.deflate(noisy(20_000), cb))) as [
          [Error | null, Buffer],
        ];
        assert.equal(error, null);
        const back = zlib.inflateRawSync(Buffer.concat([out, Buffer.from([0, 0, 0xff, 0xff])]), {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
        });
        assert.ok(back.equals(noisy(20_000)));
        next.close();
      });

      test(`inflate, ${name}, ${role}`, async () => {
        const deflate = new PerMessageDeflate(params, role, {}, 1 << 26);
        const payload = zlib.deflateRawSync(noisy(1 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        const pending = run((cb) => deflate.inflate(payload.subarray(0, payload.length - 4), cb));
        deflate.close();
        const calls = await pending;
        assert.equal(calls.length, 1);
        assert.ok(calls[0]![0] instanceof DeflateClosedError);
      });
    }
  }

  test('jobs queued behind the concurrency limit, then close(): each callback once', async () => {
    const connections = Array.from(
      { length: 30 },
      () => new PerMessageDeflate(NO_TAKEOVER, 'server', {}, 1 << 26),
    );
    const jobs = connections.flatMap((c) => [
      run((cb) => c.deflate(noisy(50_000), cb)),
      run((cb) => c.deflate(noisy(10_000), cb)),
    ]);
    connections.forEach((c, i) => {
      if (i % 2 === 0) c.close();
    });
    const results = await Promise.all(jobs);
    results.forEach((calls, i) => {
      assert.equal(calls.length, 1, `job ${i}: one callback`);
      const closed = Math.floor(i / 2) % 2 === 0;
      if (closed) assert.ok(calls[0]![0] instanceof DeflateClosedError, `job ${i}`);
      else assert.equal(calls[0]![0], null, `job ${i}`);
    });
    for (const c of connections) c.close();
  });

  test('a job after close() answers at once and touches no zlib stream', async () => {
    const deflate = new PerMessageDeflate(NO_TAKEOVER, 'server', {}, 1 << 26);
    deflate.close();
    const [error] = (await run((cb) => deflate.deflate(noisy(5000), cb)))[0] ?? [];
    assert.ok(error instanceof DeflateClosedError);
    const [error2] = (await run((cb) => deflate.inflate(Buffer.from([0x03, 0x00]), cb)))[0] ?? [];
    assert.ok(error2 instanceof DeflateClosedError);
  });
});

describe('peers that leave during compression (the issue reproductions)', () => {
  test('ws clients send 20 kB and close, end or are terminated at once; the server keeps serving', async () => {
    const { server, url } = await startEchoServer({ perMessageDeflate: true });
    const payload = 'x'.repeat(20_000);
    for (let i = 0; i < 60; i++) {
      const client = new WS(url, { perMessageDeflate: true });
      client.on('error', () => {});
      await once(client, 'open');
      client.send(payload);
      if (i % 3 === 0) client.terminate();
      else if (i % 3 === 1) (client as unknown as { _socket: { end(): void } })._socket.end();
      else client.close();
      await once(client, 'close');
    }
    const ws = await WebSocket.connect(url);
    ws.send(payload);
    const [echo] = await once(ws, 'message');
    assert.equal(echo, payload);
    ws.close();
    await once(ws, 'close');
    await server.close();
  });

  for (const takeover of [false, true]) {
    test(`our client echoes 1 MiB from a server that then drops (${takeover ? 'with' : 'without'} context takeover)`, async () => {
      const wss = new WSServer({
        port: 0,
        host: '127.0.0.1',
        perMessageDeflate: takeover ? true : { clientNoContextTakeover: true, serverNoContextTakeover: true },
      });
      await once(wss, 'listening');
      const big = noisy(1 << 20);
      wss.on('connection', (c) => {
        c.on('error', () => {});
        c.send(big, () => setImmediate(() => c.terminate()));
      });
      const { port } = wss.address() as { port: number };
      let echoed = 0;
      for (let i = 0; i < 15; i++) {
        const ws = await WebSocket.connect(`ws://127.0.0.1:${port}`);
        ws.on('message', (d, isBinary) => {
          assert.ok(Buffer.isBuffer(d) && d.equals(big));
          echoed++;
          if (ws.readyState === ws.OPEN) ws.send(d, { binary: isBinary });
        });
        await once(ws, 'close');
      }
      assert.equal(echoed, 15, 'every message arrived before the drop was reported');
      await new Promise((r) => wss.close(r));
    });
  }
});
