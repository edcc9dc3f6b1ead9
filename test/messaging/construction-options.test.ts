import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Hub } from '../../src/messaging/index.js';
import { MessagingClient } from '../../src/messaging/node-client.js';

/**
 * Bad options fail at construction under the name the caller used: the hub's
 * listen options as the hub's (not its inner WebSocketServer's), and the Node
 * messaging client's "socket" before any socket is built.
 */

describe("Hub: listen options are refused as the hub's", () => {
  const cases: Array<[object, RegExp]> = [
    [{}, /^Hub: give exactly one of "port", "server" or "noServer: true"/],
    [{ port: 'x' }, /^Hub: option "port" must be an integer from 0 to 65535; got "x"$/],
    [{ port: 1, noServer: true }, /^Hub: give exactly one of/],
    [{ noServer: 'yes' }, /^Hub: option "noServer" must be true or false; got "yes"$/],
    [{ noServer: true, host: 5 }, /^Hub: option "host" must be a string; got 5$/],
    [{ noServer: true, path: 'chat' }, /^Hub: option "path" must start with "\/"; got "chat"$/],
    [{ noServer: true, tls: {} }, /^Hub: option "tls" is for standalone servers \(with "port"\)/],
    [
      { server: {} },
      /^Hub: option "server" must be an http.Server or https.Server to attach to; got an object$/,
    ],
  ];
  for (const [options, message] of cases) {
    test(JSON.stringify(options), () => {
      assert.throws(
        () => new Hub(options as never),
        (error: Error) => message.test(error.message),
      );
    });
  }

  test('good listen options still work: attached to an http server', async () => {
    const server = http.createServer();
    const hub = new Hub({ server, path: '/m' });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const client = new MessagingClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/m`);
      client.connect();
      await client.ready();
      assert.equal(client.state, 'connected');
      client.close();
    } finally {
      await hub.close();
      server.close();
    }
  });
});

describe('Node messaging client: "socket" is checked at construction', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['wss://proxy', /^options\.socket must be an object of WebSocket client options .*; got string$/],
    [null, /^options\.socket must be an object of WebSocket client options .*; got null$/],
    [
      { maxPayload: 5 },
      /^options\.socket: WebSocket client: option "maxPayload" is ws's; use "maxMessageSize"/,
    ],
    [
      { bogus: 1 },
      /^options\.socket: WebSocket client: unknown option "bogus"; allowed options are: headers, /,
    ],
    [
      { heartbeatTimeout: 0 },
      /^options\.socket: WebSocket client: option "heartbeatTimeout" must be an integer/,
    ],
    [{ headers: 'Cookie: a=1' }, /^options\.socket: WebSocket client: option "headers" must be an object/],
    [
      { headers: { 'Sec-WebSocket-Protocol': 'x' } },
      /^options\.socket: WebSocket client: option "headers": header "Sec-WebSocket-Protocol" is set by the opening handshake/,
    ],
  ];
  for (const [socket, message] of cases) {
    test(JSON.stringify(socket), () => {
      assert.throws(
        () => new MessagingClient('ws://127.0.0.1:1/', { socket: socket as never }),
        (error: Error) => message.test(error.message),
      );
    });
  }

  test('"socket" next to an own "WebSocket" class is refused (it would be ignored)', () => {
    assert.throws(
      () =>
        new MessagingClient('ws://127.0.0.1:1/', {
          WebSocket: class {} as never,
          socket: { heartbeatInterval: 0 },
        }),
      /options\.socket configures socketeer's WebSocket client; with options\.WebSocket, configure your class yourself/,
    );
  });
});
