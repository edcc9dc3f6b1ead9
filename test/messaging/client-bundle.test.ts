import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { BROWSER_SDK_PATH, BROWSER_SDK_ROUTE, serveBrowserSdk } from '../../src/messaging/browser-sdk.js';

/** Issue 14: the browser SDK is one ESM file of at most 10 KB minified + gzipped. */
const BUDGET = 10 * 1024;

describe('browser SDK bundle', () => {
  const bundle = readFileSync(BROWSER_SDK_PATH);

  test(`fits the size budget: <= ${BUDGET} bytes min+gzip`, (t) => {
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    t.diagnostic(`${bundle.length} bytes minified, ${gzipped} bytes gzipped`);
    assert.ok(gzipped <= BUDGET, `${gzipped} bytes gzipped exceeds the ${BUDGET}-byte budget`);
  });

  test('is self-contained: no imports, no Node built-ins', () => {
    const text = bundle.toString('utf8');
    assert.doesNotMatch(text, /\bimport\s*(?:[{*"'(]|\w+\s+from)/, 'the bundle imports something');
    assert.doesNotMatch(text, /\bnode:|\brequire\(/);
  });

  test('exports the client API', async () => {
    const sdk = await import(pathToFileURL(BROWSER_SDK_PATH).href);
    for (const name of ['MessagingClient', 'Subscription', 'ReplyError', 'TimeoutError', 'NotSentError']) {
      assert.equal(typeof sdk[name], 'function', name);
    }
    assert.equal(sdk.SUBPROTOCOL, 'socketeer.v1.json');
    // Node 20 has no global WebSocket: the SDK says what to pass instead of failing later.
    if (!('WebSocket' in globalThis))
      assert.throws(() => new sdk.MessagingClient('ws://x'), /options\.WebSocket/);
  });
});

describe('serveBrowserSdk', () => {
  let base = '';
  const server = createServer((req, res) => {
    if (serveBrowserSdk(req, res)) return;
    res.writeHead(404).end();
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function get(path: string, method = 'GET', headers: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
      (resolve, reject) => {
        const req = request(`${base}${path}`, { method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
  }

  test('GET serves the bundle as JavaScript with an ETag; a matching If-None-Match gets 304', async () => {
    const res = await get(`${BROWSER_SDK_ROUTE}?v=1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.deepEqual(res.body, readFileSync(BROWSER_SDK_PATH));
    const etag = res.headers.etag as string;
    assert.match(etag, /^"[\w-]+"$/);
    const again = await get(BROWSER_SDK_ROUTE, 'GET', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test('HEAD has the headers without the body; other paths and methods are left to the caller', async () => {
    const head = await get(BROWSER_SDK_ROUTE, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), readFileSync(BROWSER_SDK_PATH).length);
    assert.equal(head.body.length, 0);
    assert.equal((await get('/socketeer-messaging.jsx')).status, 404);
    assert.equal((await get(BROWSER_SDK_ROUTE, 'POST')).status, 404);
  });
});
