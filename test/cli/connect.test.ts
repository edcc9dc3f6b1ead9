import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { startEchoServer, startServer } from '../node/net-helpers.js';
import { requireBinary } from '../system.js';
import { BIN, run, socketeer, socketeerToEnd } from './child.js';

/** What a wscat user types in their first hour with `socketeer connect`. */
describe('socketeer connect', () => {
  test('in a pipe, exits when the server closes even though stdin is still open (tail -f | connect)', async () => {
    const { server, url } = await startServer();
    server.on('connection', (ws) => ws.on('message', () => ws.close(1000, 'bye')));
    try {
      const client = socketeer(['connect', url]);
      client.child.stdin!.write('one line, and stdin stays open\n');
      const timer = setTimeout(() => client.child.kill('SIGKILL'), 20_000);
      assert.equal(await client.exited, 0, 'exit 0 after the server closed with 1000');
      clearTimeout(timer);
      client.child.stdin!.destroy();
    } finally {
      await server.close();
    }
  });

  test('in a pipe, a server close other than 1000/1001 exits 1 with the code, stdin still open', async () => {
    const { server, url } = await startServer();
    server.on('connection', (ws) => ws.close(4001, 'kicked'));
    try {
      const client = socketeer(['connect', url]);
      const timer = setTimeout(() => client.child.kill('SIGKILL'), 20_000);
      assert.equal(await client.exited, 1);
      clearTimeout(timer);
      assert.equal(client.stderr(), 'socketeer connect: closed with 4001 (kicked)\n');
      client.child.stdin!.destroy();
    } finally {
      await server.close();
    }
  });

  test('connect | head -1: a reader that goes away ends the client quietly (no EPIPE crash)', async () => {
    const { server, url } = await startServer();
    const closes: number[] = [];
    server.on('connection', (ws) => {
      ws.on('close', (code) => closes.push(code));
      ws.on('message', () => {
        // Keep sending until the client goes: the first write after the reader left fails with EPIPE.
        const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send('more'), 5);
        ws.on('close', () => clearInterval(timer));
      });
      ws.send('first');
    });
    try {
      const client = socketeer(['connect', url]);
      await client.waitFor(/first\n/);
      client.child.stdout!.destroy(); // what `head -1` does after its line
      client.child.stdin!.write('go\n'); // stdin stays open, as with tail -f
      const timer = setTimeout(() => client.child.kill('SIGKILL'), 20_000);
      assert.equal(await client.exited, 0);
      clearTimeout(timer);
      assert.equal(client.stderr(), '', 'nothing on stderr, no stack trace');
      assert.deepEqual(closes, [1001], 'the client said goodbye with 1001 Going Away');
      client.child.stdin!.destroy();
    } finally {
      await server.close();
    }
  });

  test('a URL without a scheme means ws:// (as in wscat); http(s):// means ws(s)://', async () => {
    const { server, port } = await startEchoServer();
    const paths: string[] = [];
    server.on('connection', (_ws, req) => paths.push(req.url ?? ''));
    try {
      const bare = await socketeerToEnd(['connect', `127.0.0.1:${port}/bare?x=1`], 'hello\n');
      assert.deepEqual([bare.code, bare.stdout, bare.stderr], [0, 'hello\n', '']);
      const named = await socketeerToEnd(['connect', `localhost:${port}`], 'by name\n');
      assert.deepEqual([named.code, named.stdout], [0, 'by name\n']);
      const httpUrl = await socketeerToEnd(['connect', `http://127.0.0.1:${port}/h`], 'as http\n');
      assert.deepEqual([httpUrl.code, httpUrl.stdout], [0, 'as http\n']);
      assert.deepEqual(paths, ['/bare?x=1', '/', '/h']);
    } finally {
      await server.close();
    }
  });

  test('--version and --help on every command; --help documents the wscat flags', async () => {
    for (const args of [['connect', '--version'], ['echo', '-v'], ['-V'], ['serve', '-V']]) {
      const r = await socketeerToEnd(args);
      assert.deepEqual([r.code, r.stdout.trim()], [0, '0.1.0'], args.join(' '));
    }
    const help = await socketeerToEnd(['connect', '--help']);
    for (const flag of [
      '-c, --connect',
      '-x, --execute',
      '-w, --wait',
      '-o, --origin',
      '--auth',
      '-P, --show-ping-pong',
      '-t, --timeout',
      '-H, --header',
      '-s, --subprotocol',
      '-n, --no-check',
      '-L, --location',
      '--proxy',
      '--cert',
      '--no-color',
    ]) {
      assert.ok(help.stdout.includes(flag), `connect --help documents ${flag}`);
    }
    const listen = await socketeerToEnd(['-l', '8080']);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /socketeer echo --port 8080/);
  });

  test('echo without --host prints a URL a client can use', async () => {
    const echo = socketeer(['echo', '--port', '0']);
    try {
      const [, url] = await echo.waitFor(/listening on (\S+)\n/);
      assert.match(url!, /^ws:\/\/localhost:\d+$/);
      const ws = await WebSocket.connect(url!);
      const reply = once(ws, 'message');
      ws.send('usable');
      assert.equal(String((await reply)[0]), 'usable');
      ws.close();
    } finally {
      echo.child.kill('SIGTERM');
      await echo.exited;
    }
  });

  test('on a terminal: unknown /commands are refused with a hint, // sends a slash, -P shows pings, Ctrl-C closes', async (t) => {
    if (!requireBinary(t, 'script', 'apt-get install bsdutils')) return;
    const { server, url } = await startServer();
    const received: string[] = [];
    const closes: number[] = [];
    server.on('connection', (ws) => {
      ws.on('message', (d) => {
        received.push(String(d));
        if (String(d) === 'ping me') ws.ping('hb');
      });
      ws.on('close', (code) => closes.push(code));
    });
    const env = { ...process.env, NO_COLOR: '1' };
    // script(1) runs the client on a pseudo-terminal, so stdin.isTTY is true.
    const tty = run('script', ['-qfec', `${process.execPath} ${BIN} connect ${url} -P`, '/dev/null'], {
      env,
    });
    try {
      await tty.waitFor(/connected to ws:\/\/127\.0\.0\.1:\d+\/; \/help for commands/);
      tty.child.stdin!.write('/frobnicate now\r');
      await tty.waitFor(
        /unknown command \/frobnicate; \/help lists the commands, \/\/ at the start sends a \//,
      );
      tty.child.stdin!.write('//literal slash\r');
      tty.child.stdin!.write('ping me\r');
      await tty.waitFor(/ping: hb/);
      assert.deepEqual(received, ['/literal slash', 'ping me'], 'the unknown command was not sent');
      tty.child.stdin!.write('\x03'); // Ctrl-C
      await tty.waitFor(/closed: 1000/);
      tty.child.stdin!.end(); // script(1) keeps reading its input until it ends
      assert.equal(await tty.exited, 0);
      assert.deepEqual(closes, [1000]);
    } finally {
      tty.child.kill('SIGKILL');
      await server.close();
    }
  });
});
