import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { ServerWebSocket } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { InvalidStateError } from '../../src/protocol/errors.js';
import { startServer } from './net-helpers.js';

async function clients(url: string, n: number) {
  return Promise.all(Array.from({ length: n }, () => WebSocket.connect(url)));
}

function nextMessage(ws: WebSocket): Promise<string | Buffer> {
  return once(ws, 'message').then(([d]) => d);
}

describe('broadcast and topics', () => {
  test('broadcast reaches every open client, or exactly those the filter accepts', async () => {
    const { server, url } = await startServer();
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => WebSocket.connect(`${url}/?id=${i}`)));
    // The server adds a connection as it writes the 101, before the client can open.
    assert.equal(server.clients.size, 20);
    const got = all.map(nextMessage);
    assert.equal(server.broadcast('hello everyone'), 20);
    assert.deepEqual(await Promise.all(got), Array(20).fill('hello everyone'));
    const received: number[] = [];
    all.forEach((ws, i) => {
      ws.on('message', (_data, isBinary) => {
        if (isBinary) received.push(i);
      });
    });
    const chosen = (ws: WebSocket) => /id=(0|1|2|3|4)$/.test(ws.url);
    assert.equal(server.broadcast(Buffer.from([1, 2, 3]), { filter: chosen }), 5);
    // A marker to everyone afterwards: once it has arrived everywhere, the filtered message has too.
    const markers = all.map(nextMessage);
    server.broadcast('marker');
    await Promise.all(markers);
    assert.deepEqual(
      received.sort((x, y) => x - y),
      [0, 1, 2, 3, 4],
    );
    for (const ws of all) ws.close();
    await server.close();
  });

  test('a broadcast of 1 MiB to 50 clients is framed once (memory grows by far less than 50 MiB)', async () => {
    const { server, url } = await startServer();
    const all = await clients(url, 50);
    assert.equal(server.clients.size, 50);
    const payload = Buffer.alloc(1024 * 1024, 7);
    const before = process.memoryUsage().arrayBuffers;
    const received = all.map(nextMessage);
    assert.equal(server.broadcast(payload), 50);
    const growthAtSend = process.memoryUsage().arrayBuffers - before;
    assert.ok(growthAtSend < 8 * 1024 * 1024, `sending grew arrayBuffers by ${growthAtSend}`);
    for (const m of await Promise.all(received)) assert.ok((m as Buffer).equals(payload));
    for (const ws of all) ws.close();
    await server.close();
  });

  test('topics: subscribe, publish, unsubscribe, and cleanup on close', async () => {
    const { server, url } = await startServer();
    const peers: ServerWebSocket[] = [];
    server.on('connection', (ws) => {
      peers.push(ws);
      ws.on('message', (d) => {
        const [op, topic] = String(d).split(' ');
        if (op === 'sub') ws.subscribe(topic!);
        if (op === 'unsub') ws.unsubscribe(topic!);
        ws.send('ok');
      });
    });
    const [a, b, c] = await clients(url, 3);
    for (const [ws, cmd] of [
      [a, 'sub news'],
      [b, 'sub news'],
      [c, 'sub sport'],
    ] as const) {
      ws!.send(cmd);
      await nextMessage(ws!);
    }
    assert.equal(server.subscribers('news'), 2);
    assert.deepEqual(peers[0]!.topics, ['news']);
    const news = [a!, b!].map(nextMessage);
    assert.equal(server.publish('news', 'extra! extra!'), 2);
    assert.deepEqual(await Promise.all(news), ['extra! extra!', 'extra! extra!']);
    assert.equal(server.publish('nobody-here', 'x'), 0);
    b!.send('unsub news');
    await nextMessage(b!);
    assert.equal(server.subscribers('news'), 1);
    const leftServerSide = once(peers[0]!, 'close');
    a!.close();
    await leftServerSide;
    assert.equal(server.subscribers('news'), 0, 'closed connections leave their topics');
    assert.throws(() => peers[0]!.subscribe('x'), InvalidStateError, 'a closed connection cannot subscribe');
    assert.equal('subscribe' in b!, false, 'client-side sockets have no topics');
    b!.close();
    c!.close();
    await server.close();
  });

  test("broadcasts keep each connection's order: behind queued compressed sends and unfinished fragments", async () => {
    const { server, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
    const peer = new Promise<WebSocket>((r) => server.once('connection', r));
    const ws = await WebSocket.connect(url);
    const p = await peer;
    const received: string[] = [];
    ws.on('message', (d) => received.push(String(d).slice(0, 20)));
    p.send('compressed first '.repeat(1000)); // queued behind zlib
    server.broadcast('broadcast second');
    p.send('frag-', { fin: false });
    server.broadcast('broadcast fourth'); // must not land inside the fragmented message
    p.send('ment third');
    while (received.length < 4) await once(ws, 'message');
    assert.deepEqual(received, [
      'compressed first com',
      'broadcast second',
      'frag-ment third',
      'broadcast fourth',
    ]);
    ws.close();
    await server.close();
  });
});
