import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Hub } from '../../src/messaging/index.js';
import { CloseCodes, ErrorCodes, SUBPROTOCOL } from '../../src/messaging/protocol.js';
import { RawClient, startHub, urlOf } from './client.js';

/** Raw HTTP upgrade request: the status and body the server answers with. */
function rawUpgrade(port: number, protocol?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    if (protocol) headers['Sec-WebSocket-Protocol'] = protocol;
    const req = http.request({ host: '127.0.0.1', port, headers });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hub: handshake', () => {
  let hub: Hub;
  before(async () => {
    hub = await startHub();
  });
  after(() => hub.close());

  test('a handshake without the subprotocol is refused with 400 naming it', async () => {
    const port = (hub.address() as AddressInfo).port;
    const refused = await rawUpgrade(port);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /socketeer\.v1\.json/);
    const other = await rawUpgrade(port, 'chat, superchat');
    assert.equal(other.status, 400);
    const ok = await rawUpgrade(port, `other, ${SUBPROTOCOL}`);
    assert.equal(ok.status, 101);
  });

  test('the subprotocol is selected and connect answers with the client id and version', async () => {
    const client = await RawClient.open(urlOf(hub));
    assert.equal(client.ws.protocol, SUBPROTOCOL);
    const result = await client.request<{ client: string; user: string; version: number; subs: object }>(
      'connect',
    );
    assert.equal(result.version, 1);
    assert.equal(result.user, '');
    assert.match(result.client, /^[0-9a-f-]{36}$/);
    assert.deepEqual(result.subs, {});
    client.close();
  });

  test('commands before connect get not-connected; a second connect gets already-connected', async () => {
    const client = await RawClient.open(urlOf(hub));
    const early = await client.call('subscribe', { channel: 'a' });
    assert.equal(early.error?.code, ErrorCodes.notConnected);
    await client.request('connect');
    const again = await client.call('connect');
    assert.equal(again.error?.code, ErrorCodes.alreadyConnected);
    client.close();
  });
});

describe('hub: attach modes', () => {
  test('on a path of an existing http server, and through handleUpgrade', async () => {
    const shared = http.createServer((_req, res) => res.end('plain'));
    const attached = new Hub({ server: shared, path: '/messaging' });
    const bare = http.createServer((_req, res) => res.end('plain'));
    const manual = new Hub({ noServer: true });
    bare.on('upgrade', (req, socket, head) => manual.handleUpgrade(req, socket, head));
    const servers = [shared, bare];
    for (const s of servers) await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    try {
      for (const [server, path] of [
        [shared, '/messaging'],
        [bare, '/anything'],
      ] as const) {
        const port = (server.address() as AddressInfo).port;
        const client = await RawClient.connected(`ws://127.0.0.1:${port}${path}`);
        assert.equal(client.ws.protocol, SUBPROTOCOL);
        client.close();
        await client.closed;
      }
    } finally {
      await attached.close();
      await manual.close();
      for (const s of servers) await new Promise((resolve) => s.close(resolve));
    }
  });
});

describe('hub: publish, subscribe, history', () => {
  let hub: Hub;
  before(async () => {
    hub = await startHub({ namespaces: { chat: { clientPublish: true, historySize: 5 } } });
  });
  after(() => hub.close());

  test('client publish is acknowledged with its position and delivered to subscribers with publisher info', async () => {
    const alice = await RawClient.connected(urlOf(hub));
    const bob = await RawClient.connected(urlOf(hub));
    const sub = await bob.request<{ epoch: string; offset: number }>('subscribe', { channel: 'chat:one' });
    assert.equal(sub.offset, 0);
    const ack = await alice.request<{ epoch: string; offset: number }>('publish', {
      channel: 'chat:one',
      data: { text: 'hi' },
    });
    assert.deepEqual(ack, { epoch: sub.epoch, offset: 1 });
    const [pub] = await bob.until(() => bob.pubs('chat:one').length === 1 && bob.pubs('chat:one'));
    assert.deepEqual(pub!.data, { text: 'hi' });
    assert.equal(pub!.offset, 1);
    assert.equal(pub!.epoch, sub.epoch);
    assert.equal((pub as { info?: { client: string } }).info?.client !== undefined, true);
    alice.close();
    bob.close();
  });

  test('the default namespace refuses client publishes; the server can publish', async () => {
    const client = await RawClient.connected(urlOf(hub));
    const refused = await client.call('publish', { channel: 'news', data: 1 });
    assert.equal(refused.error?.code, ErrorCodes.notAvailable);
    await client.request('subscribe', { channel: 'news' });
    const ack = await hub.publish('news', { headline: 'x' });
    assert.equal(ack.offset, 1);
    const [pub] = await client.until(() => client.pubs('news').length === 1 && client.pubs('news'));
    assert.equal(pub!.info, undefined);
    client.close();
  });

  test('history: limit, since, reverse, and trimming to the namespace size', async () => {
    const client = await RawClient.connected(urlOf(hub));
    for (let i = 1; i <= 7; i++) await hub.publish('chat:h', i);
    const all = await client.request<{
      publications: { offset: number; data: number }[];
      offset: number;
      epoch: string;
    }>('history', { channel: 'chat:h' });
    assert.equal(all.offset, 7);
    assert.deepEqual(
      all.publications.map((p) => p.data),
      [3, 4, 5, 6, 7],
    );
    const since = await client.request<{ publications: { data: number }[] }>('history', {
      channel: 'chat:h',
      since: { epoch: all.epoch, offset: 4 },
      limit: 2,
    });
    assert.deepEqual(
      since.publications.map((p) => p.data),
      [5, 6],
    );
    const newest = await client.request<{ publications: { data: number }[] }>('history', {
      channel: 'chat:h',
      limit: 2,
      reverse: true,
    });
    assert.deepEqual(
      newest.publications.map((p) => p.data),
      [7, 6],
    );
    client.close();
  });

  test('subscribe with since recovers before the reply, exactly the missed publications', async () => {
    const first = await hub.publish('chat:r', 'a');
    for (const x of ['b', 'c', 'd']) await hub.publish('chat:r', x);
    const client = await RawClient.connected(urlOf(hub));
    const id = client.send('subscribe', { channel: 'chat:r', since: { epoch: first.epoch, offset: 1 } });
    const reply = await client.reply(id);
    assert.deepEqual(reply.result, {
      epoch: first.epoch,
      offset: 4,
      recovered: true,
      presence: false,
      joinLeave: false,
    });
    const replyIndex = client.frames.indexOf(reply);
    const before = client.frames.slice(0, replyIndex).filter((f) => f.push === 'pub');
    assert.deepEqual(
      before.map((f) => (f.pub as { data: string }).data),
      ['b', 'c', 'd'],
    );
    client.close();
  });

  test('recovered: false when the epoch differs or history was trimmed', async () => {
    for (let i = 0; i < 10; i++) await hub.publish('chat:t', i);
    const top = await hub.history('chat:t', { limit: 0 });
    const client = await RawClient.connected(urlOf(hub));
    const other = await client.request<{ recovered: boolean; offset: number }>('subscribe', {
      channel: 'chat:t',
      since: { epoch: 'not-the-epoch', offset: 3 },
    });
    assert.equal(other.recovered, false);
    assert.equal(other.offset, 10);
    await client.request('unsubscribe', { channel: 'chat:t' });
    const trimmed = await client.request<{ recovered: boolean }>('subscribe', {
      channel: 'chat:t',
      since: { epoch: top.epoch, offset: 2 },
    });
    assert.equal(trimmed.recovered, false);
    assert.equal(
      client.pubs('chat:t').length,
      0,
      'nothing partial is pushed when the first page does not continue',
    );
    client.close();
  });

  test('errors: bad channel, unknown namespace, already subscribed, not subscribed', async () => {
    const client = await RawClient.connected(urlOf(hub));
    assert.equal((await client.call('subscribe', { channel: 'nope:x' })).error?.code, ErrorCodes.badChannel);
    assert.equal(
      (await client.call('subscribe', { channel: 'has space' })).error?.code,
      ErrorCodes.badChannel,
    );
    assert.equal((await client.call('subscribe', { channel: '' })).error?.code, ErrorCodes.badChannel);
    await client.request('subscribe', { channel: 'dup' });
    assert.equal(
      (await client.call('subscribe', { channel: 'dup' })).error?.code,
      ErrorCodes.alreadySubscribed,
    );
    assert.equal(
      (await client.call('unsubscribe', { channel: 'zzz' })).error?.code,
      ErrorCodes.notSubscribed,
    );
    client.close();
  });
});

describe('hub: connection limits', () => {
  test('no connect within the connect timeout closes with 4002', async () => {
    const hub = await startHub({ connectTimeout: 50 });
    try {
      const client = await RawClient.open(urlOf(hub));
      const [code] = await client.closed;
      assert.equal(code, CloseCodes.connectTimeout);
      assert.equal(client.pushes('disconnect')[0]?.reconnect, true);
    } finally {
      await hub.close();
    }
  });
});
