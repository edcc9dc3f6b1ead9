import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Hub, MemoryEngine } from '../../src/messaging/index.js';
import { CloseCodes, ErrorCodes, SUBPROTOCOL } from '../../src/messaging/protocol.js';
import { buildFrame, decodeFrames } from '../helpers.js';
import { RawClient, startHub, urlOf } from './client.js';

const COMMANDS = [
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'history',
  'presence',
  'presence_stats',
  'rpc',
  'refresh',
];

/** The id a server must answer a frame with (docs/protocol.md: unreadable ids are answered with 0). */
function expectedId(text: string): number {
  try {
    const frame = JSON.parse(text);
    if (typeof frame === 'object' && frame !== null && !Array.isArray(frame)) {
      if (typeof frame.id === 'number' && Number.isSafeInteger(frame.id) && frame.id >= 1) return frame.id;
    }
  } catch {}
  return 0;
}

describe('malformed input', () => {
  test('fuzz: every frame gets exactly one reply with its id (0 when unreadable); never a crash or a stuck connection', async () => {
    const hub = await startHub({
      maxBadCommands: 1_000_000,
      commandRate: 0,
      namespaces: { room: { clientPublish: true, presence: true } },
      rpc: { echo: ({ data }) => data },
    });
    try {
      const client = await RawClient.connected(urlOf(hub));
      let nextId = 1000;
      const channel = fc.oneof(
        fc.constantFrom('room:a', 'b', 'nope:x', '', ' '),
        fc.string({ maxLength: 8 }),
      );
      const position = fc.oneof(
        fc.record({ epoch: fc.string({ maxLength: 4 }), offset: fc.integer({ min: -2, max: 5 }) }),
        fc.anything(),
      );
      const params = fc.oneof(
        fc.record(
          {
            channel,
            since: position,
            data: fc.jsonValue(),
            key: fc.string({ maxLength: 70 }),
            limit: fc.anything(),
            reverse: fc.anything(),
            method: fc.constantFrom('echo', 'x'),
            token: fc.anything(),
            subs: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        fc.anything(),
      );
      const commandLike = fc
        .record(
          {
            cmd: fc.oneof(fc.constantFrom(...COMMANDS), fc.string({ maxLength: 10 }), fc.anything()),
            params,
          },
          { requiredKeys: [] },
        )
        .map((c) => JSON.stringify({ id: nextId++, ...c }));
      const junk = fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      );
      await fc.assert(
        fc.asyncProperty(fc.oneof(commandLike, junk), async (text) => {
          const id = expectedId(text);
          const before = client.frames.filter((f) => f.id === id).length;
          client.sendRaw(text);
          if (id === 0) {
            await client.until(
              () => client.frames.filter((f) => f.id === 0).length === before + 1,
              'the id 0 reply',
            );
          } else {
            const reply = await client.reply(id);
            assert.ok(
              'result' in reply !== 'error' in reply,
              `one of result/error: ${JSON.stringify(reply)}`,
            );
          }
        }),
        { numRuns: 300 },
      );
      // Still healthy: a normal command is answered.
      const stats = await client.request('presence_stats', { channel: 'room:zzz' });
      assert.deepEqual(stats, { clients: 0, users: 0 });
      // Every reply id answered exactly once.
      const ids = client.frames.filter((f) => typeof f.id === 'number' && f.id > 0).map((f) => f.id);
      assert.equal(new Set(ids).size, ids.length, 'a command got two replies');
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('repeated bad commands close with 4501; binary messages are bad requests', async () => {
    const hub = await startHub({ maxBadCommands: 3 });
    try {
      const client = await RawClient.connected(urlOf(hub));
      client.ws.send(Buffer.from([1, 2, 3]));
      client.sendRaw('not json');
      client.sendRaw(JSON.stringify({ id: 5, cmd: 'dance' }));
      const [code] = await client.closed;
      assert.equal(code, CloseCodes.badRequest);
      const errors = client.frames.filter((f) => f.error).map((f) => [f.id, f.error!.code]);
      assert.deepEqual(errors, [
        [0, ErrorCodes.badRequest],
        [0, ErrorCodes.badRequest],
        [5, ErrorCodes.unknownCommand],
      ]);
      assert.equal(client.pushes('disconnect')[0]?.reconnect, false);
    } finally {
      await hub.close();
    }
  });

  test('limits: subscriptions per connection, command rate', async () => {
    const hub = await startHub({ maxSubscriptions: 2, commandRate: 1, commandBurst: 4 });
    try {
      const client = await RawClient.connected(urlOf(hub));
      await client.request('subscribe', { channel: 'a' });
      await client.request('subscribe', { channel: 'b' });
      const third = await client.call('subscribe', { channel: 'c' });
      assert.equal(third.error?.code, ErrorCodes.limitExceeded);
      const ids = [1, 2, 3, 4].map(() => client.send('presence_stats', { channel: 'x' }));
      const replies = await Promise.all(ids.map((id) => client.reply(id)));
      const limited = replies.find((r) => r.error?.code === ErrorCodes.tooManyRequests);
      assert.ok(limited, 'the burst is exhausted');
      assert.equal(limited.error!.temporary, true);
      client.close();
    } finally {
      await hub.close();
    }
  });
});

describe('options', () => {
  test('every option is checked with what is allowed', () => {
    const make = (options: object) => () => new Hub({ noServer: true, ...options } as never);
    assert.throws(make({ bogus: 1 }), /Hub: unknown option "bogus"; allowed options are: port, host/);
    assert.throws(
      make({ connectTimeout: 0 }),
      /Hub: option "connectTimeout" must be an integer from 1 to 2147483647 ms; got 0/,
    );
    assert.throws(
      make({ maxOutboundBytes: 'big' }),
      /option "maxOutboundBytes" must be an integer from 1024/,
    );
    assert.throws(make({ authenticate: 'yes' }), /option "authenticate" must be a function; got "yes"/);
    assert.throws(make({ rpc: { x: 1 } }), /option "rpc.x" must be a function/);
    assert.throws(make({ namespaces: { 'bad name': {} } }), /namespace name "bad name" must be ''/);
    assert.throws(
      make({ namespaces: { chat: { history: 5 } } }),
      /namespace "chat": unknown option "history"; allowed options are: historySize/,
    );
    assert.throws(
      make({ namespaces: { chat: { presence: 'on' } } }),
      /option "presence" must be true or false; got "on"/,
    );
    assert.throws(
      make({ websocket: { protocols: ['x'] } }),
      /give "protocols" as a hub option, not inside "websocket"/,
    );
    assert.throws(make({ websocket: { path: '/x' } }), /give "path" as a hub option, not inside "websocket"/);
    assert.throws(
      make({ bogus: 1 }),
      /allowed options are: port, host, tls, server, noServer, path, websocket/,
    );
    assert.throws(make({ engine: {} }), /option "engine" must implement the Engine interface/);
    assert.throws(
      make({ historyLimit: 50, maxHistoryLimit: 10 }),
      /"historyLimit" must be an integer from 0 to 10/,
    );
  });
});

/**
 * A client that stops reading: a raw TCP socket, paused after the handshake,
 * so everything the server sends piles up in the server's queue.
 */
async function pausedSubscriber(port: number, channel: string) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${SUBPROTOCOL}\r\n\r\n`,
  );
  let bytes = Buffer.alloc(0);
  const received = new Promise<Buffer>((resolve) => {
    socket.on('data', (chunk) => (bytes = Buffer.concat([bytes, chunk])));
    socket.on('close', () => resolve(bytes));
  });
  const reply = async (id: number) => {
    while (!bytes.includes(`"id":${id},"result"`)) await new Promise((r) => socket.once('data', r));
  };
  socket.write(buildFrame({ opcode: 1, payload: JSON.stringify({ id: 1, cmd: 'connect' }) }));
  await reply(1);
  const subscribe = { id: 2, cmd: 'subscribe', params: { channel } };
  socket.write(buildFrame({ opcode: 1, payload: JSON.stringify(subscribe) }));
  await reply(2);
  socket.pause();
  return {
    socket,
    /** Read everything until the server closes; the frames after the HTTP response. */
    async drain() {
      // Answer the server's Close (RFC 6455 5.5.1) so it can drop the connection at once.
      const answer = () => {
        const frames = decodeFrames(bytes.subarray(bytes.indexOf('\r\n\r\n') + 4));
        const close = frames.find((f) => f.opcode === 8);
        if (!close) return;
        socket.off('data', answer);
        socket.end(buildFrame({ opcode: 8, payload: close.payload.subarray(0, 2) }));
      };
      socket.on('data', answer);
      socket.resume();
      const all = await received;
      return decodeFrames(all.subarray(all.indexOf('\r\n\r\n') + 4));
    },
  };
}

describe('slow consumers', () => {
  test('a client that stops reading is disconnected (4001, reconnect), loses nothing, and slows no one', async () => {
    const engine = new MemoryEngine();
    const hub = await startHub({
      engine,
      maxOutboundBytes: 64 * 1024,
      namespaces: { '': { historySize: 10_000 } },
    });
    try {
      const port = (hub.address() as AddressInfo).port;
      const healthy = await RawClient.connected(urlOf(hub));
      await healthy.request('subscribe', { channel: 'firehose' });
      const slow = await pausedSubscriber(port, 'firehose');
      const healthyId = (healthy.frames[0]!.result as { client: string }).client;
      const slowSession = [...hub.sessions.values()].find((s) => s.client !== healthyId);
      assert.ok(slowSession, 'found the slow session');
      const payload = 'x'.repeat(16 * 1024);
      let published = 0;
      // Publish until the hub gives up on the slow client (bounded: 64 MiB at most).
      while (slowSession.state !== 'closed' && published < 4096) {
        await hub.publish('firehose', { n: ++published, payload });
        // Give the event loop a turn, so the healthy client (in this process) reads as it goes.
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(slowSession.state, 'closed', 'the slow consumer was cut off');
      // The healthy subscriber got everything, undisturbed.
      await healthy.until(() => healthy.pubs('firehose').length === published, 'all publications');
      assert.equal(healthy.ws.readyState, healthy.ws.OPEN);
      // The slow one, once it reads again: a gap-free prefix, the disconnect advice, close 4001.
      const frames = await slow.drain();
      const texts = frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()));
      const offsets = texts.filter((t) => t.push === 'pub').map((t) => t.pub.offset);
      assert.deepEqual(
        offsets,
        Array.from({ length: offsets.length }, (_, i) => i + 1),
      );
      const advice = texts.find((t) => t.push === 'disconnect');
      assert.equal(advice?.code, CloseCodes.slowConsumer);
      assert.equal(advice?.reconnect, true);
      const close = frames.find((f) => f.opcode === 8);
      assert.equal(close?.payload.readUInt16BE(0), CloseCodes.slowConsumer);
      // It reconnects with its position and recovers the rest exactly.
      const last = texts.filter((t) => t.push === 'pub').at(-1)?.pub ?? { epoch: '', offset: 0 };
      const back = await RawClient.connected(urlOf(hub), {
        subs: {
          firehose: {
            since: {
              epoch: last.epoch || (await hub.history('firehose', { limit: 0 })).epoch,
              offset: last.offset,
            },
          },
        },
      });
      await back.until(() => back.pubs('firehose').at(-1)?.offset === published, 'recovery');
      assert.deepEqual(
        back.pubs('firehose').map((p) => p.offset),
        Array.from({ length: published - last.offset }, (_, i) => last.offset + 1 + i),
      );
      healthy.close();
      back.close();
    } finally {
      await hub.close();
    }
  });
});
