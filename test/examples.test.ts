import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';

/** The README quotes these files: they must run as written. */
const dir = new URL('../../examples/', import.meta.url).pathname;

/** Run a client example against `url`: its exit code and what it printed. */
async function runClient(script: string, url: string): Promise<[number, string]> {
  const client = spawn(process.execPath, [`${dir}${script}`, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout.on('data', (d) => (out += d));
  const [code] = await once(client, 'exit');
  return [code as number, out];
}

test('examples/echo-server.mjs with examples/echo-client.mjs and examples/browser-style-client.mjs', async () => {
  const server = spawn(process.execPath, [`${dir}echo-server.mjs`], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    server.stdout.on('data', (d) => (out += d));
    const until = async (pattern: RegExp) => {
      for (let i = 0; i < 200 && !pattern.test(out); i++) await new Promise((r) => setTimeout(r, 25));
      assert.match(out, pattern);
    };
    await until(/listening on (ws:\/\/\S+)/);
    const url = /listening on (ws:\/\/\S+)/.exec(out)![1]!;
    assert.deepEqual(await runClient('echo-client.mjs', url), [0, 'received: Hello, socketeer!\n']);
    await until(/closed 1000 done/);
    assert.deepEqual(await runClient('browser-style-client.mjs', url), [
      0,
      'received: Hello from the browser API!\nclosed 1000 done true\n',
    ]);
  } finally {
    server.kill('SIGINT');
    await once(server, 'exit');
  }
});
