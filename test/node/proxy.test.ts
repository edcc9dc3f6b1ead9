import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { proxyFor } from '../../src/node/client/proxy-connect.js';
import { WebSocket } from '../../src/node/websocket.js';
import type { HandshakeError } from '../../src/protocol/errors.js';
import { makeCertificate } from '../tls-cert.js';

/** A minimal HTTP CONNECT proxy on loopback: records tunnels, optionally demands Basic credentials. */
async function connectProxy(credentials?: string) {
  const tunnels: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => {});
    if (
      credentials &&
      req.headers['proxy-authorization'] !== `Basic ${Buffer.from(credentials).toString('base64')}`
    ) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    tunnels.push(req.url ?? '');
    const [host, port] = [
      req.url!.slice(0, req.url!.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
      Number(req.url!.slice(req.url!.lastIndexOf(':') + 1)),
    ];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, tunnels, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

describe('proxies (HTTP CONNECT)', () => {
  let tls: NonNullable<ReturnType<typeof makeCertificate>>;
  let plain: WebSocketServer;
  let secure: WebSocketServer;
  before(async () => {
    tls = makeCertificate()!;
    assert.ok(tls, 'openssl is needed for the wss test');
    plain = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    secure = new WebSocketServer({ port: 0, host: '127.0.0.1', tls: { cert: tls.cert, key: tls.key } });
    for (const s of [plain, secure]) s.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    await Promise.all([plain.listening(), secure.listening()]);
  });
  after(async () => {
    await plain.close();
    await secure.close();
    tls.cleanup();
  });

  test('ws:// and wss:// through a tunnel (with credentials)', async () => {
    const proxy = await connectProxy('user:p@ss');
    const auth = proxy.url.replace('http://', 'http://user:p%40ss@');
    const plainPort = (plain.address() as net.AddressInfo).port;
    const securePort = (secure.address() as net.AddressInfo).port;
    const a = await WebSocket.connect(`ws://127.0.0.1:${plainPort}/`, { proxy: auth });
    a.send('through the tunnel');
    assert.equal((await once(a, 'message'))[0], 'through the tunnel');
    const b = await WebSocket.connect(`wss://localhost:${securePort}/`, { proxy: auth, ca: tls.cert });
    b.send('tls inside the tunnel');
    assert.equal((await once(b, 'message'))[0], 'tls inside the tunnel');
    assert.deepEqual(proxy.tunnels, [`127.0.0.1:${plainPort}`, `localhost:${securePort}`]);
    a.close();
    b.close();
    proxy.server.close();
  });

  test('a proxy that refuses, or is not there, gives a clear error', async () => {
    const proxy = await connectProxy('user:secret');
    const port = (plain.address() as net.AddressInfo).port;
    await assert.rejects(
      WebSocket.connect(`ws://127.0.0.1:${port}/`, { proxy: proxy.url }),
      (e: HandshakeError) => {
        assert.equal(e.statusCode, 407);
        assert.match(e.message, /refused the tunnel to 127\.0\.0\.1:\d+: 407/);
        return true;
      },
    );
    proxy.server.close();
    await once(proxy.server, 'close');
    await assert.rejects(
      WebSocket.connect(`ws://127.0.0.1:${port}/`, { proxy: proxy.url }),
      /cannot reach proxy/,
    );
  });

  test('proxy from the environment, NO_PROXY, and the option', () => {
    const env = {
      HTTP_PROXY: 'http://p:8080',
      HTTPS_PROXY: 'http://s:8443',
      NO_PROXY: 'internal.example,.corp',
    };
    assert.equal(proxyFor(new URL('ws://a.example/'), undefined, env)?.host, 'p:8080');
    assert.equal(proxyFor(new URL('wss://a.example/'), undefined, env)?.host, 's:8443');
    assert.equal(proxyFor(new URL('ws://internal.example/'), undefined, env), null);
    assert.equal(proxyFor(new URL('ws://x.corp/'), undefined, env), null);
    assert.equal(proxyFor(new URL('ws://a.example/'), false, env), null);
    assert.equal(proxyFor(new URL('ws://a.example/'), 'http://o:1', env)?.host, 'o:1');
    assert.equal(proxyFor(new URL('ws://a.example/'), undefined, {}), null);
    assert.equal(
      proxyFor(new URL('ws://127.0.0.1:9/'), undefined, env),
      null,
      'loopback skips inherited proxies',
    );
    assert.equal(proxyFor(new URL('ws://[::1]:9/'), undefined, env), null);
    assert.throws(
      () => proxyFor(new URL('ws://a.example/'), 'socks5://x:1', env),
      /proxy must be an http:\/\/ URL/,
    );
  });
});
