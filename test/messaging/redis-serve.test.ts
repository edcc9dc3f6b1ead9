import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { haveRedis, startRedis } from '../redis-server.js';
import { eventually } from './redis-helpers.js';

/** `socketeer serve --redis URL`: several processes are one chat, and /readyz follows Redis. */

const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;

async function serve(t: TestContext, args: string[], env: Record<string, string> = {}): Promise<string> {
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
  t.after(() => child.kill('SIGKILL'));
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = /127\.0\.0\.1:(\d+)/.exec(line.toString())?.[1];
  assert.ok(port, `serve printed its address: ${line}`);
  return `127.0.0.1:${port}`;
}

interface ChatFrame {
  type: string;
  text?: string;
  nick?: string;
  offset?: number;
}

async function member(
  t: TestContext,
  address: string,
  nick: string,
): Promise<{ ws: WebSocket; frames: ChatFrame[] }> {
  const ws = await WebSocket.connect(`ws://${address}/chat`);
  t.after(() => ws.terminate());
  const frames: ChatFrame[] = [];
  const welcome = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ChatFrame;
      frames.push(frame);
      if (frame.type === 'welcome') resolve();
    }),
  );
  ws.send(JSON.stringify({ type: 'join', room: 'lobby', nick }));
  await welcome;
  return { ws, frames };
}

const status = async (address: string, path: string) => (await fetch(`http://${address}${path}`)).status;

test('two serve processes with --redis are one chat; /healthz and /readyz follow Redis', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const one = await serve(t, ['--redis', redis.url]);
  const two = await serve(t, [], { SOCKETEER_REDIS_URL: redis.url });
  const alice = await member(t, one, 'alice');
  const bob = await member(t, two, 'bob');
  alice.ws.send(JSON.stringify({ type: 'message', text: 'hello from node one' }));
  await eventually(async () => bob.frames.some((f) => f.type === 'message'), 'bob (node two) gets it');
  const got = bob.frames.find((f) => f.type === 'message')!;
  assert.deepEqual([got.nick, got.text, got.offset], ['alice', 'hello from node one', 1]);
  assert.ok(
    alice.frames.some((f) => f.type === 'presence' && f.nick === 'bob'),
    'presence crosses nodes',
  );

  assert.deepEqual([await status(one, '/healthz'), await status(one, '/readyz')], [200, 200]);
  await redis.stop();
  await eventually(async () => (await status(one, '/readyz')) === 503, '/readyz 503 without Redis');
  assert.equal(await status(one, '/healthz'), 200, 'alive all the same');
  await redis.restart();
  await eventually(async () => (await status(one, '/readyz')) === 200, '/readyz 200 when Redis is back');
});

test('serve --redis: a bad URL or an unreachable Redis is a clear startup error', async () => {
  // A bad URL is a usage error (2); a right one with no Redis there fails like a refused connect (1).
  for (const [url, message, exitCode] of [
    ['http://nope', /--redis: RedisEngine: expected a redis:\/\/ or rediss:\/\/ URL/, 2],
    ['redis://127.0.0.1:1', /Redis engine could not start: .*ECONNREFUSED/, 1],
  ] as const) {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--redis', url], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    assert.equal(code, exitCode);
    assert.match(stderr, message);
  }
});
