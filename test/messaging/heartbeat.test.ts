import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Hub } from '../../src/messaging/index.js';
import { CloseCodes, PONG_FRAME } from '../../src/messaging/protocol.js';
import { startForwarder } from './blackhole.js';
import { RawClient } from './client.js';
import { collect, nextEvent, startHub, type TestHub } from './client-fixture.js';

/**
 * The application-level heartbeat (docs/protocol.md, Heartbeat) with a real
 * hub on loopback. Small intervals, and every wait is on an event: a loaded
 * machine makes these tests slower, not wrong (the hub's heartbeat counts its
 * own timer ticks, so a stalled event loop stalls its verdicts too).
 */
const INTERVAL = 40;

const pings = (client: RawClient) => client.frames.filter((f) => f.push === 'ping').length;

/** Make a raw client answer every ping, as the protocol asks; returns how many it answered. */
function answerPings(client: RawClient): { count: number } {
  const answered = { count: 0 };
  client.ws.on('message', (data) => {
    if (String(data) !== '{"push":"ping"}') return;
    client.sendRaw(PONG_FRAME);
    answered.count++;
  });
  return answered;
}

/** The next 'disconnect' of the hub for this client id: [code, reason]. */
function hubDisconnect(hub: Hub, clientId: string): Promise<[number, string]> {
  return new Promise((resolve) => {
    const listener = (session: { client: string }, code: number, reason: string) => {
      if (session.client !== clientId) return;
      hub.off('disconnect', listener);
      resolve([code, reason]);
    };
    hub.on('disconnect', listener);
  });
}

describe('messaging heartbeat (server side)', () => {
  let t: TestHub;
  before(async () => {
    t = await startHub({ pingInterval: INTERVAL });
  });
  after(() => t.close());

  test('the connect reply announces pingInterval; the option is checked; 0 turns it off', async () => {
    const client = await RawClient.open(t.url);
    const reply = await client.call('connect');
    assert.equal((reply.result as { pingInterval?: number }).pingInterval, INTERVAL);
    client.ws.close();
    assert.throws(
      () => new Hub({ noServer: true, pingInterval: 5 }),
      /pingInterval.*0 \(off\) or from 20 to 86400000 ms \(1 day\); got 5/,
    );
    assert.throws(() => new Hub({ noServer: true, pingInterval: -1 }), /pingInterval/);
    const off = new Hub({ port: 0, host: '127.0.0.1', pingInterval: 0 });
    await off.listening();
    const quiet = await RawClient.open(`ws://127.0.0.1:${(off.address() as AddressInfo).port}/`);
    const offReply = await quiet.call('connect');
    assert.equal('pingInterval' in (offReply.result as object), false);
    await off.close();
    const defaults = new Hub({ noServer: true });
    assert.equal(defaults.settings.pingInterval, 25_000);
    await defaults.close();
  });

  test('an idle client that answers pings stays connected well past 2 x pingInterval', async () => {
    const client = await RawClient.connected(t.url);
    const answered = answerPings(client);
    // Eight pings = at least 6 intervals of no traffic but pongs: without them it would be closed after 2.
    await client.until(() => pings(client) >= 8, '8 pings');
    assert.equal(client.ws.readyState, 1, 'still open');
    assert.ok(answered.count >= 8);
    const reply = await client.call('presence_stats', { channel: 'chat:alive' });
    assert.ok(reply.result, 'the connection still answers commands');
    client.ws.close();
  });

  test('a client that never answers is told 4005 and closed with 4005 after 2 x pingInterval', async () => {
    const client = await RawClient.connected(t.url);
    const [code] = await client.closed;
    assert.equal(code, CloseCodes.noPong);
    assert.ok(pings(client) >= 1, 'it was pinged first');
    const advice = client.frames.find((f) => f.push === 'disconnect');
    assert.equal(advice?.code, CloseCodes.noPong);
    assert.equal(advice?.reconnect, true, '4005: reconnect and recover');
  });

  test('a client that only listens is pinged even while publications flow, and answering keeps it', async () => {
    const client = await RawClient.connected(t.url);
    await client.call('subscribe', { channel: 'chat:busy' });
    let pongs = 0;
    let published = 0;
    const publishNext = () => {
      published++;
      t.hub.publish('chat:busy', published).catch(() => {});
    };
    client.ws.on('message', (data) => {
      const text = String(data);
      if (text === '{"push":"ping"}') {
        client.sendRaw(PONG_FRAME);
        pongs++;
      } else if (text.startsWith('{"push":"pub"') && pongs < 3) publishNext();
    });
    publishNext(); // each delivery triggers the next publish: the server is never idle towards this client
    await client.until(() => pongs >= 3, '3 pings during the stream');
    assert.ok(published > 3, `publications kept flowing (${published})`);
    assert.equal(client.ws.readyState, 1);
    client.ws.close();
  });

  test('in-process connections (connectLocal) are not pinged', async () => {
    const pushes: string[] = [];
    const local = await t.hub.connectLocal({ onPush: (push) => pushes.push(push.push) });
    await local.subscribe('chat:local-heartbeat');
    const watcher = await RawClient.connected(t.url);
    answerPings(watcher);
    await watcher.until(() => pings(watcher) >= 3, '3 pings to a network client');
    assert.deepEqual(pushes, [], 'no ping reached the local connection');
    assert.equal(local.open, true);
    local.close();
    watcher.ws.close();
  });
});

describe('messaging heartbeat (Node client)', () => {
  let t: TestHub;
  before(async () => {
    t = await startHub({ pingInterval: INTERVAL });
  });
  after(() => t.close());

  test('the client answers pings: one connection for many intervals, no reconnect', async () => {
    let pongs = 0;
    let sixPongs!: () => void;
    const sixth = new Promise<void>((resolve) => (sixPongs = resolve));
    t.hub.wss.on('connection', (ws) =>
      ws.on('message', (data) => String(data) === PONG_FRAME && ++pongs === 6 && sixPongs()),
    );
    const client = t.client({ pingGrace: 2000 });
    const reconnects: string[] = [];
    client.on('connecting', ({ reason }) => reconnects.push(reason));
    client.connect();
    await client.ready();
    const id = client.session.client;
    await sixth; // six pongs: six pings answered over at least 4.5 intervals
    assert.equal(client.session.client, id, 'the same connection');
    assert.equal(client.state, 'connected');
    assert.deepEqual(reconnects, ['connect() called']);
    client.close();
    assert.throws(
      () => t.client({ pingGrace: -1 }),
      /options\.pingGrace must be a number of milliseconds >= 0; got -1/,
    );
  });

  test('the server stops answering (black hole): the client reconnects and recovers what it missed', async () => {
    const forwarder = await startForwarder((t.hub.address() as AddressInfo).port);
    try {
      const { MessagingClient } = await import('../../src/messaging/node-client.js');
      const client = new MessagingClient(`ws://127.0.0.1:${forwarder.port}/`, {
        minReconnectDelay: 5,
        maxReconnectDelay: 50,
        pingGrace: 150,
      });
      const sub = client.subscribe('chat:tunnel');
      const seen = collect(sub);
      client.connect();
      await sub.ready();
      const first = client.session.client;
      await t.hub.publish('chat:tunnel', 'before');
      await seen.until(1);
      const dropped = hubDisconnect(t.hub, first);
      const lost = nextEvent(client, 'connecting');
      forwarder.blackhole();
      for (let i = 1; i <= 3; i++) await t.hub.publish('chat:tunnel', `missed ${i}`);
      const recovered = nextEvent(sub, 'subscribed', (e) => e.recovered !== undefined);
      assert.match((await lost).reason, /nothing heard from the server for \d+ ms/);
      assert.equal((await recovered).recovered, true);
      await seen.until(4);
      await t.hub.publish('chat:tunnel', 'after');
      await seen.until(5);
      assert.deepEqual(seen.data, ['before', 'missed 1', 'missed 2', 'missed 3', 'after']);
      assert.deepEqual(seen.offsets, [1, 2, 3, 4, 5]);
      assert.notEqual(client.session.client, first, 'a new connection');
      assert.equal(forwarder.accepted, 2);
      // The server, hearing nothing on the black-holed connection, drops it with 4005.
      const [code] = await dropped;
      assert.equal(code, CloseCodes.noPong);
      client.close();
    } finally {
      await forwarder.close();
    }
  });
});
