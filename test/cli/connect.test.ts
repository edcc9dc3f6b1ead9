import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket } from '../../src/node/websocket.js';
import { startEchoServer, startServer } from '../node/net-helpers.js';
import { requireBinary } from '../system.js';
import { makeCertificate } from '../tls-cert.js';
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
      assert.deepEqual(closes, [1000], 'the client closed politely');
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

  test('-x/--execute sends each message and prints the replies; ignores stdin; socketeer -c URL', async () => {
    const { server, url } = await startEchoServer();
    const closes: number[] = [];
    server.on('connection', (ws) => {
      let count = 0;
      // The server ends the session once both messages are echoed, so nothing hangs on a timer.
      ws.on('message', () => ++count === 2 && ws.close(1000));
    });
    try {
      const client = socketeer(['connect', url, '-x', 'one', '--execute', 'two', '-w', '60']);
      const timer = setTimeout(() => client.child.kill('SIGKILL'), 20_000);
      assert.equal(await client.exited, 0);
      clearTimeout(timer);
      assert.equal(client.stdout(), 'one\ntwo\n');
      client.child.stdin!.destroy();
    } finally {
      await server.close();
    }
    const { server: sink, url: sinkUrl } = await startServer();
    const received: string[] = [];
    sink.on('connection', (ws) => {
      ws.on('message', (d) => received.push(String(d)));
      ws.on('close', (code) => closes.push(code));
    });
    try {
      // After --wait seconds (here 0) the client closes with 1000 by itself. wscat's spelling: -c URL.
      const wscatStyle = await socketeerToEnd(['-c', sinkUrl, '-x', 'three', '-w', '0']);
      assert.deepEqual([wscatStyle.code, wscatStyle.stdout, wscatStyle.stderr], [0, '', '']);
      const connectC = await socketeerToEnd(['connect', '-c', sinkUrl, '-x', 'four', '-w', '0']);
      assert.equal(connectC.code, 0);
      assert.deepEqual(received, ['three', 'four']);
      assert.deepEqual(closes, [1000, 1000]);
    } finally {
      await sink.close();
    }
  });

  test('-o/--origin, --auth user:pass, -H, -s: what the server sees', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const { server, url } = await startServer({ protocols: ['chat.v2'] });
    server.on('connection', (ws, req) => {
      seen.push(req.headers);
      ws.send(`protocol=${ws.protocol}`);
      ws.close(1000);
    });
    try {
      const r = await socketeerToEnd([
        'connect',
        url,
        '-o',
        'https://app.example.com',
        '--auth',
        'alice:s3cret:colon',
        '-H',
        'X-Trace: 42',
        '-s',
        'chat.v1',
        '--subprotocol',
        'chat.v2',
      ]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'protocol=chat.v2\n', '']);
      assert.equal(seen[0]!.origin, 'https://app.example.com');
      assert.equal(seen[0]!.authorization, `Basic ${Buffer.from('alice:s3cret:colon').toString('base64')}`);
      assert.equal(seen[0]!['x-trace'], '42');
      assert.equal(seen[0]!['sec-websocket-protocol'], 'chat.v1, chat.v2');
      const bad = await socketeerToEnd(['connect', url, '--auth', 'nocolon']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--auth must look like user:password/);
    } finally {
      await server.close();
    }
  });

  test('-P/--show-ping-pong: pings and pongs on stderr in a pipe, stdout keeps the messages', async () => {
    const { server, url } = await startServer();
    server.on('connection', (ws) => {
      ws.on('pong', () => {
        ws.send('got your pong');
        ws.close(1000);
      });
      ws.on('message', () => ws.ping('are you there'));
    });
    try {
      for (const flags of [['-P'], []]) {
        // stdin stays open: the server's close ends the client.
        const client = socketeer(['connect', url, ...flags]);
        client.child.stdin!.write('hi\n');
        assert.equal(await client.exited, 0);
        client.child.stdin!.destroy();
        assert.equal(client.stdout(), 'got your pong\n');
        assert.equal(client.stderr(), flags.length ? 'ping: are you there\n' : '');
      }
    } finally {
      await server.close();
    }
  });

  test('--timeout: a server that never answers the handshake fails the connect', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as net.AddressInfo;
    try {
      const r = await socketeerToEnd(['connect', `ws://127.0.0.1:${port}/`, '--timeout', '0.3']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^socketeer connect: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: .*timed out/i);
      const bad = await socketeerToEnd(['connect', `ws://127.0.0.1:${port}/`, '--timeout', 'soon']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--timeout must be a number of seconds above 0; got "soon"/);
    } finally {
      silent.close();
    }
  });

  test('-L/--location follows redirects; without it the redirect is the error', async () => {
    const { server, url: target } = await startEchoServer();
    const mover = http.createServer((_req, res) => res.writeHead(404).end());
    mover.on('upgrade', (_req, socket: net.Socket) => {
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target}/real\r\nContent-Length: 0\r\n\r\n`);
    });
    mover.listen(0, '127.0.0.1');
    await once(mover, 'listening');
    const url = `ws://127.0.0.1:${(mover.address() as net.AddressInfo).port}/old`;
    try {
      const followed = await socketeerToEnd(['connect', url, '-L'], 'moved\n');
      assert.deepEqual([followed.code, followed.stdout], [0, 'moved\n']);
      const refused = await socketeerToEnd(['connect', url], 'moved\n');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /302/);
    } finally {
      mover.close();
      await server.close();
    }
  });

  test('-n/--no-check (and --insecure) accept a self-signed certificate; --ca trusts it', async (t) => {
    if (!requireBinary(t, 'openssl', 'apt-get install openssl')) return;
    const tls = makeCertificate()!;
    const { server, port } = await startEchoServer({ tls: { cert: tls.cert, key: tls.key } });
    const url = `wss://localhost:${port}/`;
    try {
      const refused = await socketeerToEnd(['connect', url], 'x\n');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /self-signed|self signed/);
      for (const flag of [['-n'], ['--no-check'], ['--insecure'], ['--ca', tls.certFile]]) {
        const r = await socketeerToEnd(['connect', url, ...flag], 'over tls\n');
        assert.deepEqual([r.code, r.stdout], [0, 'over tls\n'], flag.join(' '));
      }
    } finally {
      await server.close();
      tls.cleanup();
    }
  });

  test('--proxy tunnels through an HTTP CONNECT proxy', async () => {
    const { server, port } = await startEchoServer();
    const tunnels: string[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      tunnels.push(req.url ?? '');
      client.on('error', () => {});
      const upstream = net.connect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      // example.invalid never resolves: only the proxy can reach "it".
      const r = await socketeerToEnd(['connect', 'ws://example.invalid:80/', '--proxy', proxyUrl], 'via\n');
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'via\n', '']);
      assert.deepEqual(tunnels, ['example.invalid:80']);
    } finally {
      proxy.close();
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
