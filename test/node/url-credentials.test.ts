import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { withPasswordMasked } from '../../src/node/client/credentials.js';
import { decideRedirect } from '../../src/node/client/redirects.js';
import { WebSocket } from '../../src/node/websocket.js';
import { socketeerToEnd } from '../cli/child.js';

/**
 * ws://user:pass@host/: the URL's userinfo becomes `Authorization: Basic` on the
 * opening handshake (as in ws, Python websockets and browsers), percent-decoded
 * (RFC 3986 section 3.2.1) and UTF-8 (RFC 7617); an Authorization header set by
 * the caller wins; credentials never follow a redirect to another host.
 */

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A server that sends back the Authorization header of each handshake, then closes. */
async function authEcho() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  const seen: Array<string | undefined> = [];
  server.on('connection', (ws, req) => {
    seen.push(req.headers.authorization);
    ws.send(req.headers.authorization ?? '(none)');
    ws.close();
  });
  await server.listening();
  cleanups.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, seen };
}

async function authorizationSent(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
  const ws = await WebSocket.connect(url, options);
  const [data] = await once(ws, 'message');
  await once(ws, 'close');
  return String(data);
}

const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

describe('URL credentials (Node client)', () => {
  test('userinfo is sent as Basic authentication, percent-decoded, UTF-8', async () => {
    const { port } = await authEcho();
    assert.equal(await authorizationSent(`ws://alice:s3cret@127.0.0.1:${port}/`), basic('alice:s3cret'));
    assert.equal(
      await authorizationSent(`ws://j%C3%B6rg:p%40ss%3Aw%20rd@127.0.0.1:${port}/x`),
      basic('jörg:p@ss:w rd'),
      'the password may hold an encoded colon; the user name is decoded too',
    );
    assert.equal(await authorizationSent(`ws://bob@127.0.0.1:${port}/`), basic('bob:'), 'no password');
    assert.equal(await authorizationSent(`ws://:pw@127.0.0.1:${port}/`), basic(':pw'), 'no user name');
    // A "%" that starts no escape is left as it is by the URL parser: taken literally.
    assert.equal(await authorizationSent(`ws://u:100%@127.0.0.1:${port}/`), basic('u:100%'));
  });

  test('an Authorization header given by the caller wins, whatever its case', async () => {
    const { port } = await authEcho();
    const url = `ws://alice:s3cret@127.0.0.1:${port}/`;
    assert.equal(
      await authorizationSent(url, { headers: { authorization: 'Bearer t0ken' } }),
      'Bearer t0ken',
    );
    assert.equal(await authorizationSent(url, { headers: { AUTHORIZATION: 'Bearer t1' } }), 'Bearer t1');
  });

  test('a user name with a colon (%3A) is refused at once: RFC 7617 section 2', () => {
    assert.throws(
      () => new WebSocket('ws://a%3Ab:pw@127.0.0.1:1/'),
      (error: Error) => {
        assert.ok(error instanceof SyntaxError);
        assert.match(error.message, /user name .* must not contain ":".*RFC 7617/);
        return true;
      },
    );
  });

  test('with an Authorization header of its own, the userinfo is not used, so a colon in it is fine', async () => {
    const { port } = await authEcho();
    assert.equal(
      await authorizationSent(`ws://a%3Ab:pw@127.0.0.1:${port}/`, {
        headers: { Authorization: 'Bearer t2' },
      }),
      'Bearer t2',
    );
  });

  test('each valid escape is decoded, a stray "%" kept, and escaped bytes sent as they are', async () => {
    const { port } = await authEcho();
    // Decoded per escape (as the URL Standard and browsers do), not all-or-nothing.
    assert.equal(await authorizationSent(`ws://u:p%40ss%@127.0.0.1:${port}/`), basic('u:p@ss%'));
    assert.equal(await authorizationSent(`ws://u:%zz%41@127.0.0.1:${port}/`), basic('u:%zzA'));
    // "%FF" is the octet 0xFF (RFC 3986 section 2.1), not the three characters "%FF".
    assert.equal(
      await authorizationSent(`ws://u:%FF@127.0.0.1:${port}/`),
      `Basic ${Buffer.from([0x75, 0x3a, 0xff]).toString('base64')}`,
    );
  });

  test('redirects: kept to the same host, dropped for another host', async () => {
    const { port, seen } = await authEcho();
    const redirector = http.createServer();
    // The same-host target must be a WebSocket server on the redirector's own port.
    const sameHost = new WebSocketServer({ noServer: true });
    redirector.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/to/')) {
        sameHost.handleUpgrade(req, socket, head, (ws) => {
          ws.send(req.headers.authorization ?? '(none)');
          ws.close();
        });
      } else {
        const location = req.url?.startsWith('/same/')
          ? `/to/${req.url.slice('/same/'.length)}`
          : `http://localhost:${port}/`;
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
      }
    });
    redirector.listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    cleanups.push(async () => {
      await sameHost.close();
      await new Promise((r) => redirector.close(r));
    });
    const via = (redirector.address() as AddressInfo).port;
    assert.equal(
      await authorizationSent(`ws://alice:s3cret@127.0.0.1:${via}/same/x`, { followRedirects: 1 }),
      basic('alice:s3cret'),
      'same host: the credentials follow',
    );
    assert.equal(
      await authorizationSent(`ws://alice:s3cret@127.0.0.1:${via}/away`, { followRedirects: 1 }),
      '(none)',
      'another host: nothing',
    );
    assert.deepEqual(seen, [undefined]);
  });

  test('socketeer connect ws://user:pass@host/ authenticates, and never prints the password', async () => {
    const { port } = await authEcho();
    // stdin stays open: the session ends when the server closes, after its message.
    const ok = await socketeerToEnd(['connect', `ws://alice:s3cret@127.0.0.1:${port}/`]);
    assert.deepEqual([ok.code, ok.stdout], [0, `${basic('alice:s3cret')}\n`]);
    const refused = await socketeerToEnd(['connect', 'ws://alice:s3cret@127.0.0.1:1/']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /cannot connect to ws:\/\/alice:\*\*\*@127\.0\.0\.1:1\//);
    assert.doesNotMatch(refused.stderr, /s3cret/);
  });

  test("redirect decisions: a caller's Authorization makes a colon in the new userinfo fine; errors mask passwords", () => {
    const response = (location: string) =>
      ({ statusCode: 302, headers: { location } }) as unknown as http.IncomingMessage;
    const from = new URL('ws://127.0.0.1:9/start');
    const withHeader = decideRedirect(
      response('ws://a%3Ab:pw@127.0.0.1:9/next'),
      from,
      { headers: { Authorization: 'Bearer x' } },
      1,
    );
    assert.equal(withHeader.kind, 'follow');
    const without = decideRedirect(response('ws://a%3Ab:pw@127.0.0.1:9/next'), from, {}, 1);
    assert.equal(without.kind, 'fail');
    const bad = decideRedirect(response('ftp://bob:hunter2@example.com/'), from, {}, 1);
    assert.ok(bad.kind === 'fail');
    assert.ok(!bad.error.message.includes('hunter2'), bad.error.message);
    assert.match(bad.error.message, /bob:\*\*\*@/);
    const tooMany = decideRedirect(
      response('ws://bob:hunter2@127.0.0.1:9/x'),
      from,
      { followRedirects: 0 },
      0,
    );
    assert.ok(tooMany.kind === 'fail');
    assert.ok(!tooMany.error.message.includes('hunter2'), tooMany.error.message);
    assert.equal(withPasswordMasked('see ws://u:p@h/x?y=a:b@c'), 'see ws://u:***@h/x?y=a:b@c');
    assert.equal(withPasswordMasked('ws://h/x'), 'ws://h/x');
  });
});
