import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { ChatServer } from '../../src/chat/server.js';
import { RedisEngine } from '../../src/messaging/redis/index.js';
import { startEngine } from '../messaging/redis-helpers.js';
import { haveRedis, startRedis } from '../redis-server.js';
import { ofType, type RawMember, rawMember } from './raw-member.js';

/**
 * A chat server SIGKILLed: its members' presence entries stay in Redis until
 * their lease ends. A member that reconnects to another server meanwhile (the
 * same tab: the same nickname and tab token) must get its nickname back, and
 * the stale entry's later leave must not take it out of anyone's member list;
 * someone else asking for that nickname is still refused.
 */

const LEASE_MS = 1500;
const ROOM = 'room:lobby';

/** A chat server in a child process (so it can really be SIGKILLed). */
async function doomedServer(t: TestContext, url: string) {
  const script = new URL('./redis-chat-node.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, url, String(LEASE_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(/^listening (\d+)/.exec(chunk.toString())?.[1]);
  assert.ok(port > 0, `child said ${chunk}`);
  return { child, port };
}

/** Every member a test opened: closed before the servers (a raw member never answers a close). */
const members: RawMember[] = [];

async function member(port: number): Promise<RawMember> {
  const m = await rawMember(port);
  members.push(m);
  return m;
}

async function join(
  port: number,
  nick: string,
  extra: object = {},
): Promise<{ member: RawMember; welcome: Record<string, unknown> }> {
  const m = await member(port);
  m.send({ type: 'join', room: 'lobby', nick, ...extra });
  const answer = await m.next((m) => m.type === 'welcome' || m.type === 'error', `${nick}'s welcome`);
  assert.equal(answer.type, 'welcome', `${nick}: ${JSON.stringify(answer)}`);
  return { member: m, welcome: answer };
}

const presence = (event: string, nick: string) => (m: Record<string, unknown>) =>
  m.type === 'presence' && m.event === event && m.nick === nick;

test('a SIGKILLed server: its member rejoins elsewhere as itself; the stale entry neither refuses nor removes it', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  // Sees the engine's join/leave events of the room, to know when the stale entry has expired.
  const { engine: watcher, handler } = await startEngine(t, { url: redis.url });
  await watcher.subscribe(ROOM);
  const doomed = await doomedServer(t, redis.url);
  const survivor = new ChatServer({
    port: 0,
    host: '127.0.0.1',
    engine: new RedisEngine({ url: redis.url, presenceSweepMs: 100, reconnectMaxDelayMs: 200 }),
    presenceTtl: LEASE_MS,
  });
  const { port } = await survivor.listen();
  t.after(async () => {
    for (const m of members.splice(0)) m.close();
    await survivor.close();
  });

  const bob = (await join(port, 'bob', { token: 'bob-tab' })).member;
  const alice = (await join(doomed.port, 'alice', { token: 'alice-tab-1' })).member;
  await bob.next(presence('join', 'alice'), 'alice joined (other server)');
  alice.send({ type: 'message', text: 'before the crash' });
  const sent = await alice.next(ofType('message'), 'alice gets her message');
  await bob.next(ofType('message'), 'bob gets it');

  doomed.child.kill('SIGKILL');
  await once(doomed.child, 'exit');
  alice.close();
  const stale = (await survivor.hub.presence(ROOM)).members.find((m) => m.user === 'alice');
  assert.ok(stale, 'the dead server left alice in presence (until her lease ends)');
  assert.equal(typeof (stale.info as { tab?: unknown }).tab, 'string', 'presence carries a tab hash');
  assert.ok(!JSON.stringify(stale).includes('alice-tab-1'), 'never the token itself');

  // Someone else cannot take the nickname meanwhile: another token, or none.
  for (const extra of [{ token: 'mallory-tab' }, {}]) {
    const mallory = await member(port);
    mallory.send({ type: 'join', room: 'lobby', nick: 'alice', ...extra });
    const refused = await mallory.next(ofType('error'), 'nick-taken');
    assert.equal(refused.code, 'nick-taken', JSON.stringify(refused));
  }

  // The same tab reconnects (through a proxy it would land here): it is alice again, and recovers.
  const since = { epoch: sent.epoch, offset: sent.offset };
  const back = await join(port, 'alice', { token: 'alice-tab-1', since });
  assert.equal(back.welcome.recovered, true);
  assert.deepEqual(back.welcome.users, ['alice', 'bob']);
  const alice2 = back.member;

  // The stale entry's lease ends: the engine publishes its leave...
  await handler.until(
    () => handler.leaves.some((l) => l.info.client === stale.client),
    'the stale entry expires',
    15_000,
  );
  // ...and every later event is ordered after it: once carol's join and leave are through,
  // the stale leave has been decided on at both members.
  const carol = (await join(port, 'carol')).member;
  carol.close();
  for (const member of [bob, alice2]) await member.next(presence('leave', 'carol'), 'carol left');
  for (const member of [bob, alice2]) {
    assert.equal(member.inbox.filter(presence('leave', 'alice')).length, 0, 'alice never left');
  }
  assert.deepEqual((await survivor.hub.presence(ROOM)).members.map((m) => m.user).sort(), ['alice', 'bob']);

  // A real departure is still shown.
  alice2.close();
  await bob.next(presence('leave', 'alice'), 'alice really left');
});
