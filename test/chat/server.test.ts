import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { ChatServer } from '../../src/chat/server.js';
import { WebSocket } from '../../src/node/websocket.js';
import { makeCertificate } from '../tls-cert.js';

/** A chat client that collects parsed messages and can wait for one. */
async function member(base: string, nick?: string, room = 'lobby') {
  const ws = await WebSocket.connect(`${base}/chat`);
  const inbox: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => inbox.push(JSON.parse(data as string)));
  /** The first message of `type`, waiting for arrivals (at most 5 s, then an error listing the inbox). */
  const next = async (type: string) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const index = inbox.findIndex((m) => m.type === type);
      if (index !== -1) return inbox.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0 || ws.readyState === ws.CLOSED) break;
      const stop = new AbortController(); // the losers' listeners go when the race is decided
      const { signal } = stop;
      await Promise.race([
        once(ws, 'message', { signal }),
        once(ws, 'close', { signal }),
        setTimeout(left, undefined, { signal }),
      ]).finally(() => stop.abort());
    }
    throw new Error(`no ${type} message; inbox: ${JSON.stringify(inbox)}`);
  };
  const send = (m: object) => ws.send(JSON.stringify(m));
  if (nick) {
    send({ type: 'join', room, nick });
    await next('welcome');
  }
  return { ws, inbox, next, send };
}

function closed(ws: WebSocket): Promise<[number, string]> {
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve([code, reason])));
}

describe('chat server', () => {
  let chat: ChatServer;
  let base: string;
  let web: string;
  before(async () => {
    chat = new ChatServer({ port: 0, host: '127.0.0.1', echo: true, rateLimit: 100 });
    const { port } = await chat.listen();
    base = `ws://127.0.0.1:${port}`;
    web = `http://127.0.0.1:${port}`;
  });
  after(() => chat.close());

  test('serves the page and its assets; 404 and 405 elsewhere', async () => {
    const page = await fetch(`${web}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/app.js">/);
    for (const [path, type] of [
      ['/app.js', /javascript/],
      ['/style.css', /text\/css/],
      ['/favicon.svg', /image\/svg\+xml/],
    ] as const) {
      const res = await fetch(`${web}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, type);
    }
    assert.equal((await fetch(`${web}/favicon.ico`)).status, 204, 'no 404 in every browser console');
    assert.equal((await fetch(`${web}/secret`)).status, 404);
    assert.equal((await fetch(`${web}/`, { method: 'POST' })).status, 405);
  });

  test('join: welcome with users; presence to others; messages to everyone in the room', async () => {
    const alice = await member(base, 'alice', 'r1');
    const bob = await member(base);
    bob.send({ type: 'join', room: 'r1', nick: 'bob' });
    const welcome = await bob.next('welcome');
    assert.deepEqual(welcome.users, ['alice', 'bob']);
    const presence = await alice.next('presence');
    assert.deepEqual(presence, { type: 'presence', event: 'join', nick: 'bob' });
    const other = await member(base, 'carol', 'r2');
    alice.send({ type: 'message', text: 'hello r1' });
    for (const m of [alice, bob]) {
      const got = await m.next('message');
      assert.equal(got.text, 'hello r1');
      assert.equal(got.nick, 'alice');
      assert.equal(got.room, 'r1');
    }
    // A round trip through the server after alice's message: anything it had
    // sent to r2 would have arrived before carol's own message comes back.
    other.send({ type: 'message', text: 'marker r2' });
    assert.equal((await other.next('message')).text, 'marker r2');
    assert.equal(other.inbox.length, 0, 'other rooms hear nothing');
    bob.ws.close();
    const left = await alice.next('presence');
    assert.deepEqual(left, { type: 'presence', event: 'leave', nick: 'bob' });
    alice.ws.close();
    other.ws.close();
  });

  test('a newcomer sees the last 50 messages of the room', async () => {
    const talker = await member(base, 'talker', 'history');
    for (let i = 1; i <= 55; i++) talker.send({ type: 'message', text: `message ${i}` });
    for (let i = 1; i <= 55; i++) await talker.next('message');
    const late = await member(base);
    late.send({ type: 'join', room: 'history', nick: 'late' });
    const welcome = await late.next('welcome');
    const history = welcome.history as Array<{ text: string }>;
    assert.equal(history.length, 50);
    assert.equal(history[0]!.text, 'message 6');
    assert.equal(history[49]!.text, 'message 55');
    talker.ws.close();
    late.ws.close();
  });

  test('a join with since gets exactly the messages after it (beyond 50), then the welcome', async () => {
    const talker = await member(base, 'talker2', 'since');
    talker.send({ type: 'message', text: 'first' });
    const first = await talker.next('message');
    assert.equal(typeof first.epoch, 'string');
    for (let i = 1; i <= 80; i++) talker.send({ type: 'message', text: `m${i}` });
    for (let i = 1; i <= 80; i++) await talker.next('message');
    const back = await member(base);
    back.send({
      type: 'join',
      room: 'since',
      nick: 'back',
      since: { epoch: first.epoch, offset: first.offset },
    });
    const welcome = await back.next('welcome');
    assert.equal(welcome.recovered, true);
    assert.deepEqual(welcome.history, []);
    const got = back.inbox.filter((m) => m.type === 'message').map((m) => m.text);
    assert.deepEqual(
      got,
      Array.from({ length: 80 }, (_, i) => `m${i + 1}`),
      'all 80, in order, before the welcome',
    );
    assert.equal(welcome.offset, (first.offset as number) + 80);
    // An unknown epoch (e.g. from before a restart): told, and given the latest 50.
    const lost = await member(base);
    lost.send({ type: 'join', room: 'since', nick: 'lost', since: { epoch: 'gone', offset: 3 } });
    const told = await lost.next('welcome');
    assert.equal(told.recovered, false);
    assert.equal((told.history as unknown[]).length, 50);
    for (const m of [talker, back, lost]) m.ws.close();
  });

  test('a message resent with the same key is stored and delivered once', async () => {
    const sender = await member(base, 'sender', 'keys');
    const other = await member(base, 'other', 'keys');
    sender.send({ type: 'message', text: 'once', key: 'k-1' });
    sender.send({ type: 'message', text: 'once', key: 'k-1' });
    sender.send({ type: 'message', text: 'after' });
    const seen: string[] = [];
    for (;;) {
      const m = await other.next('message');
      seen.push(m.text as string);
      if (m.text === 'after') break;
    }
    assert.deepEqual(seen, ['once', 'after']);
    sender.send({ type: 'message', text: 'x', key: 'not a key!' });
    assert.equal((await sender.next('error')).code, 'invalid-key');
    sender.ws.close();
    other.ws.close();
  });

  test('a rejoin with the same tab token replaces the stale connection (4001); another token is nick-taken', async () => {
    const stale = await member(base);
    stale.send({ type: 'join', room: 'tabs', nick: 'tabby', token: 'tab-1' });
    await stale.next('welcome');
    const staleClosed = closed(stale.ws);
    const intruder = await member(base);
    intruder.send({ type: 'join', room: 'tabs', nick: 'tabby', token: 'tab-2' });
    assert.equal((await intruder.next('error')).code, 'nick-taken');
    const fresh = await member(base);
    fresh.send({ type: 'join', room: 'tabs', nick: 'tabby', token: 'tab-1' });
    const welcome = await fresh.next('welcome');
    assert.deepEqual(welcome.users, ['tabby']);
    assert.deepEqual(await staleClosed, [4001, 'replaced by a newer connection of this tab']);
    intruder.ws.close();
    fresh.ws.close();
  });

  test('invalid messages get an error message, and the connection stays', async () => {
    const m = await member(base);
    m.send({ type: 'message', text: 'too early' });
    assert.equal((await m.next('error')).code, 'not-joined');
    m.ws.send('{oops');
    assert.equal((await m.next('error')).code, 'invalid-json');
    m.ws.send(Buffer.from('binary'));
    assert.equal((await m.next('error')).code, 'binary-not-supported');
    m.send({ type: 'join', nick: 'bad<nick>' });
    assert.equal((await m.next('error')).code, 'invalid-nick');
    const taken = await member(base, 'dup', 'dups');
    m.send({ type: 'join', room: 'dups', nick: 'DUP' });
    assert.equal((await m.next('error')).code, 'nick-taken');
    // Homoglyphs: all-Cyrillic "ДUP" cannot be built, but fullwidth and confusables can.
    m.send({ type: 'join', room: 'dups', nick: 'ＤＵＰ' });
    assert.equal((await m.next('error')).code, 'nick-taken', 'fullwidth folds to DUP');
    const alice = await member(base, 'Alice', 'dups');
    m.send({ type: 'join', room: 'dups', nick: '\u0410lice' });
    assert.equal((await m.next('error')).code, 'invalid-nick', 'Cyrillic А next to Latin');
    m.send({ type: 'join', room: 'dups', nick: 'AIice' });
    const lookalike = await m.next('error');
    assert.equal(lookalike.code, 'nick-taken');
    assert.match(String(lookalike.message), /too like "Alice"/);
    alice.ws.close();
    assert.equal(m.ws.readyState, WebSocket.OPEN);
    m.ws.close();
    taken.ws.close();
  });

  test('abuse closes with 1008: oversize, flooding, endless invalid input', async () => {
    const big = await member(base, 'big');
    const bigClosed = closed(big.ws);
    big.ws.send(JSON.stringify({ type: 'message', text: 'x'.repeat(5000) }));
    const [code, reason] = await bigClosed;
    assert.equal(code, 1008);
    assert.match(reason, /larger than 4096 bytes/);

    const huge = await member(base);
    const hugeClosed = closed(huge.ws);
    huge.ws.send('x'.repeat(70 * 1024));
    assert.equal((await hugeClosed)[0], 1009, 'above the endpoint limit the engine answers 1009');

    const noisy = await member(base);
    const noisyClosed = closed(noisy.ws);
    for (let i = 0; i < 25; i++) noisy.ws.send('nonsense');
    assert.deepEqual(await noisyClosed, [1008, 'too many invalid messages']);
  });

  test('flooding: more than the rate limit in 10 s closes with 1008', async () => {
    const strict = new ChatServer({ port: 0, host: '127.0.0.1', rateLimit: 5 });
    const { port } = await strict.listen();
    const m = await member(`ws://127.0.0.1:${port}`, 'flood');
    const done = closed(m.ws);
    for (let i = 0; i < 10; i++) m.send({ type: 'message', text: `spam ${i}` });
    assert.deepEqual(await done, [1008, 'flooding: too many messages']);
    await strict.close();
  });

  test('the /echo endpoint when enabled', async () => {
    const ws = await WebSocket.connect(`${base}/echo`);
    ws.send('echo?');
    assert.equal((await once(ws, 'message'))[0], 'echo?');
    ws.close();
  });

  test('graceful shutdown: 1001 to every chat client, 4000 (shutdown: reconnect) to hub clients', async () => {
    const local = new ChatServer({ port: 0, host: '127.0.0.1' });
    const { port } = await local.listen();
    const m = await member(`ws://127.0.0.1:${port}`, 'leaver');
    const hubClient = await WebSocket.connect(`ws://127.0.0.1:${port}/connection`, {
      protocols: 'socketeer.v1.json',
    });
    hubClient.send(JSON.stringify({ id: 1, cmd: 'connect', params: {} }));
    await once(hubClient, 'message'); // its connect reply: a session now
    const done = closed(m.ws);
    const hubDone = closed(hubClient);
    await local.close();
    assert.equal((await done)[0], 1001);
    assert.equal((await hubDone)[0], 4000, "the hub protocol's shutdown code, as README says");
  });
});

test('https page and wss chat with --tls-cert/--tls-key', async () => {
  const tls = makeCertificate();
  assert.ok(tls, 'openssl is needed to make a test certificate');
  const chat = new ChatServer({ port: 0, host: '127.0.0.1', tls: { cert: tls.cert, key: tls.key } });
  const { port } = await chat.listen();
  const https = await import('node:https');
  const status = await new Promise<number>((resolve, reject) =>
    https
      .get(`https://localhost:${port}/`, { ca: tls.cert }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject),
  );
  assert.equal(status, 200);
  const ws = await WebSocket.connect(`wss://localhost:${port}/chat`, { ca: tls.cert });
  ws.send(JSON.stringify({ type: 'join', nick: 'secure' }));
  const [data] = await once(ws, 'message');
  assert.equal(JSON.parse(data as string).type, 'welcome');
  ws.close();
  await chat.close();
  tls.cleanup();
});
