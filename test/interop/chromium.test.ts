import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { WebSocketServer } from '../../src/index.js';
import { inCI } from '../helpers.js';
import { findBinary } from '../system.js';
import { makeCertificate } from '../tls-cert.js';
import { CHROMIUM_FLAGS } from './chromium-flags.js';

/** Real headless Chromium's native WebSocket against the socketeer server. */

const CHROMIUM = '/usr/bin/chromium';

const missing = findBinary(CHROMIUM) ? false : `${CHROMIUM} not found (install: apt-get install chromium)`;
if (missing && inCI) throw new Error(`${missing}; CI must install it`);
if (missing) process.stderr.write(`skipping Chromium interop: ${missing}\n`);

/** Runs in the page: drives one connection and reports what it saw. */
async function browserScript(url: string) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });
  const queue: unknown[] = [];
  let wake: (() => void) | undefined;
  ws.onmessage = (e) => {
    queue.push(e.data);
    wake?.();
  };
  const next = async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift();
  };
  const out: Record<string, unknown> = { protocol: ws.protocol, extensions: ws.extensions };
  ws.send('héllo chromium');
  out.text = await next();
  ws.send(new Uint8Array([1, 2, 3, 250]));
  out.binary = Array.from(new Uint8Array((await next()) as ArrayBuffer));
  const big = new Uint8Array(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 255;
  ws.send(big);
  const back = new Uint8Array((await next()) as ArrayBuffer);
  out.bigOk = back.length === big.length && back.every((v, i) => v === big[i]);
  ws.send('fragment me');
  out.fragmented = await next();
  ws.send('close me');
  out.close = await new Promise((resolve) => {
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
  });
  return out;
}

for (const [secure, deflate] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  const scheme = secure ? 'wss' : 'ws';
  describe(`Chromium <-> socketeer server (${scheme}${deflate ? ', permessage-deflate' : ''})`, {
    skip: missing,
  }, () => {
    let browser: Browser;
    let server: WebSocketServer;
    let port: number;
    let tls: ReturnType<typeof makeCertificate>;
    const closes: Array<[number, string]> = [];
    before(async () => {
      tls = secure ? makeCertificate() : null;
      server = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        protocols: ['chat.v1'],
        tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
        perMessageDeflate: deflate ? { threshold: 0 } : false,
      });
      server.on('connection', (ws) => {
        ws.on('close', (code, reason) => closes.push([code, reason]));
        ws.on('message', (data, isBinary) => {
          if (data === 'fragment me') {
            ws.send('frag', { fin: false });
            ws.ping('between fragments');
            ws.send('mented');
          } else if (data === 'close me') {
            ws.close(4005, 'server says bye');
          } else {
            ws.send(data, { binary: isBinary });
          }
        });
      });
      await server.listening();
      port = (server.address() as AddressInfo).port;
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      tls?.cleanup();
    });

    test('text, binary, 4 MiB, fragments with a ping between, server close code', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      const out = await page.evaluate(browserScript, `${scheme}://localhost:${port}/`);
      // Chromium always offers permessage-deflate with client_max_window_bits.
      if (deflate) assert.match(String(out.extensions), /^permessage-deflate/);
      else assert.equal(out.extensions, '');
      delete out.extensions;
      assert.deepEqual(out, {
        protocol: '',
        text: 'héllo chromium',
        binary: [1, 2, 3, 250],
        bigOk: true,
        fragmented: 'fragmented',
        close: { code: 4005, reason: 'server says bye', wasClean: true },
      });
      await context.close();
    });

    test('subprotocol negotiation and a browser-initiated close with 4000', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      closes.length = 0;
      const serverSideClosed = once(server, 'connection').then(([ws]) => once(ws, 'close'));
      const result = await page.evaluate(async (url) => {
        const ws = new WebSocket(url, ['nope', 'chat.v1']);
        await new Promise((r) => (ws.onopen = r));
        const protocol = ws.protocol;
        ws.close(4000, 'browser done');
        const event = await new Promise<{ code: number; wasClean: boolean }>((r) => (ws.onclose = r));
        return { protocol, code: event.code, wasClean: event.wasClean };
      }, `${scheme}://localhost:${port}/`);
      assert.deepEqual(result, { protocol: 'chat.v1', code: 4000, wasClean: true });
      await serverSideClosed;
      assert.deepEqual(closes, [[4000, 'browser done']]);
      await context.close();
    });
  });
}
