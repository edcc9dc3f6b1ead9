import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CHAT_DEFAULTS, ChatServer } from '../../src/chat/server.js';
import { ofType, type RawMember, rawMember } from './raw-member.js';

/** Presence deltas, connection and room limits, and the slowloris deadline (issue 11 items 7 and 8). */

describe('chat limits', () => {
  let chat: ChatServer;
  let port: number;
  const open: RawMember[] = [];
  async function member(nick: string | undefined, room = 'lobby', from = '127.0.0.1') {
    const m = await rawMember(port, from);
    open.push(m);
    if (nick) {
      m.send({ type: 'join', room, nick });
      await m.next((x) => x.type === 'welcome' || x.type === 'error', `the answer to ${nick}'s join`);
    }
    return m;
  }
  before(async () => {
    chat = new ChatServer({
      port: 0,
      host: '127.0.0.1',
      maxRoomsPerIp: 2,
      maxRooms: 4,
      maxConnectionsPerIp: 6,
    });
    port = (await chat.listen()).port;
  });
  after(async () => {
    for (const m of open) m.close();
    await chat.close();
  });

  test('presence is a delta for members; only the joiner gets the list', async () => {
    const alice = await member('alice', 'deltas');
    const bob = await member(undefined);
    bob.send({ type: 'join', room: 'deltas', nick: 'bob' });
    const welcome = await bob.next(ofType('welcome'), 'welcome');
    assert.deepEqual(welcome.users, ['alice', 'bob']);
    const joined = await alice.next(ofType('presence'), 'presence');
    assert.deepEqual(joined, { type: 'presence', event: 'join', nick: 'bob' });
    bob.close();
    const left = await alice.next(ofType('presence'), 'leave');
    assert.deepEqual(left, { type: 'presence', event: 'leave', nick: 'bob' });
    alice.close();
  });

  test('one address cannot occupy every room: per-address room cap, the lobby always open', async () => {
    // 127.0.0.2 fills its two rooms; a third room is refused, the lobby is not.
    const a = await member('a1', 'one', '127.0.0.2');
    const b = await member('a2', 'two', '127.0.0.2');
    const c = await member(undefined, 'lobby', '127.0.0.2');
    c.send({ type: 'join', room: 'three', nick: 'a3' });
    const refused = await c.next(ofType('error'), 'room-limit error');
    assert.equal(refused.code, 'room-limit');
    assert.match(String(refused.message), /already in 2 rooms.*"lobby"/);
    c.send({ type: 'join', room: 'two', nick: 'a3' });
    assert.equal((await c.next(ofType('welcome'), 'welcome to a room it already holds')).room, 'two');
    c.send({ type: 'join', room: 'lobby', nick: 'a3' });
    assert.equal((await c.next(ofType('welcome'), 'welcome to lobby')).room, 'lobby');
    // Other addresses still create rooms up to the server's cap (4 besides the lobby).
    await member('b1', 'three', '127.0.0.3');
    await member('b2', 'four', '127.0.0.3');
    const d = await member(undefined, 'lobby', '127.0.0.6');
    d.send({ type: 'join', room: 'five', nick: 'd1' });
    assert.equal((await d.next(ofType('error'), 'server room cap')).code, 'room-limit');
    // Leaving frees the address's slot: its next new room is accepted once an empty room can be evicted.
    a.close();
    await new Promise<void>((resolve) => a.socket.once('close', () => resolve()));
    const e = await member(undefined, 'lobby', '127.0.0.2');
    for (;;) {
      e.send({ type: 'join', room: 'six', nick: 'a4' });
      const answer = await e.next((x) => x.type === 'welcome' || x.type === 'error', 'join six');
      if (answer.type === 'welcome') break; // the server saw a's close and evicted "one"
    }
    b.close();
  });

  test('per-address connection limit answers 429; other addresses are unaffected', async () => {
    const mine: RawMember[] = [];
    for (let i = 0; i < 6; i++) mine.push(await member(undefined, 'lobby', '127.0.0.4'));
    const over = await rawMember(port, '127.0.0.4');
    assert.match(over.status, /^HTTP\/1\.1 429/);
    const other = await rawMember(port, '127.0.0.5');
    assert.match(other.status, /^HTTP\/1\.1 101/);
    for (const m of [...mine, other]) m.close();
  });
});

test('serve defaults: 10 s header deadline (as standalone servers), connection and room limits', () => {
  const chat = new ChatServer({ port: 0 });
  assert.equal(chat.http.headersTimeout, 10_000);
  assert.equal(chat.http.requestTimeout, 10_000);
  assert.deepEqual(
    [CHAT_DEFAULTS.maxConnections, CHAT_DEFAULTS.maxConnectionsPerIp, CHAT_DEFAULTS.maxRoomsPerIp],
    [10_000, 50, 20],
  );
});

test('slowloris: a request head still incomplete at the deadline is cut with 408', async () => {
  const chat = new ChatServer({ port: 0, host: '127.0.0.1', headersTimeout: 300 });
  const { port } = await chat.listen();
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (d) => (answer += d.toString('latin1')));
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: 1\r\n'); // never finished
  await once(socket, 'close');
  assert.match(answer, /^HTTP\/1\.1 408/);
  await chat.close();
});

test('serve flags for limits and history: bad values say what is allowed (exit 2)', () => {
  const bin = new URL('../../../bin/socketeer.js', import.meta.url).pathname;
  for (const [args, expected] of [
    [
      ['--max-connections-per-ip', 'many'],
      /--max-connections-per-ip must be a whole number from 0 to 2147483647; got "many"/,
    ],
    [['--max-rooms-per-ip', '-3'], /--max-rooms-per-ip/],
    [['--history', '0'], /--history must be a whole number from 1 to 1000000; got "0"/],
    [['--history-ttl', '0'], /--history-ttl must be a whole number from 1 to 2147483; got "0"/],
  ] as const) {
    const run = spawnSync(process.execPath, [bin, 'serve', '--port', '0', ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, expected);
  }
});
