import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import type { ProxyOptions } from '../../src/proxy/proxy.js';
import { HANDSHAKE, rawExchange } from '../node/net-helpers.js';
import { startBackend, startProxy, tripWire } from './helpers.js';

/**
 * Regression tests for the proxy's remote crashes and resource holds (issue 11):
 * each fails against the code before its fix. A trip-wire records anything that
 * escapes to the process (unhandled rejection, uncaught exception).
 */

const wire = tripWire();
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  wire.dispose();
  assert.deepEqual(wire.escaped, [], 'nothing escaped to the process');
});

async function backend() {
  const b = await startBackend('b0');
  cleanups.push(() => b.stop());
  return b;
}

async function proxyFor(options: Omit<ProxyOptions, 'port'>) {
  const p = await startProxy(options);
  cleanups.push(() => p.proxy.close());
  return p;
}

async function adminFor(proxy: {
  handleAdmin: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}) {
  const admin = http.createServer((req, res) => proxy.handleAdmin(req, res));
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => admin.close(() => r())));
  return (admin.address() as AddressInfo).port;
}

/** A tick for rejections and exceptions raised by the last exchange to surface. */
const settle = () => new Promise((r) => setImmediate(r));

describe('proxy: remote crashes (issue 11, crashes 2 and 3)', () => {
  test('with tokens configured, a request target that is not a URL gets 401, not an unhandled rejection', async () => {
    const b = await backend();
    const { port } = await proxyFor({ routes: [{ backends: [b.url] }], tokens: { values: ['s3cret'] } });
    for (const target of ['//%5B', '//[', '//a:b@[::1', '//x:99999']) {
      const answer = await rawExchange(port, HANDSHAKE(target));
      assert.match(answer, /^HTTP\/1\.1 401 /, target);
    }
    assert.match(await rawExchange(port, HANDSHAKE('//%5B?token=s3cret')), /^HTTP\/1\.1 101 /);
    await settle();
    assert.deepEqual(wire.escaped, []);
  });

  test('the admin port answers a request target that is not a URL (404) and keeps serving', async () => {
    const b = await backend();
    const { proxy } = await proxyFor({ routes: [{ backends: [b.url] }] });
    const adminPort = await adminFor(proxy);
    for (const target of ['//[', '//%5B', '//[/status', '//x:99999/status']) {
      const answer = await rawExchange(adminPort, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 404 /, target);
    }
    const status = await rawExchange(
      adminPort,
      'GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    assert.match(status, /^HTTP\/1\.1 200 /);
    await settle();
    assert.deepEqual(wire.escaped, []);
  });
});
