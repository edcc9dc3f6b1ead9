import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineUnavailableError, HubError, MemoryEngine, type Push } from '../../src/messaging/index.js';
import { CloseCodes, ErrorCodes } from '../../src/messaging/protocol.js';
import { RawClient, startHub, urlOf } from './client.js';

/** Tokens are "user:name"; "bad" is refused. */
const authenticate = ({ token }: { token: string | undefined }) => {
  if (!token || token === 'bad') return null;
  const [user, name] = token.split(':');
  return { user: user!, info: { name }, data: { hello: user } };
};

describe('authentication', () => {
  test('the hook decides user and info; a refusal answers unauthorized and closes 4500', async () => {
    const hub = await startHub({ authenticate });
    try {
      const alice = await RawClient.open(urlOf(hub));
      const ok = await alice.request<{ user: string; data: unknown }>('connect', { token: 'alice:Alice' });
      assert.equal(ok.user, 'alice');
      assert.deepEqual(ok.data, { hello: 'alice' });
      const refused = await RawClient.open(urlOf(hub));
      const reply = await refused.call('connect', { token: 'bad' });
      assert.equal(reply.error?.code, ErrorCodes.unauthorized);
      const [code] = await refused.closed;
      assert.equal(code, CloseCodes.unauthorized);
      assert.equal(refused.pushes('disconnect')[0]?.reconnect, false);
      alice.close();
    } finally {
      await hub.close();
    }
  });

  test('an expiring credential: expiresIn, refresh extends it, no refresh closes 4004', async () => {
    let lifetime = 60_000;
    const hub = await startHub({
      authenticate: ({ token }) => (token ? { user: token, expiresAt: Date.now() + lifetime } : null),
    });
    try {
      const client = await RawClient.open(urlOf(hub));
      const result = await client.request<{ expiresIn: number }>('connect', { token: 'u1' });
      assert.ok(result.expiresIn > 50_000 && result.expiresIn <= 60_000);
      const other = await client.call('refresh', { token: 'someone-else' });
      assert.equal(other.error?.code, ErrorCodes.unauthorized);
      lifetime = 80;
      const refreshed = await client.request<{ expiresIn: number }>('refresh', { token: 'u1' });
      assert.ok(refreshed.expiresIn <= 80);
      const [code] = await client.closed;
      assert.equal(code, CloseCodes.tokenExpired);
    } finally {
      await hub.close();
    }
  });
});

describe('permissions and rpc', () => {
  test('canSubscribe and canPublish refuse with permission-denied; rpc calls handlers by name', async () => {
    const hub = await startHub({
      authenticate,
      namespaces: { room: { clientPublish: true } },
      canSubscribe: ({ channel, client }) => channel !== 'room:secret' || client.user === 'admin',
      canPublish: ({ data }) => (data as { text?: string })?.text !== 'spam',
      rpc: {
        whoami: ({ client }) => ({ user: client.user }),
        fail: () => {
          throw new HubError(ErrorCodes.permissionDenied, 'no');
        },
        crash: () => {
          throw new Error('boom');
        },
      },
    });
    const errors: Error[] = [];
    hub.on('error', (e) => errors.push(e));
    try {
      const client = await RawClient.connected(urlOf(hub), { token: 'bob:Bob' });
      assert.equal(
        (await client.call('subscribe', { channel: 'room:secret' })).error?.code,
        'permission-denied',
      );
      assert.equal(
        (await client.call('history', { channel: 'room:secret' })).error?.code,
        'permission-denied',
      );
      await client.request('subscribe', { channel: 'room:open' });
      const spam = await client.call('publish', { channel: 'room:open', data: { text: 'spam' } });
      assert.equal(spam.error?.code, 'permission-denied');
      await client.request('publish', { channel: 'room:open', data: { text: 'ham' } });
      assert.deepEqual(await client.request('rpc', { method: 'whoami' }), { data: { user: 'bob' } });
      assert.equal((await client.call('rpc', { method: 'nope' })).error?.code, ErrorCodes.methodNotFound);
      assert.equal((await client.call('rpc', { method: 'fail' })).error?.code, ErrorCodes.permissionDenied);
      const crash = await client.call('rpc', { method: 'crash' });
      assert.deepEqual(crash.error, { code: 'internal', message: 'internal server error', temporary: true });
      assert.equal(errors[0]?.message, 'boom');
      client.close();
    } finally {
      await hub.close();
    }
  });
});

describe('idempotent publishes', () => {
  test('a retry with the same key after a reconnect gets the same position and is delivered once', async () => {
    const hub = await startHub({
      authenticate,
      namespaces: { '': { historySize: 100 }, chat: { clientPublish: true } },
    });
    try {
      const watcher = await RawClient.connected(urlOf(hub), { token: 'w:W' });
      await watcher.request('subscribe', { channel: 'chat:x' });
      const first = await RawClient.connected(urlOf(hub), { token: 'alice:A' });
      const ack1 = await first.request('publish', { channel: 'chat:x', data: 'hello', key: 'msg-1' });
      first.close();
      await first.closed;
      const second = await RawClient.connected(urlOf(hub), { token: 'alice:A' });
      const ack2 = await second.request('publish', { channel: 'chat:x', data: 'hello', key: 'msg-1' });
      assert.deepEqual(ack2, ack1);
      // Another user's identical key is a different publication.
      const bob = await RawClient.connected(urlOf(hub), { token: 'bob:B' });
      const ack3 = await bob.request<{ offset: number }>('publish', {
        channel: 'chat:x',
        data: 'hi',
        key: 'msg-1',
      });
      assert.equal(ack3.offset, (ack1 as { offset: number }).offset + 1);
      await watcher.until(() => watcher.pubs('chat:x').length === 2);
      assert.deepEqual(
        watcher.pubs('chat:x').map((p) => p.data),
        ['hello', 'hi'],
      );
      const history = await hub.history('chat:x');
      assert.equal(history.publications.length, 2);
      for (const c of [watcher, second, bob]) c.close();
    } finally {
      await hub.close();
    }
  });

  test('keys are checked: 1 to 64 characters', async () => {
    const hub = await startHub({ namespaces: { chat: { clientPublish: true } } });
    try {
      const client = await RawClient.connected(urlOf(hub));
      for (const key of ['', 'x'.repeat(65), 7]) {
        const reply = await client.call('publish', { channel: 'chat:k', data: 1, key });
        assert.equal(reply.error?.code, ErrorCodes.badRequest);
        assert.match(reply.error!.message, /params\.key must be a string of 1 to 64 characters/);
      }
      client.close();
    } finally {
      await hub.close();
    }
  });
});

describe('presence', () => {
  test('two tabs of one user are one user; join/leave go to the others; members carry info', async () => {
    const hub = await startHub({
      authenticate,
      namespaces: { room: { presence: true, joinLeave: true } },
    });
    try {
      const tab1 = await RawClient.connected(urlOf(hub), { token: 'alice:Alice' });
      const sub = await tab1.request<{ presence: boolean; joinLeave: boolean }>('subscribe', {
        channel: 'room:1',
      });
      assert.deepEqual([sub.presence, sub.joinLeave], [true, true]);
      const tab2 = await RawClient.connected(urlOf(hub), { token: 'alice:Alice' });
      await tab2.request('subscribe', { channel: 'room:1' });
      const bob = await RawClient.connected(urlOf(hub), { token: 'bob:Bob' });
      await bob.request('subscribe', { channel: 'room:1' });
      assert.deepEqual(await bob.request('presence_stats', { channel: 'room:1' }), { clients: 3, users: 2 });
      const { members } = await bob.request<{ members: Array<{ user: string; info: unknown }> }>('presence', {
        channel: 'room:1',
      });
      assert.deepEqual(members.map((m) => m.user).sort(), ['alice', 'alice', 'bob']);
      assert.deepEqual(members.find((m) => m.user === 'bob')!.info, { name: 'Bob' });
      await tab1.until(() => tab1.pushes('join').length === 2, 'two joins');
      assert.deepEqual(
        tab1.pushes('join').map((p) => (p.info as { user: string }).user),
        ['alice', 'bob'],
      );
      assert.equal(bob.pushes('join').length, 0, 'no join push for oneself');
      tab2.close();
      await bob.until(() => bob.pushes('leave').length === 1, 'the leave');
      assert.deepEqual(await bob.request('presence_stats', { channel: 'room:1' }), { clients: 2, users: 2 });
      assert.deepEqual(await hub.presenceStats('room:1'), { clients: 2, users: 2 });
      const off = await bob.call('presence', { channel: 'nopresence' });
      assert.equal(off.error?.code, ErrorCodes.notAvailable);
      tab1.close();
      bob.close();
    } finally {
      await hub.close();
    }
  });
});

describe('local connections (hub.connectLocal)', () => {
  test('subscribe with recovery, publish with info, presence and leave, like a client', async () => {
    const hub = await startHub({
      namespaces: { room: { presence: true, joinLeave: true, clientPublish: true } },
    });
    try {
      const seen: Push[] = [];
      const alice = await hub.connectLocal({
        user: 'alice',
        info: { nick: 'alice' },
        onPush: (p) => seen.push(p),
      });
      const first = await alice.subscribe('room:a');
      const bobPushes: Push[] = [];
      let closed: [number, string] | undefined;
      const bob = await hub.connectLocal({
        user: 'bob',
        info: { nick: 'bob' },
        onPush: (p) => bobPushes.push(p),
        onClose: (code, reason) => (closed = [code, reason]),
      });
      await bob.publish('room:a', { text: 'one' });
      await bob.publish('room:a', { text: 'two' });
      assert.deepEqual(
        seen.filter((p) => p.push === 'pub').map((p) => p.push === 'pub' && p.pub.data),
        [{ text: 'one' }, { text: 'two' }],
      );
      const pub = seen.find((p) => p.push === 'pub');
      assert.deepEqual(pub?.push === 'pub' && pub.pub.info, {
        user: 'bob',
        client: bob.client,
        info: { nick: 'bob' },
      });
      const late: Push[] = [];
      const carol = await hub.connectLocal({ user: 'carol', onPush: (p) => late.push(p) });
      const recovered = await carol.subscribe('room:a', { epoch: first.epoch, offset: 1 });
      assert.equal(recovered.recovered, true);
      assert.deepEqual(
        late.map((p) => p.push === 'pub' && p.pub.offset),
        [2],
      );
      assert.equal((await carol.presence('room:a')).members.length, 2);
      await assert.rejects(carol.publish('nope:x', 1), (e: HubError) => e.code === 'bad-channel');
      carol.close();
      await new Promise((r) => setImmediate(r));
      assert.ok(seen.some((p) => p.push === 'leave' && p.info.user === 'carol'));
      bob.close(1000, 'bye');
      assert.equal(bob.open, false);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(closed, [1000, 'bye']);
      alice.close();
    } finally {
      await hub.close();
    }
  });
});

describe('server-side control', () => {
  test('close() tells clients to reconnect (4000); unsubscribe and disconnectUser from the server', async () => {
    const hub = await startHub({ authenticate });
    const alice = await RawClient.connected(urlOf(hub), { token: 'alice:A' });
    const bob = await RawClient.connected(urlOf(hub), { token: 'bob:B' });
    await alice.request('subscribe', { channel: 'news' });
    const aliceId = (alice.frames[0]!.result as { client: string }).client;
    assert.equal(hub.sessions.get(aliceId)!.unsubscribe('news', 'revoked'), true);
    const [push] = await alice.until(
      () => alice.pushes('unsubscribed').length === 1 && alice.pushes('unsubscribed'),
    );
    assert.deepEqual(push, { push: 'unsubscribed', channel: 'news', code: 2000, reason: 'revoked' });
    assert.equal(hub.disconnectUser('bob'), 1);
    const [bobCode] = await bob.closed;
    assert.equal(bobCode, CloseCodes.forceNoReconnect);
    assert.equal(bob.pushes('disconnect')[0]?.reconnect, false);
    await hub.close();
    const [code] = await alice.closed;
    assert.equal(code, CloseCodes.shutdown);
    assert.deepEqual(alice.pushes('disconnect')[0], {
      push: 'disconnect',
      code: 4000,
      reason: 'server shutting down',
      reconnect: true,
    });
  });

  test('an unreachable engine answers unavailable (temporary), and the connection stays usable', async () => {
    class DownEngine extends MemoryEngine {
      down = false;
      override async publish(request: Parameters<MemoryEngine['publish']>[0]) {
        if (this.down) throw new EngineUnavailableError('redis is down');
        return super.publish(request);
      }
    }
    const engine = new DownEngine();
    const hub = await startHub({ engine, namespaces: { chat: { clientPublish: true } } });
    try {
      const client = await RawClient.connected(urlOf(hub));
      engine.down = true;
      const reply = await client.call('publish', { channel: 'chat:x', data: 1, key: 'k' });
      assert.deepEqual(reply.error, {
        code: 'unavailable',
        message: 'the engine is unavailable; retry later',
        temporary: true,
      });
      engine.down = false;
      assert.deepEqual(await client.request('publish', { channel: 'chat:x', data: 1, key: 'k' }), {
        epoch: (await hub.history('chat:x', { limit: 0 })).epoch,
        offset: 1,
      });
      client.close();
    } finally {
      await hub.close();
    }
  });
});
