import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { findBinary } from '../system.js';
import { makeCertificate } from '../tls-cert.js';

describe('wss:// (TLS)', { skip: findBinary('openssl') ? false : 'openssl not found' }, () => {
  let tls: NonNullable<ReturnType<typeof makeCertificate>>;
  let server: WebSocketServer;
  let port: number;
  before(async () => {
    tls = makeCertificate()!;
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', tls: { cert: tls.cert, key: tls.key } });
    server.on('connection', (ws, req) => {
      ws.send(`sni=${(req.socket as TLSSocket).servername}`);
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
    });
    await server.listening();
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await server.close();
    tls.cleanup();
  });

  test('standalone wss server, client trusting the CA, SNI from the host name', async () => {
    const ws = await WebSocket.connect(`wss://localhost:${port}/`, { ca: tls.cert });
    const [hello] = await once(ws, 'message');
    assert.equal(hello, 'sni=localhost');
    ws.send(Buffer.alloc(300_000, 7));
    const [echo] = await once(ws, 'message');
    assert.equal((echo as Buffer).length, 300_000);
    ws.close();
    await once(ws, 'close');
  });

  test('explicit servername, and no SNI for IP addresses', async () => {
    const named = await WebSocket.connect(`wss://127.0.0.1:${port}/`, {
      ca: tls.cert,
      servername: 'localhost',
    });
    assert.equal((await once(named, 'message'))[0], 'sni=localhost');
    named.close();
    const ip = await WebSocket.connect(`wss://127.0.0.1:${port}/`, { ca: tls.cert });
    assert.equal((await once(ip, 'message'))[0], 'sni=false');
    ip.close();
  });

  test('an untrusted certificate is refused unless rejectUnauthorized is false', async () => {
    await assert.rejects(WebSocket.connect(`wss://localhost:${port}/`), /self[- ]signed/i);
    const ws = await WebSocket.connect(`wss://localhost:${port}/`, { rejectUnauthorized: false });
    ws.close();
  });

  test('attached to an existing https server', async () => {
    const app = https.createServer({ cert: tls.cert, key: tls.key }, (_q, r) => r.end('page'));
    const wss = new WebSocketServer({ server: app, path: '/ws' });
    wss.on('connection', (ws) => ws.send('secure hello'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const p = (app.address() as AddressInfo).port;
    const ws = await WebSocket.connect(`wss://localhost:${p}/ws`, { ca: tls.cert });
    assert.equal((await once(ws, 'message'))[0], 'secure hello');
    ws.close();
    await wss.close();
    app.close();
  });
});
