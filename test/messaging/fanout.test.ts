import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { type PreparedMessage, ServerWebSocket } from '../../src/index.js';
import { Hub } from '../../src/messaging/index.js';
import type { Push } from '../../src/messaging/protocol.js';
import { kPreparedFrame } from '../../src/node/prepared-message.js';
import { RawClient } from './client.js';

/** The JSON texts of the frames a prepared message (or a concat of several) carries. */
function framedTexts(message: PreparedMessage): string[] {
  const bytes = Buffer.concat(message[kPreparedFrame]);
  const texts: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    texts.push(bytes.subarray(start, start + length).toString());
    at = start + length;
  }
  return texts;
}

/** Wrap ServerWebSocket.prototype.sendPrepared to record what each connection was sent. */
function recordPrepared() {
  const sent: Array<{ ws: ServerWebSocket; message: PreparedMessage }> = [];
  const original = ServerWebSocket.prototype.sendPrepared;
  ServerWebSocket.prototype.sendPrepared = function (this: ServerWebSocket, message: PreparedMessage) {
    sent.push({ ws: this, message });
    return original.call(this, message);
  };
  return { sent, restore: () => (ServerWebSocket.prototype.sendPrepared = original) };
}

/** Wrap ServerWebSocket.prototype.send and sendPrepared to record, in order, the texts of every write. */
function recordWrites() {
  const writes: string[][] = [];
  const { send, sendPrepared } = ServerWebSocket.prototype;
  ServerWebSocket.prototype.send = function (this: ServerWebSocket, ...args: Parameters<typeof send>) {
    writes.push([String(args[0])]);
    return send.apply(this, args);
  };
  ServerWebSocket.prototype.sendPrepared = function (this: ServerWebSocket, message: PreparedMessage) {
    writes.push(framedTexts(message));
    return sendPrepared.call(this, message);
  };
  const restore = () => {
    ServerWebSocket.prototype.send = send;
    ServerWebSocket.prototype.sendPrepared = sendPrepared;
  };
  return { writes, restore };
}

/**
 * Live fan-out shares one frame per publication (PreparedMessage) while every
 * per-connection guarantee stays per connection: order, recovery seams, local
 * connections. What waits for one connection leaves in one write.
 */
describe('hub fan-out', () => {
  test('one frame per publication for every WebSocket subscriber; order and recovery kept', async () => {
    const hub = new Hub({ port: 0, host: '127.0.0.1' });
    await hub.listening();
    const url = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    // Which prepared message each connection was sent (wrapping the public method).
    const { sent, restore } = recordPrepared();
    try {
      const live = await Promise.all(
        Array.from({ length: 4 }, () => RawClient.connected(url, { subs: { room: {} } })),
      );
      const localPushes: Push[] = [];
      const local = await hub.connectLocal({ onPush: (push) => localPushes.push(push) });
      const first = await local.subscribe('room');
      const total = 60;
      let late: RawClient | undefined;
      for (let n = 1; n <= total; n++) {
        await hub.publish('room', { n });
        // Halfway, a client recovers from offset 10 while publications keep coming.
        if (n === 30) {
          late = await RawClient.connected(url, {
            subs: { room: { since: { epoch: first.epoch, offset: 10 } } },
          });
        }
      }
      const everyone = [...live, late!];
      for (const client of everyone) {
        await client.until(() => client.pubs('room').at(-1)?.offset === total, `offset ${total}`);
      }
      for (const client of live) {
        assert.deepEqual(
          client.pubs('room').map((p) => p.offset),
          Array.from({ length: total }, (_, i) => i + 1),
        );
      }
      assert.deepEqual(
        late!.pubs('room').map((p) => p.offset),
        Array.from({ length: total - 10 }, (_, i) => i + 11),
        'the recovering client: history then live, no gap, no duplicate',
      );
      const localOffsets = localPushes
        .filter((p) => p.push === 'pub')
        .map((p) => (p as { pub: { offset: number } }).pub.offset);
      assert.deepEqual(
        localOffsets,
        Array.from({ length: total }, (_, i) => i + 1),
      );
      // Live publications 31..60 reached all five WebSocket subscribers as the same framed bytes:
      // each went out in a prepared message (alone or batched) that all five were sent.
      const byMessage = new Map<PreparedMessage, Set<ServerWebSocket>>();
      for (const { ws, message } of sent) {
        let set = byMessage.get(message);
        if (!set) byMessage.set(message, (set = new Set()));
        set.add(ws);
      }
      const sharedOffsets = new Set<number>();
      for (const [message, receivers] of byMessage) {
        if (receivers.size !== 5) continue;
        for (const text of framedTexts(message)) {
          const frame = JSON.parse(text) as { push?: string; pub?: { offset: number } };
          if (frame.push === 'pub') sharedOffsets.add(frame.pub!.offset);
        }
      }
      for (let offset = 31; offset <= total; offset++) {
        assert.ok(sharedOffsets.has(offset), `publication ${offset} went to all 5 as one shared frame`);
      }
      for (const client of everyone) client.close();
      local.close();
    } finally {
      restore();
      await hub.close();
    }
  });

  test('what waits for one connection leaves in one write, in order with replies; nothing is lost', async () => {
    const hub = new Hub({ port: 0, host: '127.0.0.1', namespaces: { '': { clientPublish: true } } });
    await hub.listening();
    const url = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    const { sent, restore } = recordPrepared();
    try {
      const subscriber = await RawClient.connected(url, { subs: { room: {} } });
      const publisher = await RawClient.connected(url);
      sent.length = 0;
      // Five publications in one event-loop iteration: one write per subscriber carries all five.
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => hub.publish('room', { i })));
      assert.deepEqual(
        results.map((r) => r.offset),
        [1, 2, 3, 4, 5],
      );
      await subscriber.until(() => subscriber.pubs('room').length === 5, '5 publications');
      const toSubscriber = sent.filter(({ message }) =>
        framedTexts(message).some((t) => t.includes('"pub"')),
      );
      assert.equal(toSubscriber.length, 1, 'one sendPrepared (one socket write) for the five');
      assert.equal(toSubscriber[0]!.message.messageCount, 5);
      // A client's own commands in one chunk: their replies leave together, each exactly once, in order.
      const ids = [1, 2, 3].map((n) => publisher.send('publish', { channel: 'room', data: { n } }));
      const replies = await Promise.all(ids.map((id) => publisher.reply(id)));
      assert.deepEqual(
        replies.map((r) => (r.result as { offset: number }).offset),
        [6, 7, 8],
      );
      // The subscriber got every publication once, in order, with the subscribe reply first.
      await subscriber.until(() => subscriber.pubs('room').length === 8, '8 publications');
      assert.deepEqual(
        subscriber.pubs('room').map((p) => p.offset),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.equal(subscriber.frames[0]!.id, 1, 'the connect reply came before any publication');
      subscriber.close();
      publisher.close();
    } finally {
      restore();
      await hub.close();
    }
  });

  test('a publish reply leaves ahead of the fan-out queued before it, the replies of one chunk in one write', async () => {
    const hub = new Hub({ port: 0, host: '127.0.0.1', namespaces: { '': { clientPublish: true } } });
    await hub.listening();
    const url = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    const subscribers = await Promise.all(
      Array.from({ length: 3 }, () => RawClient.connected(url, { subs: { room: {} } })),
    );
    const publisher = await RawClient.connected(url);
    const { writes, restore } = recordWrites();
    try {
      // The memory engine fans out while it stores, before the publish resolves: every
      // subscriber's outbox has the publications before the publisher's has its replies.
      const ids = [1, 2, 3].map((n) => publisher.send('publish', { channel: 'room', data: { n } }));
      const replies = await Promise.all(ids.map((id) => publisher.reply(id)));
      assert.deepEqual(
        replies.map((r) => (r.result as { offset: number }).offset),
        [1, 2, 3],
      );
      for (const subscriber of subscribers) {
        await subscriber.until(() => subscriber.pubs('room').length === 3, '3 publications');
        assert.deepEqual(
          subscriber.pubs('room').map((p) => p.offset),
          [1, 2, 3],
        );
      }
      // Four writes: the publisher's three replies together, then each subscriber's three publications.
      assert.deepEqual(
        writes.map((texts) => texts.map((t) => (t.includes('"result"') ? 'reply' : 'pub'))),
        [['reply', 'reply', 'reply'], ...subscribers.map(() => ['pub', 'pub', 'pub'])],
      );
    } finally {
      restore();
      for (const subscriber of subscribers) subscriber.close();
      publisher.close();
      await hub.close();
    }
  });
});
