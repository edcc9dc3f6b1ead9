import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { PreparedMessage, type ServerWebSocket, WebSocket } from '../../src/index.js';
import { InvalidStateError } from '../../src/protocol/errors.js';
import { startServer } from './net-helpers.js';

/** The next `n` messages of a client, as [text or bytes, isBinary]. */
function collect(ws: WebSocket, n: number): Promise<[string | Buffer, boolean][]> {
  const got: [string | Buffer, boolean][] = [];
  return new Promise((resolve) => {
    const onMessage = (data: string | Buffer, isBinary: boolean) => {
      got.push([data, isBinary]);
      if (got.length === n) {
        ws.off('message', onMessage);
        resolve(got);
      }
    };
    ws.on('message', onMessage);
  });
}

async function connected(n: number, options: Parameters<typeof startServer>[0] = {}) {
  const { server, url } = await startServer(options);
  const accepted: ServerWebSocket[] = [];
  server.on('connection', (ws) => accepted.push(ws));
  const clients = await Promise.all(Array.from({ length: n }, () => WebSocket.connect(url)));
  while (accepted.length < n) await once(server, 'connection');
  return { server, clients, accepted };
}

describe('PreparedMessage and sendPrepared', () => {
  test('framed once, sent to several connections in order with their own sends (text and binary)', async () => {
    const { server, clients, accepted } = await connected(3);
    const text = new PreparedMessage('shared text');
    const bytes = new PreparedMessage(Buffer.from([1, 2, 3]));
    const textFromBytes = new PreparedMessage(Buffer.from('{"a":1}'), { binary: false });
    assert.equal(text.binary, false);
    assert.equal(bytes.binary, true);
    assert.equal(text.byteLength, 2 + 'shared text'.length);
    const received = clients.map((ws) => collect(ws, 5));
    accepted.forEach((ws, i) => {
      ws.send(`own ${i}`);
      assert.equal(ws.sendPrepared(text), true);
      assert.equal(ws.sendPrepared(bytes), true);
      ws.send(`after ${i}`);
      assert.equal(ws.sendPrepared(textFromBytes), true);
    });
    const results = await Promise.all(received);
    results.forEach((got, i) => {
      assert.deepEqual(got, [
        [`own ${i}`, false],
        ['shared text', false],
        [Buffer.from([1, 2, 3]), true],
        [`after ${i}`, false],
        ['{"a":1}', false],
      ]);
    });
    for (const ws of clients) ws.close();
    await server.close();
  });

  test('counts in bufferedAmount at once, and the slow-consumer cap applies to it', async () => {
    const { server, clients, accepted } = await connected(1, { maxBufferedAmount: 64 * 1024 });
    const big = new PreparedMessage(Buffer.alloc(100 * 1024, 1));
    const ws = accepted[0]!;
    const before = ws.bufferedAmount;
    // The first goes on top of a buffer below the cap (the cap is on accumulation) ...
    ws.sendPrepared(big);
    assert.ok(ws.bufferedAmount >= before + big.byteLength, `bufferedAmount ${ws.bufferedAmount}`);
    // ... the next finds the buffer over the cap: a slow consumer is dropped, reported as 1013.
    const closed = once(ws, 'close');
    assert.equal(ws.sendPrepared(big), false);
    const [code] = await closed;
    assert.equal(code, 1013);
    await once(clients[0]!, 'close');
    await server.close();
  });

  test('uncompressed on a permessage-deflate connection (RFC 7692 allows it), read correctly', async () => {
    const { server, clients, accepted } = await connected(1, { perMessageDeflate: true });
    assert.match(clients[0]!.extensions, /permessage-deflate/);
    const payload = 'y'.repeat(4096);
    const got = collect(clients[0]!, 2);
    accepted[0]!.sendPrepared(new PreparedMessage(payload));
    accepted[0]!.send(payload); // compressed, and after the prepared one
    assert.deepEqual(await got, [
      [payload, false],
      [payload, false],
    ]);
    clients[0]!.close();
    await server.close();
  });

  test('concat: several messages in one sendPrepared, received as separate messages in order', async () => {
    const { server, clients, accepted } = await connected(2);
    const parts = [
      new PreparedMessage('first'),
      new PreparedMessage(Buffer.from([7, 8])),
      new PreparedMessage('z'.repeat(70 * 1024)), // header and payload kept apart (> 16 KiB)
      new PreparedMessage('last'),
    ];
    const batch = PreparedMessage.concat(parts);
    assert.equal(batch.messageCount, 4);
    assert.equal(
      batch.byteLength,
      parts.reduce((sum, p) => sum + p.byteLength, 0),
    );
    assert.equal(batch.binary, false, 'binary only when every part is');
    assert.equal(PreparedMessage.concat([parts[0]!]), parts[0], 'one message is itself');
    assert.equal(PreparedMessage.concat([batch, parts[0]!]).messageCount, 5, 'batches nest');
    const received = clients.map((ws) => collect(ws, 6));
    accepted.forEach((ws, i) => {
      ws.send(`own ${i}`);
      ws.sendPrepared(batch);
      ws.send(`after ${i}`);
    });
    const results = await Promise.all(received);
    assert.equal(server.stats().messagesOut, 2 * 6, 'a batch counts as the messages it carries');
    results.forEach((got, i) => {
      assert.deepEqual(got, [
        [`own ${i}`, false],
        ['first', false],
        [Buffer.from([7, 8]), true],
        ['z'.repeat(70 * 1024), false],
        ['last', false],
        [`after ${i}`, false],
      ]);
    });
    assert.throws(() => PreparedMessage.concat([]), TypeError);
    assert.throws(() => PreparedMessage.concat(['x' as unknown as PreparedMessage]), TypeError);
    assert.throws(() => PreparedMessage.concat('x' as unknown as PreparedMessage[]), TypeError);
    for (const ws of clients) ws.close();
    await server.close();
  });

  test('refuses what it cannot send: not a PreparedMessage, a closed connection, a client connection', async () => {
    const { server, clients, accepted } = await connected(1);
    assert.throws(() => new PreparedMessage('x', { binary: 'yes' as unknown as boolean }), TypeError);
    assert.throws(() => accepted[0]!.sendPrepared('x' as unknown as PreparedMessage), TypeError);
    // Client frames are masked (RFC 6455 section 5.3): shared unmasked bytes would be a protocol error.
    assert.throws(() => clients[0]!.sendPrepared(new PreparedMessage('x')), InvalidStateError);
    const closed = once(accepted[0]!, 'close');
    clients[0]!.close();
    await closed;
    assert.throws(() => accepted[0]!.sendPrepared(new PreparedMessage('x')), InvalidStateError);
    await server.close();
  });
});
