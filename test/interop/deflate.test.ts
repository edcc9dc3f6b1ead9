import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import WS, { type PerMessageDeflateOptions, WebSocketServer as WSServer } from 'ws';
import { WebSocketServer } from '../../src/index.js';
import type { DeflateOptions } from '../../src/node/deflate.js';
import { WebSocket } from '../../src/node/websocket.js';
import { makeCertificate } from '../tls-cert.js';

/** permessage-deflate against `ws`, both directions, in several configurations, ws:// and wss://. */

const text = 'The quick brown fox jumps over the lazy dog. '.repeat(2000);
const big = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i % 251) ^ (i >> 12);

const wsConfigs: Array<[string, PerMessageDeflateOptions | true]> = [
  ['ws defaults', true],
  ['no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ['window bits 9', { serverMaxWindowBits: 9, clientMaxWindowBits: 9 }],
  ['window bits 15, level 9', { serverMaxWindowBits: 15, zlibDeflateOptions: { level: 9 } }],
  ['threshold 0', { threshold: 0 }],
];

async function exchange(send: (m: string | Buffer) => void, next: () => Promise<[string | Buffer, boolean]>) {
  for (const m of ['small', text, big, '']) {
    send(m);
    const [data] = await next();
    if (Buffer.isBuffer(m)) assert.ok(Buffer.isBuffer(data) && m.equals(data), 'binary intact');
    else assert.equal(data.toString(), m);
  }
}

for (const secure of [false, true]) {
  const scheme = secure ? 'wss' : 'ws';
  describe(`permessage-deflate with ws (${scheme})`, () => {
    for (const [name, wsOptions] of wsConfigs) {
      test(`ws client (${name}) -> socketeer server`, async () => {
        const tls = secure ? makeCertificate() : null;
        const server = new WebSocketServer({
          port: 0,
          host: '127.0.0.1',
          perMessageDeflate: { threshold: 0 },
          tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
        });
        server.on('connection', (ws) => {
          ws.on('message', (d, b) => {
            if (d === 'fragment me') {
              ws.send('frag', { fin: false });
              ws.send('mented');
            } else ws.send(d, { binary: b });
          });
        });
        await server.listening();
        const client = new WS(`${scheme}://localhost:${(server.address() as AddressInfo).port}/`, {
          perMessageDeflate: wsOptions,
          ca: tls?.cert,
        });
        await once(client, 'open');
        assert.match(client.extensions, /permessage-deflate/);
        const next = async () => {
          const [d, b] = await once(client, 'message');
          return [b ? (d as Buffer) : (d as Buffer).toString(), b as boolean] as [string | Buffer, boolean];
        };
        await exchange((m) => client.send(m), next);
        // A fragmented message sent compressed by ws (compress applies to the whole message).
        client.send('frag-', { fin: false });
        client.send('mented', { fin: true });
        assert.equal((await next())[0], 'frag-mented');
        client.send('fragment me');
        assert.equal((await next())[0], 'fragmented');
        client.close(1000);
        await once(client, 'close');
        await server.close();
        tls?.cleanup();
      });

      test(`socketeer client -> ws server (${name})`, async () => {
        const tls = secure ? makeCertificate() : null;
        let httpsServer: import('node:https').Server | undefined;
        let server: WSServer;
        if (tls) {
          const https = await import('node:https');
          httpsServer = https.createServer({ cert: tls.cert, key: tls.key });
          server = new WSServer({ server: httpsServer, perMessageDeflate: wsOptions });
          httpsServer.listen(0, '127.0.0.1');
          await once(httpsServer, 'listening');
        } else {
          server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsOptions });
          await once(server, 'listening');
        }
        server.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
        const port = ((httpsServer ?? server).address() as AddressInfo).port;
        const clientOptions: DeflateOptions = { threshold: 0 };
        const ws = await WebSocket.connect(`${scheme}://localhost:${port}/`, {
          ca: tls?.cert,
          perMessageDeflate: clientOptions,
        });
        assert.match(ws.extensions, /^permessage-deflate/);
        const next = async () => (await once(ws, 'message')) as [string | Buffer, boolean];
        await exchange((m) => ws.send(m), next);
        ws.close(1000);
        await once(ws, 'close');
        server.close();
        httpsServer?.close();
        tls?.cleanup();
      });
    }
  });
}
