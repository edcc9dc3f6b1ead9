import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import type { HandshakeError } from '../../src/protocol/errors.js';

/** An HTTP server that redirects every request to `target(url)`. */
async function redirector(status: number, target: (path: string) => string) {
  const server = http.createServer((req, res) => {
    res.writeHead(status, { Location: target(req.url ?? '/') }).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

test('redirects: off by default, followed when asked, credentials kept to the same host only', async () => {
  const seen: Array<[string | undefined, string | undefined]> = [];
  const backend = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  backend.on('connection', (ws, req) => {
    seen.push([req.url, req.headers.authorization]);
    ws.close();
  });
  await backend.listening();
  const backendPort = (backend.address() as AddressInfo).port;

  // Another host (localhost vs 127.0.0.1): the Authorization header must not follow.
  const away = await redirector(302, (path) => `http://localhost:${backendPort}${path}`);
  const refused = await WebSocket.connect(`ws://127.0.0.1:${away.port}/x`).catch((e: HandshakeError) => e);
  assert.equal((refused as HandshakeError).statusCode, 302, 'redirects are not followed unless asked');
  const ws = await WebSocket.connect(`ws://127.0.0.1:${away.port}/chat?room=1`, {
    followRedirects: 3,
    headers: { Authorization: 'Bearer secret' },
  });
  await once(ws, 'close');
  assert.deepEqual(seen.pop(), ['/chat?room=1', undefined]);

  // Same host (a relative Location): headers are kept.
  const same = http.createServer();
  const sameWs = new WebSocketServer({ noServer: true });
  same.on('upgrade', (req, socket, head) => {
    if (req.url === '/old')
      socket.end('HTTP/1.1 308 Permanent Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n');
    else sameWs.handleUpgrade(req, socket, head);
  });
  sameWs.on('connection', (w, req) => {
    seen.push([req.url, req.headers.authorization]);
    w.close();
  });
  same.listen(0, '127.0.0.1');
  await once(same, 'listening');
  const samePort = (same.address() as AddressInfo).port;
  const kept = await WebSocket.connect(`ws://127.0.0.1:${samePort}/old`, {
    followRedirects: 1,
    headers: { Authorization: 'Bearer secret' },
  });
  await once(kept, 'close');
  assert.deepEqual(seen.pop(), ['/new', 'Bearer secret']);

  // A loop ends at the limit with a clear error.
  const loop = await redirector(301, () => '/again');
  await assert.rejects(
    WebSocket.connect(`ws://127.0.0.1:${loop.port}/`, { followRedirects: 3 }),
    /too many redirects/,
  );

  // A Location that is not http(s)/ws(s) is refused with a clear error.
  const odd = await redirector(302, () => 'ftp://files.example/x');
  await assert.rejects(
    WebSocket.connect(`ws://127.0.0.1:${odd.port}/`, { followRedirects: 2 }),
    /bad redirect to ftp:\/\/files\.example\/x/,
  );
  odd.server.close();

  away.server.close();
  loop.server.close();
  await sameWs.close();
  same.close();
  await backend.close();
});
