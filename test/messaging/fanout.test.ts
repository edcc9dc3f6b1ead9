import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { type PreparedMessage, ServerWebSocket } from '../../src/index.js';
import { Hub } from '../../src/messaging/index.js';
import type { Push } from '../../src/messaging/protocol.js';
import { RawClient } from './client.js';

/**
 * Live fan-out shares one frame per publication (PreparedMessage) while every
 * per-connection guarantee stays per connection: order, recovery seams, local
 * connections.
 */
describe('hub fan-out', () => {
  test('one frame per publication for every WebSocket subscriber; order and recovery kept', async () => {
    const hub = new Hub({ port: 0, host: '127.0.0.1' });
    await hub.listening();
    const url = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    // Which prepared message each connection was sent (wrapping the public method).
    const sent: Array<{ ws: ServerWebSocket; message: PreparedMessage }> = [];
    const original = ServerWebSocket.prototype.sendPrepared;
    ServerWebSocket.prototype.sendPrepared = function (this: ServerWebSocket, message: PreparedMessage) {
      sent.push({ ws: this, message });
      return original.call(this, message);
    };
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
      // Live publications 31..60 reached all five WebSocket subscribers as the same framed bytes.
      const byMessage = new Map<PreparedMessage, Set<ServerWebSocket>>();
      for (const { ws, message } of sent) {
        let set = byMessage.get(message);
        if (!set) byMessage.set(message, (set = new Set()));
        set.add(ws);
      }
      const sharedByAll = [...byMessage.values()].filter((set) => set.size === 5).length;
      assert.ok(sharedByAll >= total - 30, `${sharedByAll} prepared messages went to all 5 connections`);
      for (const client of everyone) client.close();
      local.close();
    } finally {
      ServerWebSocket.prototype.sendPrepared = original;
      await hub.close();
    }
  });
});
