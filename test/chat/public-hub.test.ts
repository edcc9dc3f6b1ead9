import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_LIMITS, publicHubOptions } from '../../src/chat/public-hub.js';
import { ChatServer } from '../../src/chat/server.js';
import type { HubError } from '../../src/messaging/index.js';
import { MessagingClient } from '../../src/messaging/node-client.js';
import { WebSocket } from '../../src/node/websocket.js';
import { RawClient } from '../messaging/client.js';
import { collect } from '../messaging/client-fixture.js';

/**
 * `socketeer serve`'s hub at /connection and the SDK at
 * /socketeer-messaging.js: what a raw hub client may do on the chat server
 * (src/chat/public-hub.ts), checked with a real ChatServer on loopback.
 */
describe('chat server: the messaging hub at /connection', () => {
  let chat: ChatServer;
  let ws = '';
  let web = '';
  before(async () => {
    chat = new ChatServer({ port: 0, host: '127.0.0.1', rateLimit: 100 });
    const { port } = await chat.listen();
    ws = `ws://127.0.0.1:${port}`;
    web = `http://127.0.0.1:${port}`;
  });
  after(() => chat.close());

  test('the SDK bundle: JavaScript, ETag and 304, no-cache, importable from any origin', async () => {
    const res = await fetch(`${web}/socketeer-messaging.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(await res.text(), /socketeer\.v1\.json/);
    const etag = res.headers.get('etag')!;
    const again = await fetch(`${web}/socketeer-messaging.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('a hub client is anonymous and may use demo:* channels: publish, receive, history, presence', async () => {
    const client = new MessagingClient(`${ws}/connection`, { token: 'alice', minReconnectDelay: 5 });
    const board = client.subscribe('demo:board');
    const seen = collect(board);
    client.connect();
    await board.ready();
    assert.equal(client.session.user, '', 'anonymous whatever token it sends');
    const ack = await board.publish('hello');
    await seen.until(1);
    assert.deepEqual(seen.data, ['hello']);
    assert.equal((await client.history('demo:board')).publications[0]?.offset, ack.offset);
    assert.equal((await client.presenceStats('demo:board')).clients, 1);
    client.close();
  });

  test('chat rooms and other namespaces are refused to hub clients; the chat itself is untouched', async () => {
    const raw = await RawClient.connected(`${ws}/connection`);
    for (const [cmd, params] of [
      ['subscribe', { channel: 'room:lobby' }],
      ['publish', { channel: 'room:lobby', data: { text: 'spoofed' } }],
      ['history', { channel: 'room:lobby' }],
      ['presence', { channel: 'room:lobby' }],
      ['subscribe', { channel: 'elsewhere' }],
    ] as const) {
      const reply = await raw.call(cmd, params);
      assert.equal(reply.error?.code, 'permission-denied', `${cmd} ${params.channel}`);
      assert.match(reply.error!.message, /demo:<name>" channels only; chat rooms are reached through \/chat/);
    }
    const big = await raw.call('publish', {
      channel: 'demo:big',
      data: 'x'.repeat(DEMO_LIMITS.maxDataBytes),
    });
    assert.equal(big.error?.code, 'limit-exceeded');
    assert.match(big.error!.message, /at most 4096 bytes of JSON/);
    raw.ws.close();
    // A chat member still chats, and its room saw nothing from the hub client.
    const member = await WebSocket.connect(`${ws}/chat`);
    const welcome = new Promise<{ history: unknown[] }>((resolve) =>
      member.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.type === 'welcome') resolve(message);
      }),
    );
    member.send(JSON.stringify({ type: 'join', room: 'lobby', nick: 'carol' }));
    assert.deepEqual((await welcome).history, []);
    member.close();
  });

  test('a hub client does not keep the server from closing: it is told 4000 (reconnect)', async () => {
    const other = new ChatServer({ port: 0, host: '127.0.0.1' });
    const { port } = await other.listen();
    const raw = await RawClient.connected(`ws://127.0.0.1:${port}/connection`);
    await other.close();
    const [code] = await raw.closed;
    assert.equal(code, 4000);
  });

  test('demo channels in use are capped: a new name beyond the cap is refused (temporary)', async () => {
    const { canSubscribe, canPublish } = publicHubOptions({ maxChannels: 2 });
    const raw = { user: '', client: 'c1' };
    const use = (channel: string) => canSubscribe!({ client: raw, channel, namespace: 'demo' });
    assert.equal(use('demo:a'), true);
    assert.equal(use('demo:b'), true);
    assert.equal(use('demo:a'), true, 'a name in use is always fine');
    assert.throws(
      () => use('demo:c'),
      (error: HubError) =>
        error.code === 'limit-exceeded' && error.temporary && /limit of 2 demo channels/.test(error.message),
    );
    assert.throws(
      () => canPublish!({ client: raw, channel: 'demo:d', namespace: 'demo', data: 1 }),
      /limit of 2/,
    );
    // The chat's own connections (a nickname as user id) are not limited by these rules.
    assert.equal(
      canSubscribe!({ client: { user: 'carol', client: 'c2' }, channel: 'room:x', namespace: 'room' }),
      true,
    );
  });
});
