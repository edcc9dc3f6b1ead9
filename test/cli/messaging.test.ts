import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { Session } from '../../src/messaging/index.js';
import { MessagingClient } from '../../src/messaging/node-client.js';
import { startHub, type TestHub } from '../messaging/client-fixture.js';

/** socketeer sub / pub / presence as an operator runs them, against a real hub in this process. */

const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;

async function run(args: string[], input?: string) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number, stdout, stderr };
}

/** A long-running command whose output lines can be awaited. */
function start(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const streams = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]!.on('data', (d) => {
      streams[name] += d;
      for (const w of waiters.splice(0)) w();
    });
  }
  let exitCode: number | null = null;
  const exited = once(child, 'close').then(([code]) => {
    exitCode = code as number;
    for (const w of waiters.splice(0)) w();
    return exitCode;
  });
  // A command that exits before printing what is awaited fails the test with its
  // output, instead of leaving the wait to the file's 60 s timeout.
  const until = async (name: 'stdout' | 'stderr', test: (text: string) => boolean) => {
    while (!test(streams[name])) {
      if (exitCode !== null) {
        throw new Error(
          `socketeer ${args.join(' ')} exited ${exitCode}; stdout: ${streams.stdout}; stderr: ${streams.stderr}`,
        );
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, streams, until, exited };
}

describe('socketeer sub / pub / presence', () => {
  let t: TestHub;
  before(async () => {
    t = await startHub();
  });
  after(() => t.close());

  const sessionOf = (user: string) =>
    new Promise<Session>((resolve) => {
      const listener = (session: Session) => {
        if (session.user !== user) return;
        t.hub.off('connect', listener);
        resolve(session);
      };
      t.hub.on('connect', listener);
    });

  test('pub DATA prints the {epoch, offset} ack; DATA is JSON when it parses, else a string', async () => {
    const json = await run(['pub', t.url, 'chat:cli', '{"a":1}']);
    assert.equal(json.code, 0, json.stderr);
    const ack = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(ack), ['epoch', 'offset']);
    assert.equal(ack.offset, 1);
    const text = await run(['pub', t.url, 'chat:cli', 'plain words']);
    assert.equal(JSON.parse(text.stdout).offset, 2);
    const forced = await run(['pub', '--string', t.url, 'chat:cli', '42']);
    assert.equal(JSON.parse(forced.stdout).offset, 3);
    const stored = (await t.hub.history('chat:cli')).publications.map((p) => p.data);
    assert.deepEqual(stored, [{ a: 1 }, 'plain words', '42']);
  });

  test('pub without DATA publishes each stdin line in order, past the hub rate limit, one ack per line', async () => {
    // 300 lines: more than the hub's burst of 200 commands, so some are refused for a moment and retried.
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i}`);
    const result = await run(['pub', t.url, 'chat:stdin'], `${lines.join('\n')}\n`);
    assert.equal(result.code, 0, result.stderr);
    const acks = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).offset);
    assert.deepEqual(
      acks,
      lines.map((_, i) => i + 1),
    );
    const stored = (await t.hub.history('chat:stdin', { limit: 1000 })).publications.map((p) => p.data);
    assert.deepEqual(stored, lines);
  });

  test('pub refused by the hub: exit 1 with the reason; bad token: exit 1 unauthorized', async () => {
    const refused = await run(['pub', t.url, 'news:x', 'hi']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not-available/);
    const bad = await run(['pub', '--token', 'bad', '--timeout', '5', t.url, 'chat:x', 'hi']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unauthorized/);
  });

  test('sub prints publications with offsets and, after a server-side kill, exactly the missed ones', async () => {
    const connected = sessionOf('tail');
    const sub = start(['sub', '--token', 'tail', t.url, 'chat:tail', 'chat:other']);
    await sub.until(
      'stderr',
      (s) => /chat:tail: subscribed at/.test(s) && /chat:other: subscribed at/.test(s),
    );
    const session = await connected;
    await t.hub.publish('chat:tail', { n: 1 });
    await t.hub.publish('chat:other', 'x');
    await sub.until('stdout', (s) => s.split('\n').length > 2);
    t.gate.hold();
    const held = t.gate.arrival();
    t.terminate(session.client);
    await held;
    for (let n = 2; n <= 4; n++) await t.hub.publish('chat:tail', { n });
    t.gate.release();
    await sub.until('stdout', (s) => s.includes('chat:tail 4 '));
    await sub.until('stderr', (s) => /chat:tail: subscribed at .*recovered/.test(s));
    sub.child.kill('SIGINT');
    assert.equal(await sub.exited, 0);
    const tail = sub.streams.stdout.split('\n').filter((l) => l.startsWith('chat:tail '));
    assert.deepEqual(tail, [
      'chat:tail 1 {"n":1}',
      'chat:tail 2 {"n":2}',
      'chat:tail 3 {"n":3}',
      'chat:tail 4 {"n":4}',
    ]);
    assert.match(sub.streams.stdout, /^chat:other 1 "x"$/m);
    assert.match(sub.streams.stderr, /connection lost .*reconnecting/);
  });

  test('sub says plainly when the hub could not recover (history trimmed)', async () => {
    const connected = sessionOf('gappy');
    const sub = start(['sub', '--json', '--token', 'gappy', t.url, 'short:cli']);
    await sub.until('stdout', (s) => s.includes('"type":"subscribed"'));
    const session = await connected;
    t.gate.hold();
    const held = t.gate.arrival();
    t.terminate(session.client);
    await held;
    for (let n = 1; n <= 6; n++) await t.hub.publish('short:cli', n); // history keeps 3
    t.gate.release();
    await sub.until('stderr', (s) => s.includes('NOT RECOVERED'));
    await t.hub.publish('short:cli', 7);
    await sub.until('stdout', (s) => s.includes('"offset":7'));
    sub.child.kill('SIGTERM');
    assert.equal(await sub.exited, 0);
    const events = sub.streams.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      events.map((e) => [e.type, e.recovered ?? null, e.data ?? null]),
      [
        ['subscribed', null, null],
        ['subscribed', false, null],
        ['pub', null, 7],
      ],
    );
  });

  test('sub --since EPOCH:OFFSET resumes after a position printed by an earlier run', async () => {
    let epoch = '';
    for (let n = 1; n <= 3; n++) epoch = (await t.hub.publish('chat:since', n)).epoch;
    const sub = start(['sub', '--since', `${epoch}:1`, t.url, 'chat:since']);
    await sub.until('stdout', (s) => s.includes('chat:since 3 '));
    sub.child.kill('SIGINT');
    assert.equal(await sub.exited, 0);
    assert.equal(sub.streams.stdout, 'chat:since 2 2\nchat:since 3 3\n');
  });

  test('sub exits 1 when the hub refuses the channel', async () => {
    const result = await run(['sub', t.url, 'nowhere:x']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-channel/);
  });

  test('presence lists members and counts connections and unique users', async () => {
    const members = ['pat', 'pat', 'quinn'].map((token) => {
      const client = new MessagingClient(t.url, { token });
      client.connect();
      return client;
    });
    try {
      await Promise.all(members.map((c) => c.subscribe('chat:room').ready()));
      const text = await run(['presence', t.url, 'chat:room']);
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.trim().split('\n');
      assert.equal(lines.at(-1), '3 connections, 2 users');
      assert.deepEqual(
        lines
          .slice(0, -1)
          .map((l) => l.split(' ')[0])
          .sort(),
        ['pat', 'pat', 'quinn'],
      );
      assert.match(lines[0]!, /\{"name":"(pat|quinn)"\}$/);
      const json = JSON.parse((await run(['presence', '--json', t.url, 'chat:room'])).stdout);
      assert.equal(json.clients, 3);
      assert.equal(json.users, 2);
      assert.equal(json.members.length, 3);
      const disabled = await run(['presence', t.url, 'short:x']);
      assert.equal(disabled.code, 1);
      assert.match(disabled.stderr, /not-available/);
    } finally {
      for (const c of members) c.close();
    }
  });

  test('usage errors exit 2 and say what is allowed; --help documents each command', async () => {
    for (const [args, message] of [
      [['pub', t.url], /a CHANNEL is required/],
      [['sub', 'localhost:1', 'c'], /must start with ws:\/\//],
      [['presence', t.url, 'c', '--timeout', 'soon'], /--timeout must be a number of seconds/],
      [['pub', t.url, 'c', 'x', '--timeout', '3000000'], /--timeout must be at most 2147483 seconds/],
      [['sub', t.url, 'a', 'b', '--since', 'e:1'], /exactly one CHANNEL/],
      [['sub', t.url, 'a', '--since', '12'], /EPOCH:OFFSET/],
    ] as const) {
      const result = await run([...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    for (const command of ['sub', 'pub', 'presence']) {
      const help = await run([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: socketeer ${command} URL`));
    }
  });
});
