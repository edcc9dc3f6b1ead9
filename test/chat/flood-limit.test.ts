import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { FloodGate } from '../../src/chat/flood.js';
import { ChatServer } from '../../src/chat/server.js';
import { WebSocket } from '../../src/index.js';
import { BIN, type Running, run } from '../cli/child.js';
import { freePort } from '../node/net-helpers.js';

/** The chat's flood limit: `socketeer serve --flood-limit/--flood-window` (and env), the option, the gate. */

const serves: Running[] = [];
after(async () => {
  for (const s of serves) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<number> {
  const port = await freePort();
  const s = run(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    env: { ...process.env, ...env },
  });
  serves.push(s);
  await s.waitFor(/WebSocket endpoint/);
  return port;
}

/** Joins, sends `count` messages; resolves with how many came back and the close code (if closed). */
async function chatter(port: number, count: number): Promise<{ echoed: number; closed?: number }> {
  const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/chat`);
  let echoed = 0;
  let joined!: () => void;
  const welcome = new Promise<void>((resolve) => (joined = resolve));
  const allBack = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string };
      if (m.type === 'welcome') joined();
      if (m.type === 'message' && ++echoed === count) resolve();
    }),
  );
  const closed = once(ws, 'close').then(([code]) => code as number);
  ws.send(JSON.stringify({ type: 'join', room: 'lobby', nick: `n${port}${count}` }));
  await welcome;
  for (let i = 0; i < count; i++) ws.send(JSON.stringify({ type: 'message', text: `m${i}` }));
  const outcome = await Promise.race([allBack.then(() => 'all' as const), closed]);
  if (outcome === 'all') {
    ws.close();
    return { echoed };
  }
  return { echoed, closed: outcome };
}

describe('socketeer serve: flood limit flags', { concurrency: 3 }, () => {
  test('--flood-limit 3: the join and two messages pass, the next closes with 1008', async () => {
    const port = await serve(['--flood-limit', '3', '--flood-window', '3600']);
    const result = await chatter(port, 5);
    assert.equal(result.closed, 1008);
    assert.ok(result.echoed <= 2, `at most the two messages within the limit came back: ${result.echoed}`);
  });

  test('SOCKETEER_FLOOD_LIMIT from the environment; the flag wins over it; 0 = no limit', async () => {
    const fromEnv = await serve([], { SOCKETEER_FLOOD_LIMIT: '2' });
    assert.equal((await chatter(fromEnv, 3)).closed, 1008);
    const flagWins = await serve(['--flood-limit', '0'], { SOCKETEER_FLOOD_LIMIT: '2' });
    assert.deepEqual(await chatter(flagWins, 60), { echoed: 60 }, 'twice the default limit, all delivered');
  });

  const bad: Array<[string[], Record<string, string>, RegExp]> = [
    [['--flood-limit', 'lots'], {}, /--flood-limit must be a whole number from 0 to 1000000; got "lots"/],
    [['--flood-limit=-1'], {}, /--flood-limit must be a whole number from 0 to 1000000; got "-1"/],
    [['--flood-window', '0'], {}, /--flood-window must be a whole number from 1 to 3600; got "0"/],
    [['--flood-window', '1.5'], {}, /--flood-window must be a whole number from 1 to 3600; got "1.5"/],
    [[], { SOCKETEER_FLOOD_LIMIT: 'ten' }, /SOCKETEER_FLOOD_LIMIT \(environment\) must be a whole number/],
    [[], { SOCKETEER_FLOOD_WINDOW: '99999' }, /SOCKETEER_FLOOD_WINDOW \(environment\) must be .* 1 to 3600/],
  ];
  for (const [args, env, message] of bad) {
    test(`bad: ${args.join(' ')} ${JSON.stringify(env)} -> exit 2, one clear line`, async () => {
      const s = run(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
        env: { ...process.env, ...env },
      });
      serves.push(s);
      assert.equal(await s.exited, 2);
      assert.match(s.stderr(), message);
      assert.equal(s.stderr().trim().split('\n').length, 1, s.stderr());
    });
  }

  test('--help documents both flags and their variables', async () => {
    const s = run(process.execPath, [BIN, 'serve', '--help']);
    serves.push(s);
    assert.equal(await s.exited, 0);
    for (const text of [
      '--flood-limit N',
      '--flood-window S',
      'SOCKETEER_FLOOD_LIMIT',
      'SOCKETEER_FLOOD_WINDOW',
    ])
      assert.ok(s.stdout().includes(text), text);
  });
});

test('ChatServer refuses bad flood options, saying what is allowed', () => {
  assert.throws(() => new ChatServer({ rateLimit: -1 }), /option "rateLimit" must be an integer from 0 to/);
  assert.throws(
    () => new ChatServer({ rateWindow: 0 }),
    /option "rateWindow" must be an integer from 1 to .* ms/,
  );
  assert.throws(() => new ChatServer({ rateWindow: 1.5 }), RangeError);
  assert.throws(
    () => new ChatServer({ floodLimit: 3 } as never),
    /ChatServer: unknown option "floodLimit"; allowed options are: .*rateLimit, rateWindow/,
  );
});

test('FloodGate: `limit` per window, counted afresh in the next window; 0 = no limit', () => {
  const gate = new FloodGate(3, 1000);
  const start = Date.now();
  assert.deepEqual(
    [0, 1, 2, 3].map((dt) => gate.allow(start + dt)),
    [true, true, true, false],
  );
  assert.equal(gate.allow(start + 999), false, 'still the same window');
  assert.equal(gate.allow(start + 1000), true, 'a new window');
  const open = new FloodGate(0, 1000);
  assert.ok(Array.from({ length: 10_000 }, () => open.allow(start)).every(Boolean));
});
