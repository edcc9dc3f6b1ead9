import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { buildFrame, decodeFrames } from '../helpers.js';
import { HANDSHAKE, rawExchange, startEchoServer, startServer } from './net-helpers.js';

describe('server handshake answers (raw TCP)', () => {
  let port: number;
  let server: WebSocketServer;
  before(async () => {
    ({ server, port } = await startEchoServer({ path: '/chat' }));
  });
  after(() => server.close());

  const cases: Array<[string, string, number, RegExp]> = [
    ['a valid handshake', HANDSHAKE('/chat'), 101, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/],
    ['a query string on the right path', HANDSHAKE('/chat?room=1'), 101, /Upgrade: websocket/],
    ['an unknown path', HANDSHAKE('/nope'), 404, /no WebSocket endpoint at \/nope/],
    [
      'an unsupported version',
      HANDSHAKE('/chat').replace('Version: 13', 'Version: 8'),
      426,
      /Sec-WebSocket-Version: 13[\s\S]*unsupported WebSocket version "8"/,
    ],
    [
      'a missing key',
      HANDSHAKE('/chat').replace(/Sec-WebSocket-Key:.*\r\n/, ''),
      400,
      /Sec-WebSocket-Key header is missing/,
    ],
    [
      'a short key',
      HANDSHAKE('/chat').replace('dGhlIHNhbXBsZSBub25jZQ==', 'c2hvcnQ='),
      400,
      /Sec-WebSocket-Key must be 16 bytes/,
    ],
    ['a POST', HANDSHAKE('/chat').replace('GET', 'POST'), 400, /method must be GET/],
    [
      'Upgrade without Connection: Upgrade',
      HANDSHAKE('/chat').replace('Connection: Upgrade', 'Connection: keep-alive'),
      400,
      /Connection header must include "Upgrade"/,
    ],
    [
      'a plain GET',
      'GET /chat HTTP/1.1\r\nHost: x\r\n\r\n',
      426,
      /Upgrade: websocket[\s\S]*speaks WebSocket/,
    ],
    ['a plain GET elsewhere', 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n', 404, /no WebSocket endpoint/],
    ['malformed HTTP', 'HELLO\r\n\r\n', 400, /malformed HTTP request/],
    [
      'a folded header line',
      `${HANDSHAKE('/chat').slice(0, -2)}X-Folded: a\r\n b\r\n\r\n`,
      400,
      /malformed HTTP/,
    ],
    [
      'a header name with a space',
      `${HANDSHAKE('/chat').slice(0, -2)}Bad Name: x\r\n\r\n`,
      400,
      /malformed HTTP/,
    ],
    [
      'a header line without a colon',
      `${HANDSHAKE('/chat').slice(0, -2)}NoColon\r\n\r\n`,
      400,
      /malformed HTTP/,
    ],
    ['a bad request line', 'GET /chat HTTP/1.1 extra\r\nHost: x\r\n\r\n', 400, /malformed HTTP/],
    [
      'a duplicated Sec-WebSocket-Key (joined, so invalid)',
      `${HANDSHAKE('/chat').slice(0, -2)}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      400,
      /Sec-WebSocket-Key/,
    ],

    [
      'oversized headers',
      `${HANDSHAKE('/chat').slice(0, -2)}X-Big: ${'a'.repeat(20000)}\r\n\r\n`,
      431,
      /too large/,
    ],
  ];
  for (const [name, request, status, body] of cases) {
    test(`${name} -> ${status}`, async () => {
      const response = await rawExchange(port, request, 1000);
      assert.match(response, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(response, body);
    });
  }

  test('a request head that arrives in pieces (the end marker split too) is fine', async () => {
    const net = await import('node:net');
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const head = HANDSHAKE('/chat');
    for (const piece of [head.slice(0, 10), head.slice(10, -3), head.slice(-3, -1), head.slice(-1)]) {
      socket.write(piece);
      // Spacing, not a wait: it makes each piece its own TCP segment (no event
      // tells a client that the server has read what it wrote).
      await new Promise((r) => setTimeout(r, 20));
    }
    while (!answer.includes('\r\n\r\n')) await once(socket, 'data');
    assert.match(answer, /^HTTP\/1\.1 101 /);
    socket.destroy();
  });

  test('subprotocols offered on two header lines are combined, as Node would', async () => {
    const { server: s2, port: p2 } = await startServer({ protocols: ['two'] });
    try {
      const request = `${HANDSHAKE('/').slice(0, -2)}Sec-WebSocket-Protocol: one\r\nSec-WebSocket-Protocol: two\r\n\r\n`;
      const response = await rawExchange(p2, request, 300);
      assert.match(response, /^HTTP\/1\.1 101 /);
      assert.match(response, /Sec-WebSocket-Protocol: two/i);
    } finally {
      await s2.close();
    }
  });

  test('hooks get a real IncomingMessage: method, url, headers, rawHeaders, socket', async () => {
    let seen: http.IncomingMessage | undefined;
    const { server: s3, port: p3 } = await startServer({
      authenticate: (request) => {
        seen = request;
        return undefined;
      },
    });
    try {
      await rawExchange(p3, HANDSHAKE('/room?x=1', 'X-Custom: yes\r\n'), 300);
      assert.ok(seen instanceof http.IncomingMessage);
      assert.deepEqual([seen.method, seen.url, seen.httpVersion], ['GET', '/room?x=1', '1.1']);
      assert.equal(seen.headers['x-custom'], 'yes');
      assert.ok(seen.rawHeaders.includes('X-Custom'));
      assert.equal(seen.socket.remoteAddress, '127.0.0.1');
    } finally {
      await s3.close();
    }
  });

  test('a client that leaves mid-head, and close() with a head still arriving', async () => {
    const { server: s4, port: p4 } = await startServer({});
    const net = await import('node:net');
    const lingerer = net.connect(p4, '127.0.0.1');
    lingerer.on('error', () => {});
    lingerer.write('GET / HTTP/1.1\r\n');
    await once(lingerer, 'connect');
    const quitter = net.connect(p4, '127.0.0.1');
    quitter.on('error', () => {});
    quitter.end('GET / HTTP/1.1\r\nHost: x\r\n');
    // The server accepts in arrival order: once it has seen the quitter leave
    // (and closed its side), the lingerer's head is pending there.
    await once(quitter, 'close');
    const closed = once(lingerer, 'close');
    await s4.close(); // must not wait for the lingering head (10 s handshake timeout)
    await closed;
  });

  test('the server keeps serving after all of that', async () => {
    const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/chat`);
    ws.send('still here');
    const [data] = await once(ws, 'message');
    assert.equal(data, 'still here');
    ws.close();
    await once(ws, 'close');
  });
});

describe('attaching to an HTTP server', () => {
  test('several endpoints by path on one port; HTTP requests still reach the app', async () => {
    const app = http.createServer((_req, res) => res.end('hello from the app'));
    const a = new WebSocketServer({ server: app, path: '/a' });
    const b = new WebSocketServer({ server: app, path: '/b' });
    a.on('connection', (ws) => ws.send('this is a'));
    b.on('connection', (ws) => ws.send('this is b'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const { port } = app.address() as AddressInfo;
    for (const path of ['a', 'b']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/${path}`);
      const [data] = await once(ws, 'message');
      assert.equal(data, `this is ${path}`);
      ws.close();
      await once(ws, 'close');
    }
    assert.match(await rawExchange(port, HANDSHAKE('/c'), 1000), /^HTTP\/1\.1 404 /);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'hello from the app');
    assert.throws(() => new WebSocketServer({ server: app, path: '/a' }), /already serves \/a/);
    await a.close();
    await b.close();
    app.close();
  });

  test('handleUpgrade for frameworks, keeping bytes sent with the handshake', async () => {
    const app = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    app.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => ws.send(`got ${data}`));
      });
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const { port } = app.address() as AddressInfo;
    // Handshake and a first frame in the same write: the frame rides in `head`.
    const request = Buffer.concat([
      Buffer.from(HANDSHAKE('/')),
      buildFrame({ opcode: 1, payload: 'early bird' }),
    ]);
    const { createConnection } = await import('node:net');
    const socket = createConnection(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.write(request);
    const answered = () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      return end !== -1 && decodeFrames(all.subarray(end + 4)).length > 0;
    };
    while (!answered()) await once(socket, 'data');
    const all = Buffer.concat(chunks);
    const frames = decodeFrames(all.subarray(all.indexOf('\r\n\r\n') + 4));
    assert.equal(frames[0]?.payload.toString(), 'got early bird');
    socket.destroy();
    await wss.close();
    app.close();
  });
});

describe('subprotocol selection', () => {
  test('the first offered protocol the server speaks is chosen', async () => {
    const { server, url } = await startServer({ protocols: ['v2.chat', 'v1.chat'] });
    const ws = await WebSocket.connect(url, { protocols: ['v1.chat', 'v2.chat'] });
    assert.equal(ws.protocol, 'v1.chat');
    ws.close();
    await server.close();
  });

  test('handleProtocols decides; none chosen means no header', async () => {
    const { server, url } = await startServer({
      handleProtocols: (offered) => offered.find((p) => p === 'b'),
    });
    const ws = await WebSocket.connect(url, { protocols: ['a', 'b'] });
    assert.equal(ws.protocol, 'b');
    ws.close();
    const ws2 = await WebSocket.connect(url, { protocols: ['x'] });
    assert.equal(ws2.protocol, '');
    ws2.close();
    await server.close();
  });
});

describe('option errors say what is wrong and what is allowed', () => {
  const cases: Array<[object, RegExp]> = [
    [{ port: 0, maxPayload: 5 }, /option "maxPayload" is ws's; use "maxMessageSize"/],
    [{ port: 0, verifyClient: () => true }, /option "verifyClient" is ws's; use "authenticate"/],
    [{ port: 0, clientTracking: false }, /"clientTracking" is ws's; socketeer always keeps open connections/],
    [{ port: 0, maxMesageSize: 5 }, /unknown option "maxMesageSize"; allowed options are: port, host/],
    [
      { port: 0, maxMessageSize: -1 },
      /"maxMessageSize" must be an integer from 1 to 4294967296 bytes; got -1/,
    ],
    [{ port: 70000 }, /"port" must be an integer from 0 to 65535; got 70000/],
    [{ port: 0, path: 'chat' }, /"path" must start with "\/"/],
    [{}, /exactly one of "port", "server" or "noServer: true"/],
    [{ noServer: true, port: 1 }, /exactly one of/],
    // Used to fail later with "server.on is not a function".
    [{ server: {} }, /^TypeError: WebSocketServer: option "server" must be an http.Server or https.Server/],
    [{ port: 0, tls: 'cert.pem' }, /option "tls" must be an object; got "cert.pem"/],
    [{ port: 0, handleProtocols: 'first' }, /"handleProtocols" must be a function; got "first"/],
    [{ port: 0, autoPong: 'yes' }, /"autoPong" must be true or false/],
  ];
  for (const [options, message] of cases) {
    test(JSON.stringify(options), () => {
      assert.throws(() => new WebSocketServer(options as never), message);
    });
  }

  test('client options too', () => {
    assert.throws(
      () => new WebSocket('ws://127.0.0.1:1', undefined, { timeout: 5 } as never),
      /unknown option "timeout"/,
    );
    assert.throws(() => new WebSocket('http//bad'), /invalid WebSocket URL/);
    assert.throws(() => new WebSocket('ftp://x/'), /must start with ws:\/\/ or wss:\/\//);
    assert.throws(() => new WebSocket('ws://x/', 'not a token'), /not a valid token/);
    assert.throws(() => new WebSocket('ws://x/', ['a', 'a']), /must not repeat/);
  });

  const clientCases: Array<[object, RegExp]> = [
    [{ maxPayload: 5 }, /WebSocket client: option "maxPayload" is ws's; use "maxMessageSize"/],
    [{ maxMessageSize: 0 }, /"maxMessageSize" must be an integer from 1 to 4294967296 bytes; got 0/],
    [{ closeTimeout: -1 }, /"closeTimeout" must be an integer from 1 to 2147483647 ms; got -1/],
    [{ autoPong: 'yes' }, /"autoPong" must be true or false; got "yes"/],
    [{ handshakeTimeout: 0 }, /"handshakeTimeout" must be an integer from 1 to 2147483647 ms; got 0/],
    [{ heartbeatInterval: -1 }, /"heartbeatInterval" must be an integer from 0 to 2147483647 ms; got -1/],
    [{ heartbeatTimeout: 0 }, /"heartbeatTimeout" must be an integer from 1 to 2147483647 ms; got 0/],
    [{ followRedirects: 21 }, /"followRedirects" must be an integer from 0 to 20; got 21/],
    [{ servername: 5 }, /"servername" must be a string; got 5/],
    [{ rejectUnauthorized: 'no' }, /"rejectUnauthorized" must be true or false; got "no"/],
    [{ slowConsumer: 'wait' }, /"slowConsumer" must be "close" or "drop"; got "wait"/],
    // A string or an array used to be spread into headers named "0", "1", ... and sent.
    [{ headers: 'Authorization: x' }, /option "headers" must be an object; got "Authorization: x"/],
    [{ headers: ['Authorization: x'] }, /option "headers" must be an object; got an array/],
    [
      { headers: { Origin: { url: 'x' } } },
      /"headers" maps header names to strings; got an object for "Origin"/,
    ],
  ];
  for (const [options, message] of clientCases) {
    test(`client ${JSON.stringify(options)}`, () => {
      assert.throws(() => new WebSocket('ws://127.0.0.1:1', undefined, options as never), message);
    });
  }
});
