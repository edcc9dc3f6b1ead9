import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';

/** The README quotes these files: they must run as written. */
const dir = new URL('../../examples/', import.meta.url).pathname;

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
    const client = spawn(process.execPath, [`${dir}echo-client.mjs`, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let clientOut = '';
    client.stdout.on('data', (d) => (clientOut += d));
    const [code] = await once(client, 'exit');
    assert.equal(code, 0);
    assert.equal(clientOut, 'received: Hello, socketeer!\n');
    await until(/closed 1000 done/);
    const browserStyle = spawn(process.execPath, [`${dir}browser-style-client.mjs`, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let browserOut = '';
    browserStyle.stdout.on('data', (d) => (browserOut += d));
    const [browserCode] = await once(browserStyle, 'exit');
    assert.equal(browserCode, 0);
    assert.equal(browserOut, 'received: Hello from the browser API!\nclosed 1000 done true\n');
  } finally {
    server.kill('SIGINT');
    await once(server, 'exit');
  }
});
