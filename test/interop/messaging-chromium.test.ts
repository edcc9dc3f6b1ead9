import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { serveBrowserSdk } from '../../src/messaging/browser-sdk.js';
import { inCI } from '../helpers.js';
import { startHub, type TestHub } from '../messaging/client-fixture.js';
import { findBinary } from '../system.js';
import { CHROMIUM_FLAGS } from './chromium-flags.js';

/**
 * The browser SDK bundle (dist/browser/socketeer-messaging.js) in real
 * Chromium, served by a test http server next to a real hub: the page imports
 * the bundle and uses the browser's own WebSocket.
 */

const CHROMIUM = '/usr/bin/chromium';
const missing = findBinary(CHROMIUM) ? false : `${CHROMIUM} not found (install: apt-get install chromium)`;
if (missing && inCI) throw new Error(`${missing}; CI must install it`);
if (missing) process.stderr.write(`skipping the messaging SDK in Chromium: ${missing}\n`);

const PAGE = `<!doctype html><meta charset="utf-8"><title>sdk</title>
<script type="module">
  import * as sdk from '/socketeer-messaging.js';
  // The page's whole state, read by the test through page.evaluate.
  window.sdk = sdk;
  window.made = { seen: {}, subscribed: {}, acks: {} };
  window.start = (url, channels) => {
    const client = new sdk.MessagingClient(url, { minReconnectDelay: 5, maxReconnectDelay: 50 });
    window.client = client;
    for (const channel of channels) {
      made.seen[channel] = [];
      made.subscribed[channel] = [];
      const sub = client.subscribe(channel);
      sub.on('publication', (p) => made.seen[channel].push([p.offset, p.data]));
      sub.on('subscribed', (e) => made.subscribed[channel].push(e.recovered ?? null));
    }
    client.connect();
    return Promise.all(channels.map((c) => client.getSubscription(c).ready())).then(() => client.session.client);
  };
  window.ready = true;
</script>`;

type Made = {
  seen: Record<string, Array<[number, unknown]>>;
  subscribed: Record<string, Array<boolean | null>>;
};
type PageWindow = {
  made: Made;
  start(url: string, channels: string[]): Promise<string>;
  client: {
    state: string;
    session: { client: string };
    publish(c: string, d: unknown): Promise<{ epoch: string; offset: number }>;
  };
};

describe('messaging browser SDK in Chromium', { skip: missing }, () => {
  let http: Server;
  let hub: TestHub;
  let browser: Browser;
  let base = '';

  before(async () => {
    http = createServer((req, res) => {
      if (serveBrowserSdk(req, res)) return;
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    hub = await startHub({ server: http, path: '/connection' });
    base = `127.0.0.1:${(http.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    http?.close();
  });

  async function openPage(channels: string[]): Promise<{ page: Page; clientId: string }> {
    const page = await browser.newPage();
    await page.goto(`http://${base}/`);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    const clientId = await page.evaluate(
      ([url, list]) => (globalThis as unknown as PageWindow).start(url, list),
      [`ws://${base}/connection`, channels] as const,
    );
    return { page, clientId };
  }

  const made = (page: Page) => page.evaluate(() => (globalThis as unknown as PageWindow).made);
  const seenCount = (page: Page, channel: string, count: number) =>
    page.waitForFunction(([c, n]) => (globalThis as unknown as PageWindow).made.seen[c]!.length >= n, [
      channel,
      count,
    ] as const);

  test('connect, subscribe, publish: the ack is the position the page then receives', async () => {
    const { page } = await openPage(['chat:browser']);
    const ack = await page.evaluate(() =>
      (globalThis as unknown as PageWindow).client.publish('chat:browser', { text: 'from chromium' }),
    );
    assert.equal(ack.offset, 1);
    await seenCount(page, 'chat:browser', 1);
    assert.deepEqual((await made(page)).seen['chat:browser'], [[1, { text: 'from chromium' }]]);
    const stored = (await hub.hub.history('chat:browser')).publications;
    assert.deepEqual(
      stored.map((p) => [p.epoch, p.offset, p.data]),
      [[ack.epoch, 1, { text: 'from chromium' }]],
    );
    await page.close();
  });

  test('the server kills the connection: the page reconnects and recovers what it missed, once, in order', async () => {
    const { page, clientId } = await openPage(['chat:tunnel']);
    await hub.hub.publish('chat:tunnel', 'before');
    await seenCount(page, 'chat:tunnel', 1);
    hub.gate.hold();
    const held = hub.gate.arrival();
    hub.terminate(clientId);
    await held; // the page is reconnecting, held at the gate
    for (let i = 1; i <= 4; i++) await hub.hub.publish('chat:tunnel', `missed ${i}`);
    hub.gate.release();
    await seenCount(page, 'chat:tunnel', 5);
    await hub.hub.publish('chat:tunnel', 'after');
    await seenCount(page, 'chat:tunnel', 6);
    const state = await made(page);
    assert.deepEqual(state.seen['chat:tunnel'], [
      [1, 'before'],
      [2, 'missed 1'],
      [3, 'missed 2'],
      [4, 'missed 3'],
      [5, 'missed 4'],
      [6, 'after'],
    ]);
    assert.deepEqual(state.subscribed['chat:tunnel'], [null, true], 'fresh, then recovered');
    await page.close();
  });

  test('a publish made while offline is queued and sent once when the page is back', async () => {
    const { page, clientId } = await openPage(['chat:offline-page']);
    hub.gate.hold();
    const held = hub.gate.arrival();
    hub.terminate(clientId);
    await held;
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageWindow).client.state), 'connecting');
    await page.evaluate(() => {
      const w = globalThis as unknown as PageWindow & { pending: Promise<unknown> };
      w.pending = w.client.publish('chat:offline-page', 'typed offline');
    });
    hub.gate.release();
    const ack = await page.evaluate(
      () => (globalThis as unknown as { pending: Promise<{ offset: number }> }).pending,
    );
    assert.equal(ack.offset, 1);
    await seenCount(page, 'chat:offline-page', 1);
    const stored = (await hub.hub.history('chat:offline-page')).publications.map((p) => p.data);
    assert.deepEqual(stored, ['typed offline']);
    assert.deepEqual((await made(page)).seen['chat:offline-page'], [[1, 'typed offline']]);
    await page.close();
  });
});
