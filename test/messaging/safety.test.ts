import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Hub, type Push } from '../../src/messaging/index.js';
import { RawClient } from './client.js';

/**
 * Review leftovers of issue 14: unencodable server-side publishes refused up
 * front, a per-connection cap on idempotency keys, and in-process connections
 * handed frozen shared objects instead of a JSON round trip per push.
 */
describe('messaging safety limits', () => {
  let hub: Hub;
  let url = '';
  before(async () => {
    hub = new Hub({
      port: 0,
      host: '127.0.0.1',
      namespaces: { '': { historySize: 100, clientPublish: true, presence: true, joinLeave: true } },
      maxIdempotencyKeys: 3,
    });
    await hub.listening();
    url = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}/`;
  });
  after(() => hub.close());

  test('a server-side publish JSON cannot encode is refused up front: no offset taken, nothing delivered', async () => {
    const watcher = await RawClient.connected(url);
    await watcher.call('subscribe', { channel: 'odd' });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await assert.rejects(
      hub.publish('odd', { n: 1n }),
      /MemoryEngine: the data published to "odd" cannot be encoded as JSON \(.*BigInt.*\); publish JSON values only/,
    );
    await assert.rejects(hub.publish('odd', cycle), /cannot be encoded as JSON \(.*circular.*\)/i);
    await assert.rejects(
      hub.publish('odd', () => 1),
      /cannot be encoded as JSON \(a function is not a JSON value\)/,
    );
    const data = { text: 'fine' };
    const ack = await hub.publish('odd', data);
    assert.equal(ack.offset, 1, 'the refused publishes took no offset');
    data.text = 'changed by the caller afterwards';
    await watcher.until(() => watcher.pubs('odd').length === 1, 'the valid publication');
    assert.deepEqual(
      watcher.pubs('odd').map((p) => p.data),
      [{ text: 'fine' }],
    );
    assert.deepEqual(
      (await hub.history('odd')).publications.map((p) => p.data),
      [{ text: 'fine' }],
      'the engine kept its own copy',
    );
    assert.equal((await hub.publish('odd', undefined)).offset, 2);
    assert.equal((await hub.history('odd')).publications[1]?.data, null, 'undefined is stored as null');
    watcher.close();
  });

  test('idempotency keys are capped per connection; publishes without a key go on', async () => {
    const client = await RawClient.connected(url);
    for (const key of ['k1', 'k2', 'k3']) {
      const reply = await client.call('publish', { channel: 'keys', data: key, key });
      assert.ok(reply.result, `${key}: ${JSON.stringify(reply.error)}`);
    }
    const refused = await client.call('publish', { channel: 'keys', data: 'k4', key: 'k4' });
    assert.equal(refused.error?.code, 'too-many-requests');
    assert.equal(refused.error?.temporary, true);
    assert.match(refused.error!.message, /more than 3 publishes with a key within 300 s/);
    const unkeyed = await client.call('publish', { channel: 'keys', data: 'no key' });
    assert.ok(unkeyed.result);
    const other = await RawClient.connected(url);
    assert.ok(
      (await other.call('publish', { channel: 'keys', data: 'x', key: 'k1' })).result,
      'another connection has its own budget',
    );
    client.close();
    other.close();
    assert.throws(() => new Hub({ noServer: true, maxIdempotencyKeys: 0 }), /maxIdempotencyKeys/);
  });

  test('local connections get publications and join/leave as shared, frozen objects (no JSON round trip)', async () => {
    const seenA: Push[] = [];
    const seenB: Push[] = [];
    const a = await hub.connectLocal({ user: 'a', onPush: (push) => seenA.push(push) });
    const b = await hub.connectLocal({ user: 'b', onPush: (push) => seenB.push(push) });
    await a.subscribe('shared');
    await b.subscribe('shared');
    const remote = await RawClient.connected(url);
    await remote.call('subscribe', { channel: 'shared' });
    await hub.publish('shared', { list: [1, 2], nested: { deep: true } });
    await remote.until(() => remote.pubs('shared').length === 1, 'the remote copy');
    const pubA = seenA.find((p) => p.push === 'pub') as Extract<Push, { push: 'pub' }>;
    const pubB = seenB.find((p) => p.push === 'pub') as Extract<Push, { push: 'pub' }>;
    assert.equal(pubA.pub, pubB.pub, 'the same object for every local subscriber');
    const data = pubA.pub.data as { list: number[]; nested: { deep: boolean } };
    assert.ok(
      Object.isFrozen(pubA.pub) &&
        Object.isFrozen(data) &&
        Object.isFrozen(data.list) &&
        Object.isFrozen(data.nested),
    );
    assert.throws(() => {
      data.nested.deep = false;
    }, TypeError);
    assert.throws(() => data.list.push(3), TypeError);
    assert.deepEqual((await hub.history('shared')).publications[0]?.data, {
      list: [1, 2],
      nested: { deep: true },
    });
    const join = seenA.find((p) => p.push === 'join') as Extract<Push, { push: 'join' }>;
    assert.equal(join.info.user, 'b');
    assert.ok(Object.isFrozen(join.info));
    a.close();
    b.close();
    remote.close();
  });
});
