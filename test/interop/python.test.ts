import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { inCI } from '../helpers.js';
import { requireBinary } from '../system.js';
import { makeCertificate } from '../tls-cert.js';

/**
 * Interop with Python's `websockets` (Debian's python3-websockets), both
 * directions, ws and wss. Debian's package lives in the system interpreter.
 */

const PYTHON = '/usr/bin/python3';
const scripts = new URL('../../../test/interop/python/', import.meta.url).pathname;
const run = promisify(execFile);

async function requirePythonWebsockets(t: TestContext): Promise<boolean> {
  if (!requireBinary(t, PYTHON, 'apt-get install python3')) return false;
  try {
    await run(PYTHON, ['-c', 'import websockets']);
    return true;
  } catch {
    const message = 'Python module websockets not found (install: apt-get install python3-websockets)';
    if (inCI) throw new Error(`${message}; CI must install it`);
    process.stderr.write(`skipping: ${message}\n`);
    t.skip(message);
    return false;
  }
}

for (const [secure, compression] of [
  [false, ''],
  [true, ''],
  [false, 'deflate'],
  [true, 'deflate'],
] as const) {
  const scheme = secure ? 'wss' : 'ws';
  const env = { ...process.env, WS_COMPRESSION: compression };
  describe(`Python websockets (${scheme}${compression ? ', permessage-deflate' : ''})`, () => {
    test('Python client -> socketeer server', async (t) => {
      if (!(await requirePythonWebsockets(t))) return;
      const tls = secure ? makeCertificate() : null;
      const server = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
        perMessageDeflate: compression !== '',
      });
      const closes: Array<[number, string]> = [];
      server.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('close', (code, reason) => closes.push([code, reason]));
      });
      await server.listening();
      const port = (server.address() as AddressInfo).port;
      const args = [join(scripts, 'client.py'), `${scheme}://localhost:${port}/`];
      if (tls) args.push(tls.certFile);
      const { stdout } = await run(PYTHON, args, { timeout: 30_000, env });
      const results = JSON.parse(stdout.trim().split('\n').pop()!);
      assert.deepEqual(results, {
        text: 'héllo from python',
        binary_ok: true,
        big_ok: true,
        fragmented: 'frag-mented',
        pong: true,
        close_code: 4002,
        extensions: compression ? ['permessage-deflate'] : [],
      });
      await server.close();
      assert.deepEqual(closes, [[4002, 'python done']]);
      tls?.cleanup();
    });

    test('socketeer client -> Python server', async (t) => {
      if (!(await requirePythonWebsockets(t))) return;
      const tls = secure ? makeCertificate() : null;
      const files = tls ? [tls.certFile, tls.keyFile] : [];
      const py = spawn(PYTHON, [join(scripts, 'server.py'), ...files], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env,
      });
      try {
        const [portLine] = await once(py.stdout, 'data');
        const port = Number(String(portLine).trim());
        const ws = await WebSocket.connect(`${scheme}://localhost:${port}/`, { ca: tls?.cert });
        if (compression) assert.match(ws.extensions, /^permessage-deflate/);
        else assert.equal(ws.extensions, '');
        const next = async () => (await once(ws, 'message')) as [string | Buffer, boolean];
        ws.send('hello python');
        assert.deepEqual(await next(), ['hello python', false]);
        const bytes = Buffer.alloc(2 * 1024 * 1024, 0x5a);
        ws.send(bytes);
        const [echo, isBinary] = await next();
        assert.ok(isBinary && (echo as Buffer).equals(bytes));
        ws.send('frag', { fin: false });
        ws.send('mented');
        assert.deepEqual(await next(), ['fragmented', false]);
        ws.send('fragment me');
        assert.deepEqual(await next(), ['one two three', false]);
        ws.ping('hi');
        assert.equal((await once(ws, 'pong'))[0].toString(), 'hi');
        ws.send('close me');
        const [code, reason] = await once(ws, 'close');
        assert.equal(code, 4003);
        assert.equal(reason, 'python closes');
        assert.equal(ws.wasClean, true);
      } finally {
        py.stdin.end();
        py.kill();
        tls?.cleanup();
      }
    });
  });
}
