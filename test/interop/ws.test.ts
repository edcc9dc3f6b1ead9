import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { makeCertificate } from '../tls-cert.js';

/** Interop with the `ws` package, in both directions, over ws:// and wss://. */

const big = Buffer.alloc(5 * 1024 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;

for (const secure of [false, true]) {
  const scheme = secure ? 'wss' : 'ws';
  describe(`socketeer server <-> ws client (${scheme})`, () => {
    let server: WebSocketServer;
    let url: string;
    let tls: ReturnType<typeof makeCertificate>;
    before(async () => {
      tls = secure ? makeCertificate() : null;
      if (secure && !tls) throw new Error('openssl is needed for wss tests');
      server = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
      });
      server.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => {
          if (data === 'fragment me') {
            ws.send('part one, ', { fin: false });
            ws.send('part two');
          } else if (data === 'close me') {
            ws.close(4321, 'as you wish');
          } else {
            ws.send(data, { binary: isBinary });
          }
        });
      });
      await server.listening();
      url = `${scheme}://localhost:${(server.address() as AddressInfo).port}/`;
    });
    after(async () => {
      await server.close();
      tls?.cleanup();
    });

    test('text, binary, 5 MiB, fragments, ping, close code', async () => {
      const client = new WS(url, { ca: tls?.cert, perMessageDeflate: false });
      await once(client, 'open');
      const next = async () => {
        const [data, isBinary] = await once(client, 'message');
        return { data: data as Buffer, isBinary: isBinary as boolean };
      };
      client.send('héllo');
      let m = await next();
      assert.equal(m.isBinary, false);
      assert.equal(m.data.toString(), 'héllo');
      client.send(Buffer.from([0, 1, 2, 255]));
      m = await next();
      assert.ok(m.isBinary && m.data.equals(Buffer.from([0, 1, 2, 255])));
      client.send(big);
      m = await next();
      assert.ok(m.data.equals(big));
      client.send('fragment me');
      m = await next();
      assert.equal(m.data.toString(), 'part one, part two');
      client.ping('ping payload');
      const [pong] = await once(client, 'pong');
      assert.equal(pong.toString(), 'ping payload');
      client.send('close me');
      const [code, reason] = await once(client, 'close');
      assert.equal(code, 4321);
      assert.equal(reason.toString(), 'as you wish');
    });

    test('ws client closes with 4000: the server sees the code', async () => {
      const seen = new Promise<[number, string]>((resolve) =>
        server.once('connection', (ws) => ws.on('close', (c, r) => resolve([c, r]))),
      );
      const client = new WS(url, { ca: tls?.cert });
      await once(client, 'open');
      client.close(4000, 'client done');
      assert.deepEqual(await seen, [4000, 'client done']);
    });
  });

  describe(`ws server <-> socketeer client (${scheme})`, () => {
    let server: WSServer;
    let url: string;
    let httpsServer: import('node:https').Server | undefined;
    let tls: ReturnType<typeof makeCertificate>;
    before(async () => {
      tls = secure ? makeCertificate() : null;
      if (secure) {
        const https = await import('node:https');
        httpsServer = https.createServer({ cert: tls!.cert, key: tls!.key });
        server = new WSServer({ server: httpsServer, perMessageDeflate: false });
        httpsServer.listen(0, '127.0.0.1');
        await once(httpsServer, 'listening');
      } else {
        server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
        await once(server, 'listening');
      }
      server.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => {
          if (!isBinary && data.toString() === 'fragment me') {
            ws.send('a', { fin: false });
            ws.send('b', { fin: false });
            ws.send('c', { fin: true });
          } else if (!isBinary && data.toString() === 'close me') {
            ws.close(4999, 'from ws');
          } else {
            ws.send(data, { binary: isBinary });
          }
        });
      });
      const port = ((httpsServer ?? server).address() as AddressInfo).port;
      url = `${scheme}://localhost:${port}/path?q=1`;
    });
    after(() => {
      server.close();
      httpsServer?.close();
      tls?.cleanup();
    });

    test('text, binary, 5 MiB, fragments, ping, close code', async () => {
      const ws = await WebSocket.connect(url, { ca: tls?.cert });
      const next = async () => {
        const [data, isBinary] = await once(ws, 'message');
        return { data: data as string | Buffer, isBinary: isBinary as boolean };
      };
      ws.send('héllo');
      assert.deepEqual(await next(), { data: 'héllo', isBinary: false });
      ws.send(Buffer.from([9, 8, 7]));
      const b = await next();
      assert.ok(b.isBinary && (b.data as Buffer).equals(Buffer.from([9, 8, 7])));
      ws.send(big);
      assert.ok(((await next()).data as Buffer).equals(big));
      ws.send('x', { fin: false });
      ws.send('y');
      assert.equal((await next()).data, 'xy');
      ws.send('fragment me');
      assert.equal((await next()).data, 'abc');
      ws.ping('p');
      assert.equal((await once(ws, 'pong'))[0].toString(), 'p');
      ws.send('close me');
      const [code, reason] = await once(ws, 'close');
      assert.equal(code, 4999);
      assert.equal(reason, 'from ws');
      assert.equal(ws.wasClean, true);
    });
  });
}
