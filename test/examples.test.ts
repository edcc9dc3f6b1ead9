import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { HandshakeError, WebSocket } from '../src/index.js';
import { type Running, run } from './cli/child.js';

/** The README quotes these files: they must run as written. */
const root = new URL('../../', import.meta.url).pathname;
const dir = `${root}examples/`;
const exec = promisify(execFile);

/** Start an example server with PORT=0 and read the URL it prints. */
async function startExample(script: string): Promise<{ example: Running; url: string }> {
  const example = run(process.execPath, [script], { env: { ...process.env, PORT: '0' } });
  const [, url] = await example.waitFor(/listening on (\S+)/);
  return { example, url: url! };
}

/** SIGINT, as Ctrl-C: every example shuts down cleanly and exits 0. */
async function stop(example: Running): Promise<void> {
  example.child.kill('SIGINT');
  assert.equal(await example.exited, 0, example.stderr());
}

async function nextMessage(ws: WebSocket): Promise<string> {
  const [data] = await once(ws, 'message');
  return String(data);
}

describe('examples/', () => {
  test('the README quotes every example file exactly', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const files = readdirSync(dir).filter((f) => /\.(mjs|ts)$/.test(f));
    assert.ok(files.length >= 7, files.join(' '));
    for (const file of files) {
      const text = readFileSync(`${dir}${file}`, 'utf8');
      assert.ok(readme.includes(`(examples/${file})`), `README links examples/${file}`);
      assert.ok(readme.includes(`\n${text}\`\`\``), `README quotes examples/${file} as it is`);
    }
  });

  test('echo-server.mjs with echo-client.mjs and browser-style-client.mjs', async () => {
    const { example, url } = await startExample(`${dir}echo-server.mjs`);
    try {
      const client = await exec(process.execPath, [`${dir}echo-client.mjs`, url]);
      assert.equal(client.stdout, 'received: Hello, socketeer!\n');
      await example.waitFor(/closed 1000 done/);
      const browser = await exec(process.execPath, [`${dir}browser-style-client.mjs`, url]);
      assert.equal(browser.stdout, 'received: Hello from the browser API!\nclosed 1000 done true\n');
    } finally {
      await stop(example);
    }
  });

  test('authenticate.mjs: the session cookie decides, other origins get 403', async () => {
    const { example, url } = await startExample(`${dir}authenticate.mjs`);
    try {
      const ws = await WebSocket.connect(url, { headers: { Cookie: 'theme=dark; sid=7f3a9c' } });
      assert.equal(await nextMessage(ws), 'hello ada');
      ws.close();
      for (const [headers, status] of [
        [{ Cookie: 'sid=unknown' }, 401],
        [{}, 401],
        [{ Cookie: 'sid=7f3a9c', Origin: 'https://evil.example' }, 403],
      ] as const) {
        await assert.rejects(
          WebSocket.connect(url, { headers }),
          (error: HandshakeError) => error instanceof HandshakeError && error.statusCode === status,
        );
      }
    } finally {
      await stop(example);
    }
  });

  test('typescript-server.ts compiles with examples/tsconfig.json (strict) and runs', async () => {
    // Type-checked as a user's project sees the package: 'socketeer' resolves through package.json exports.
    const tsc = `${root}node_modules/typescript/bin/tsc`;
    await exec(process.execPath, [tsc, '-p', `${root}examples`]).catch((error) => {
      assert.fail(`tsc -p examples: ${error.stdout}${error.stderr}`);
    });
    const { example, url } = await startExample(`${root}dist/examples/typescript-server.js`);
    try {
      await assert.rejects(WebSocket.connect(url), (error: HandshakeError) => error.statusCode === 401);
      const [ada, bob] = await Promise.all([
        WebSocket.connect(`${url}/?name=ada`),
        WebSocket.connect(`${url}/?name=bob`),
      ]);
      const toBob = nextMessage(bob);
      const toAda = nextMessage(ada);
      ada.send(JSON.stringify({ type: 'say', text: 'hi all' }));
      const said = { type: 'said', from: 'ada', text: 'hi all' };
      assert.deepEqual(JSON.parse(await toBob), said);
      assert.deepEqual(JSON.parse(await toAda), said);
      const error = nextMessage(bob);
      bob.send('not json');
      assert.equal(JSON.parse(await error).type, 'error');
      ada.close();
      bob.close();
    } finally {
      await stop(example);
    }
  });

  test('express.mjs: POST /notify reaches every WebSocket client at /ws', async () => {
    const { example, url } = await startExample(`${dir}express.mjs`);
    try {
      const ws = await WebSocket.connect(`${url.replace('http', 'ws')}/ws`);
      assert.deepEqual(JSON.parse(await nextMessage(ws)), { type: 'welcome', online: 1 });
      const notice = nextMessage(ws);
      const res = await fetch(`${url}/notify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'deploy at 5' }),
      });
      assert.deepEqual(await res.json(), { recipients: 1 });
      assert.deepEqual(JSON.parse(await notice), { type: 'notice', text: 'deploy at 5' });
      const closed = once(ws, 'close');
      example.child.kill('SIGINT');
      assert.equal((await closed)[0], 1001, 'Ctrl-C closes the clients with 1001');
      assert.equal(await example.exited, 0);
    } finally {
      example.child.kill('SIGKILL');
    }
  });

  test('fastify.mjs: WebSocket echo at /ws next to a Fastify route', async () => {
    const { example, url } = await startExample(`${dir}fastify.mjs`);
    try {
      const ws = await WebSocket.connect(`${url.replace('http', 'ws')}/ws`);
      const echoed = nextMessage(ws);
      ws.send('through fastify');
      assert.equal(await echoed, 'through fastify');
      const stats = (await (await fetch(`${url}/stats`)).json()) as Record<string, number>;
      assert.deepEqual(stats, { connections: 1, messagesIn: 1, messagesOut: 1 });
      const closed = once(ws, 'close');
      example.child.kill('SIGINT');
      assert.equal((await closed)[0], 1001);
      assert.equal(await example.exited, 0);
    } finally {
      example.child.kill('SIGKILL');
    }
  });

  test('koa.mjs: the application routes upgrades; /ws goes to socketeer, others get 404', async () => {
    const { example, url } = await startExample(`${dir}koa.mjs`);
    try {
      assert.equal(await (await fetch(`${url}/`)).text(), 'Koa here; WebSocket at /ws');
      const ws = await WebSocket.connect(`${url.replace('http', 'ws')}/ws?room=1`);
      assert.equal(await nextMessage(ws), 'you asked for /ws?room=1');
      await assert.rejects(
        WebSocket.connect(`${url.replace('http', 'ws')}/elsewhere`),
        (error: HandshakeError) => error.statusCode === 404,
      );
      ws.close();
      await once(ws, 'close');
    } finally {
      await stop(example);
    }
  });
});
