import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { startEchoServer, startServer } from '../node/net-helpers.js';
import { requireBinary } from '../system.js';
import { makeCertificate } from '../tls-cert.js';
import { socketeer, socketeerToEnd } from './child.js';

/** wscat's flags, as its users type them, against real servers. */
describe('socketeer connect: wscat flags', () => {
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
      // wscat's --host and -p 13 (its default version) work as there.
      const hosted = await socketeerToEnd(['connect', url, '--host', 'chat.example.com:8443', '-p', '13']);
      assert.deepEqual([hosted.code, hosted.stderr], [0, '']);
      assert.equal(seen[1]!.host, 'chat.example.com:8443');
      assert.equal(seen[1]!['sec-websocket-version'], '13');
      const version8 = await socketeerToEnd(['connect', url, '-p', '8']);
      assert.equal(version8.code, 2);
      assert.match(
        version8.stderr,
        /^socketeer: --protocol must be 13 \(the version RFC 6455 defines; the only one spoken\); got "8"\n$/,
      );
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
});
