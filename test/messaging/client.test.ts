import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectContext } from '../../src/messaging/index.js';
import { NotSentError, ReplyError, TimeoutError } from '../../src/messaging/node-client.js';
import { collect, nextEvent, startHub, type TestHub } from './client-fixture.js';

/** The Node messaging client against a real hub (memory engine) on loopback. */
describe('messaging client with a real hub', () => {
  let t: TestHub;
  before(async () => {
    t = await startHub({ rpc: { echo: ({ data, client }) => ({ data, user: client.user }) } });
  });
  after(() => t.close());

  test('connect, subscribe, publish: the ack names the position the subscriber sees', async () => {
    const alice = t.client({ token: 'alice' });
    const states: string[] = [];
    alice.on('state', ({ state }) => states.push(state));
    alice.connect();
    await alice.ready();
    assert.deepEqual(alice.session.user, 'alice');
    const sub = alice.subscribe('chat:connect');
    const subscribed = nextEvent(sub, 'subscribed');
    await sub.ready();
    assert.equal((await subscribed).recovered, undefined, 'a fresh subscription has nothing to recover');
    const seen = collect(sub);
    const ack = await sub.publish({ text: 'hello' });
    assert.equal(ack.offset, 1);
    await seen.until(1);
    assert.deepEqual(seen.data, [{ text: 'hello' }]);
    assert.deepEqual(seen.offsets, [1]);
    const [again] = (await sub.history()).publications;
    assert.equal(again!.epoch, ack.epoch);
    assert.equal(again!.info?.user, 'alice');
    assert.deepEqual(states, ['connecting', 'connected']);
    alice.close();
    assert.equal(alice.state, 'disconnected');
  });

  test('history, presence, presence stats and rpc resolve with the results', async () => {
    const a = t.client({ token: 'ann' });
    const b = t.client({ token: 'ann' });
    const c = t.client({ token: 'cid' });
    for (const client of [a, b, c]) {
      client.connect();
      await client.subscribe('chat:who').ready();
    }
    const members = (await a.presence('chat:who')).members.map((m) => m.user).sort();
    assert.deepEqual(members, ['ann', 'ann', 'cid']);
    assert.deepEqual(await c.presenceStats('chat:who'), { clients: 3, users: 2 });
    for (let i = 1; i <= 5; i++) await a.publish('chat:who', i);
    const page = await a.history('chat:who', { limit: 2, reverse: true });
    assert.deepEqual(
      page.publications.map((p) => p.data),
      [5, 4],
    );
    assert.equal(page.offset, 5);
    assert.deepEqual(await c.rpc('echo', { x: 1 }), { data: { x: 1 }, user: 'cid' });
    await assert.rejects(
      c.rpc('nope'),
      (e: Error) => e instanceof ReplyError && e.code === 'method-not-found',
    );
  });

  test('join and leave reach the other subscribers', async () => {
    const watcher = t.client({ token: 'watcher' });
    watcher.connect();
    const sub = watcher.subscribe('chat:joins');
    await sub.ready();
    const joined = nextEvent(sub, 'join');
    const visitor = t.client({ token: 'visitor' });
    visitor.connect();
    const visit = visitor.subscribe('chat:joins');
    await visit.ready();
    assert.equal((await joined).info.user, 'visitor');
    const left = nextEvent(sub, 'leave');
    visit.unsubscribe();
    assert.equal((await left).info.user, 'visitor');
  });

  test('server-side termination: the client reconnects and recovers every missed publication once, in order', async () => {
    const client = t.client();
    client.connect();
    const sub = client.subscribe('chat:recover');
    await sub.ready();
    const seen = collect(sub);
    await t.hub.publish('chat:recover', 'before');
    await seen.until(1);
    t.gate.hold();
    const held = t.gate.arrival();
    const reconnecting = nextEvent(client, 'connecting');
    t.terminate(client.session.client);
    await reconnecting;
    await held; // the client is trying again and waits at the gate: these are missed live
    for (let i = 1; i <= 5; i++) await t.hub.publish('chat:recover', `missed ${i}`);
    const resubscribed = nextEvent(sub, 'subscribed');
    t.gate.release();
    const event = await resubscribed;
    assert.equal(event.recovered, true);
    assert.deepEqual(event.since, { epoch: event.epoch, offset: 1 });
    await t.hub.publish('chat:recover', 'after');
    await seen.until(7);
    assert.deepEqual(seen.data, [
      'before',
      'missed 1',
      'missed 2',
      'missed 3',
      'missed 4',
      'missed 5',
      'after',
    ]);
    assert.deepEqual(seen.offsets, [1, 2, 3, 4, 5, 6, 7]);
  });

  test('when history no longer covers the gap the subscription says recovered: false and goes on', async () => {
    const client = t.client();
    client.connect();
    const sub = client.subscribe('short:gap');
    await sub.ready();
    const seen = collect(sub);
    await t.hub.publish('short:gap', 1);
    await seen.until(1);
    t.gate.hold();
    const held = t.gate.arrival();
    t.terminate(client.session.client);
    await held;
    for (let i = 2; i <= 10; i++) await t.hub.publish('short:gap', i); // history keeps 3
    const resubscribed = nextEvent(sub, 'subscribed');
    t.gate.release();
    const event = await resubscribed;
    assert.equal(event.recovered, false);
    assert.equal(event.offset, 10);
    await t.hub.publish('short:gap', 11);
    await seen.until(2);
    assert.deepEqual(seen.data, [1, 11], 'no silent partial delivery: the app was told, then live goes on');
    assert.deepEqual(sub.position?.offset, 11);
  });

  test('a publish made while offline is queued and sent once when back', async () => {
    const reader = t.client();
    reader.connect();
    const readerSub = reader.subscribe('chat:offline');
    await readerSub.ready();
    const read = collect(readerSub);
    const writer = t.client({ token: 'writer' });
    writer.connect();
    await writer.ready();
    t.gate.hold();
    const held = t.gate.arrival();
    t.terminate(writer.session.client);
    await held;
    assert.equal(writer.state, 'connecting');
    const acks = [writer.publish('chat:offline', 'q1'), writer.publish('chat:offline', 'q2')];
    t.gate.release();
    const [first, second] = await Promise.all(acks);
    assert.deepEqual([first!.offset, second!.offset], [1, 2]);
    await read.until(2);
    const history = await t.hub.history('chat:offline');
    assert.deepEqual(
      history.publications.map((p) => p.data),
      ['q1', 'q2'],
    );
  });

  test('a publish whose connection dies before the ack is retried with its key: stored and delivered once', async () => {
    const writer = t.client({ token: 'w2' });
    writer.connect();
    await writer.ready();
    const ack = writer.publish('chat:inflight', 'exactly once');
    t.terminate(writer.session.client); // the command may or may not have reached the hub
    const { offset } = await ack;
    const history = await t.hub.history('chat:inflight');
    assert.deepEqual(
      history.publications.map((p) => [p.offset, p.data]),
      [[offset, 'exactly once']],
    );
  });

  test('a publish with a key already used gets the first position back (idempotent)', async () => {
    const client = t.client({ token: 'idem' });
    client.connect();
    const first = await client.publish('chat:idem', 'x', { key: 'order-42' });
    const second = await client.publish('chat:idem', 'x', { key: 'order-42' });
    assert.deepEqual(second, first);
    assert.equal((await t.hub.history('chat:idem')).publications.length, 1);
  });

  test('refusals: a subscribe refused by the hub ends the subscription with the reason', async () => {
    const client = t.client();
    client.connect();
    const sub = client.subscribe('nowhere:x');
    const unsubscribed = nextEvent(sub, 'unsubscribed');
    await assert.rejects(sub.ready(), (e: Error) => e instanceof ReplyError && e.code === 'bad-channel');
    assert.match((await unsubscribed).reason, /bad-channel/);
    assert.equal(client.getSubscription('nowhere:x'), undefined);
    await assert.rejects(
      client.publish('news:x', 1),
      (e: Error) => e instanceof ReplyError && e.code === 'not-available',
    );
  });

  test('an unauthorized connect stops for good (4500) and fails what was queued', async () => {
    const client = t.client({ token: 'bad' });
    const queued = client.publish('chat:x', 'never');
    const stopped = nextEvent(client, 'disconnected');
    client.connect();
    const { code, reason } = await stopped;
    assert.equal(code, 4500);
    assert.match(reason, /unauthorized/);
    await assert.rejects(queued, NotSentError);
    await assert.rejects(client.publish('chat:x', 'later'), /stopped/);
  });

  test('a server disconnect with 4502 (no reconnect) stops the client; 4000 (shutdown) makes it reconnect', async () => {
    const banned = t.client({ token: 'banned' });
    banned.connect();
    await banned.ready();
    const stopped = nextEvent(banned, 'disconnected');
    t.hub.disconnectUser('banned', 4502, 'banned');
    assert.deepEqual(await stopped, { code: 4502, reason: 'banned' });

    const moved = t.client({ token: 'moved' });
    moved.connect();
    await moved.ready();
    const firstId = moved.session.client;
    const back = nextEvent(moved, 'connected', (e) => e.client !== firstId);
    t.hub.disconnectUser('moved', 4000, 'draining');
    await back;
  });

  test('a command waiting for a connection that never comes fails with TimeoutError', async () => {
    const client = t.client();
    t.gate.hold();
    client.connect();
    await assert.rejects(
      client.history('chat:x', { timeout: 50 }),
      (e: Error) => e instanceof TimeoutError && /no connection to send it on/.test(e.message),
    );
    t.gate.release();
    await client.ready();
  });

  test('an expiring token is refreshed (getToken) before it expires; the connection stays up', async () => {
    // Tokens "v1", "v2", ...: each valid for 1 s from when the hub sees it.
    const refreshes: ConnectContext[] = [];
    let gotRefresh: () => void = () => {};
    const twoRefreshes = new Promise<void>((resolve) => (gotRefresh = resolve));
    const tokens = await startHub({
      authenticate: (context) => {
        if (context.refresh) refreshes.push(context);
        if (refreshes.length === 2) gotRefresh();
        return { user: 'renewer', expiresAt: Date.now() + 1000 };
      },
    });
    try {
      let issued = 0;
      const client = tokens.client({ getToken: () => `v${++issued}` });
      client.connect();
      await client.ready();
      await twoRefreshes;
      // Each refresh carried a fresh token from getToken, on the same connection's user.
      const used = refreshes.map((r) => Number(r.token!.slice(1)));
      assert.ok(used[0]! >= 2 && used[1]! > used[0]!, `refresh tokens ${used}`);
      assert.equal(client.session.user, 'renewer');
    } finally {
      await tokens.close();
    }
  });

  test('a client that connects to a plain WebSocket server (no subprotocol) reports it and keeps trying', async () => {
    const { WebSocketServer } = await import('../../src/index.js');
    const plain = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await plain.listening();
    const { MessagingClient } = await import('../../src/messaging/node-client.js');
    const client = new MessagingClient(`ws://127.0.0.1:${(plain.address() as { port: number }).port}/`, {
      minReconnectDelay: 5,
      maxReconnectDelay: 20,
    });
    const error = nextEvent(client, 'error');
    client.connect();
    assert.match((await error).error.message, /did not select socketeer\.v1\.json/);
    assert.equal(client.state, 'connecting');
    client.close();
    await plain.close();
  });
});
