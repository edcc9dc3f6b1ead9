import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EngineHandler } from '../../src/messaging/engine.js';
import { MemoryEngine } from '../../src/messaging/index.js';
import type { Publication } from '../../src/messaging/protocol.js';
import { RawClient, startHub, urlOf } from './client.js';
import { LaggyEngine } from './engines.js';

/** Offsets of a client's publications in a channel must be exactly from..to, in order, once. */
function assertExactly(client: RawClient, channel: string, from: number, to: number): void {
  const offsets = client.pubs(channel).map((p) => p.offset);
  const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  assert.deepEqual(offsets, expected);
}

/**
 * A memory engine whose live feed misbehaves on purpose: it can drop
 * publications before they reach the hub (a lost pub/sub message) and call
 * resync, like a Redis engine after a reconnect.
 */
class LossyEngine extends MemoryEngine {
  drop: (pub: Publication) => boolean = () => false;
  hubHandler!: EngineHandler;

  override async start(handler: EngineHandler): Promise<void> {
    this.hubHandler = handler;
    await super.start({
      ...handler,
      publication: (channel, pub) => {
        if (!this.drop(pub)) handler.publication(channel, pub);
      },
      join: (c, i) => handler.join(c, i),
      leave: (c, i) => handler.leave(c, i),
      resync: (c) => handler.resync(c),
      readiness: (r) => handler.readiness(r),
    });
  }
}

describe('recovery', () => {
  test('a gap larger than one page is paged: every missed publication before the reply, in order', async () => {
    const hub = await startHub({
      maxHistoryLimit: 7,
      historyLimit: 7,
      namespaces: { '': { historySize: 500 } },
    });
    try {
      const first = await hub.publish('big', 0);
      for (let i = 1; i < 100; i++) await hub.publish('big', i);
      const client = await RawClient.connected(urlOf(hub));
      const id = client.send('subscribe', { channel: 'big', since: { epoch: first.epoch, offset: 3 } });
      const reply = await client.reply(id);
      assert.deepEqual(reply.result, {
        epoch: first.epoch,
        offset: 100,
        recovered: true,
        presence: false,
        joinLeave: false,
      });
      assertExactly(client, 'big', 4, 100);
      assert.ok(client.frames.indexOf(reply) > client.frames.findLastIndex((f) => f.push === 'pub'));
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('the seam under concurrent publishing: exactly once, in order, for subscribes at any moment', async () => {
    // Small pages and a small hold buffer force every path: paging, held live publications, overflow re-reads.
    const engine = new LaggyEngine();
    const hub = await startHub({
      engine,
      maxHistoryLimit: 5,
      historyLimit: 5,
      recoveryHold: 3,
      namespaces: { '': { historySize: 1000 } },
    });
    try {
      const total = 400;
      const first = await hub.publish('seam', 1);
      let reads = 0;
      // Every history read answers only after more publications were made: the seam is always open.
      engine.afterHistoryRead = async () => {
        reads++;
        const target = Math.min(total, published + 3);
        while (published < target) await new Promise((r) => setImmediate(r));
      };
      const clients: Array<{ client: RawClient; since: number; via: 'subscribe' | 'connect' }> = [];
      let published = 1;
      const publisher = (async () => {
        while (published < total) {
          // Bursts of concurrent publishes, so publications land while history is being read.
          const burst = Math.min(5, total - published);
          await Promise.all(Array.from({ length: burst }, (_, i) => hub.publish('seam', published + i + 1)));
          published += burst;
          // A pace that lets subscribers' history reads overlap the publishing.
          for (let t = 0; t < 10; t++) await new Promise((r) => setImmediate(r));
        }
      })();
      for (let k = 0; k < 8; k++) {
        const since = published;
        const via = k % 2 === 0 ? 'subscribe' : 'connect';
        const position = { epoch: first.epoch, offset: since };
        if (via === 'subscribe') {
          const client = await RawClient.connected(urlOf(hub));
          clients.push({ client, since, via });
          const result = await client.request<{ recovered: boolean }>('subscribe', {
            channel: 'seam',
            since: position,
          });
          assert.equal(result.recovered, true);
        } else {
          const client = await RawClient.connected(urlOf(hub), { subs: { seam: { since: position } } });
          clients.push({ client, since, via });
        }
        // Let the publisher advance between subscribers (so each joins at a different offset).
        while (published < Math.min(total, since + 30)) await new Promise((r) => setImmediate(r));
      }
      await publisher;
      assert.ok(reads > 8);
      for (const { client, since } of clients) {
        await client.until(() => (client.pubs('seam').at(-1)?.offset ?? since) === total, `offset ${total}`);
        assertExactly(client, 'seam', since + 1, total);
        client.close();
      }
    } finally {
      await hub.close();
    }
  });

  test('connect recovers many channels in one round trip; a refused channel gets an error entry', async () => {
    const hub = await startHub();
    try {
      const a = await hub.publish('a', 'a1');
      await hub.publish('a', 'a2');
      const b = await hub.publish('b', 'b1');
      await hub.publish('b', 'b2');
      await hub.publish('b', 'b3');
      const client = await RawClient.open(urlOf(hub));
      const reply = await client.call('connect', {
        subs: {
          a: { since: { epoch: a.epoch, offset: 1 } },
          b: { since: { epoch: b.epoch, offset: 1 } },
          c: {},
          'nope:x': {},
        },
      });
      const subs = (reply.result as { subs: Record<string, Record<string, unknown>> }).subs;
      assert.equal(subs.a!.recovered, true);
      assert.equal(subs.a!.offset, 2);
      assert.equal(subs.b!.recovered, true);
      assert.equal(subs.c!.offset, 0);
      assert.equal(subs.c!.recovered, undefined);
      assert.equal((subs['nope:x']!.error as { code: string }).code, 'bad-channel');
      const replyIndex = client.frames.indexOf(reply);
      assert.deepEqual(
        client.frames
          .slice(0, replyIndex)
          .map((f) => `${f.channel}:${(f.pub as Publication).data}`)
          .sort(),
        ['a:a2', 'b:b2', 'b:b3'],
      );
      // Live publications flow after the reply.
      await hub.publish('c', 'c1');
      await client.until(() => client.pubs('c').length === 1);
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('recovered: false after a restart (new engine, new epoch), and live delivery continues', async () => {
    const hub1 = await startHub();
    const old = await hub1.publish('r', 1);
    await hub1.close();
    const hub2 = await startHub();
    try {
      await hub2.publish('r', 'new');
      const client = await RawClient.connected(urlOf(hub2));
      const result = await client.request<{ recovered: boolean; epoch: string; offset: number }>(
        'subscribe',
        {
          channel: 'r',
          since: { epoch: old.epoch, offset: old.offset },
        },
      );
      assert.equal(result.recovered, false);
      assert.notEqual(result.epoch, old.epoch);
      assert.equal(result.offset, 1);
      assert.equal(client.pubs('r').length, 0);
      await hub2.publish('r', 'after');
      await client.until(() => client.pubs('r').length === 1);
      assert.equal(client.pubs('r')[0]!.offset, 2);
      client.close();
    } finally {
      await hub2.close();
    }
  });

  test('a live publication out of sequence is repaired from history', async () => {
    const engine = new LossyEngine();
    const hub = await startHub({ engine });
    try {
      const client = await RawClient.connected(urlOf(hub));
      await client.request('subscribe', { channel: 'lossy' });
      engine.drop = (pub) => pub.offset === 2 || pub.offset === 3;
      for (let i = 1; i <= 5; i++) await hub.publish('lossy', i);
      await client.until(() => client.pubs('lossy').length === 5);
      assertExactly(client, 'lossy', 1, 5);
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('resync catches up a publication the feed lost silently (nothing after it to reveal the gap)', async () => {
    const engine = new LossyEngine();
    const hub = await startHub({ engine });
    try {
      const client = await RawClient.connected(urlOf(hub));
      await client.request('subscribe', { channel: 'quiet' });
      await hub.publish('quiet', 1);
      engine.drop = (pub) => pub.offset === 2;
      await hub.publish('quiet', 2);
      await client.until(() => client.pubs('quiet').length === 1);
      engine.hubHandler.resync(['quiet']);
      await client.until(() => client.pubs('quiet').length === 2);
      assertExactly(client, 'quiet', 1, 2);
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('a gap the history cannot fill ends the subscription with unsubscribed 2500, never silently', async () => {
    const engine = new LossyEngine();
    const hub = await startHub({ engine, namespaces: { '': { historySize: 0 } } });
    try {
      const client = await RawClient.connected(urlOf(hub));
      const start = await client.request<{ epoch: string }>('subscribe', { channel: 'nohistory' });
      engine.drop = (pub) => pub.offset === 1;
      await hub.publish('nohistory', 1);
      await hub.publish('nohistory', 2);
      const [push] = await client.until(
        () => client.pushes('unsubscribed').length === 1 && client.pushes('unsubscribed'),
      );
      assert.equal(push!.code, 2500);
      assert.equal(push!.channel, 'nohistory');
      assert.equal(client.pubs('nohistory').length, 0);
      // Resubscribing with the position held is answered honestly.
      const again = await client.request<{ recovered: boolean; offset: number }>('subscribe', {
        channel: 'nohistory',
        since: { epoch: start.epoch, offset: 0 },
      });
      assert.equal(again.recovered, false);
      assert.equal(again.offset, 2);
      client.close();
    } finally {
      await hub.close();
    }
  });
});
