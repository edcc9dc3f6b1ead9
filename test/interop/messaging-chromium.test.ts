import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ChatServer } from '../../src/chat/server.js';
import type { WebSocket as NodeWebSocket } from '../../src/index.js';
import { serveBrowserSdk } from '../../src/messaging/browser-sdk.js';
import { PONG_FRAME } from '../../src/messaging/protocol.js';
import { inCI } from '../helpers.js';
import { startForwarder } from '../messaging/blackhole.js';
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
  window.start = (url, channels, options = {}) => {
    const client = new sdk.MessagingClient(url, { minReconnectDelay: 5, maxReconnectDelay: 50, ...options });
    window.client = client;
    made.connecting = [];
    client.on('connecting', (e) => made.connecting.push(e.reason));
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
  connecting: string[];
};
type PageWindow = {
  made: Made;
  start(url: string, channels: string[], options?: object): Promise<string>;
  client: {
    state: string;
    session: { client: string };
    publish(c: string, d: unknown): Promise<{ epoch: string; offset: number }>;
  };
};

describe('messaging browser SDK in Chromium', { skip: missing }, () => {
  let http: Server;
  let hub: TestHub;
  let beating: TestHub;
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
    // A second hub with a fast heartbeat, reached through a forwarder that can black-hole connections.
    beating = await startHub({ server: http, path: '/beating', pingInterval: 200 });
    base = `127.0.0.1:${(http.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await beating?.close();
    http?.close();
  });

  async function openPage(
    channels: string[],
    url = `ws://${base}/connection`,
    options: object = {},
  ): Promise<{ page: Page; clientId: string }> {
    const page = await browser.newPage();
    await page.goto(`http://${base}/`);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    const clientId = await page.evaluate(
      ([address, list, more]) => (globalThis as unknown as PageWindow).start(address, list, more),
      [url, channels, options] as const,
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

  test('heartbeat: the network goes silent (black hole), the page notices, reconnects and recovers', async () => {
    const forwarder = await startForwarder((http.address() as AddressInfo).port);
    try {
      const url = `ws://127.0.0.1:${forwarder.port}/beating`;
      const { page, clientId } = await openPage(['chat:asleep'], url, { pingGrace: 300 });
      await beating.hub.publish('chat:asleep', 'before');
      await seenCount(page, 'chat:asleep', 1);
      forwarder.blackhole(); // the laptop sleeps: no byte flows, no socket closes
      for (let i = 1; i <= 3; i++) await beating.hub.publish('chat:asleep', `missed ${i}`);
      await seenCount(page, 'chat:asleep', 4);
      await beating.hub.publish('chat:asleep', 'after');
      await seenCount(page, 'chat:asleep', 5);
      const state = await made(page);
      assert.deepEqual(state.seen['chat:asleep'], [
        [1, 'before'],
        [2, 'missed 1'],
        [3, 'missed 2'],
        [4, 'missed 3'],
        [5, 'after'],
      ]);
      // On a loaded machine there may be more than one reconnect: each must have recovered.
      const [fresh, ...later] = state.subscribed['chat:asleep']!;
      assert.equal(fresh, null, 'fresh');
      assert.ok(later.length >= 1 && later.every((recovered) => recovered === true), 'then recovered');
      assert.ok(
        state.connecting.some((reason) => /nothing heard from the server for \d+ ms/.test(reason)),
        `the page noticed the silence: ${state.connecting.join('; ')}`,
      );
      const now = await page.evaluate(() => (globalThis as unknown as PageWindow).client.session.client);
      assert.notEqual(now, clientId, 'a new connection');
      await page.close();
    } finally {
      await forwarder.close();
    }
  });

  test('heartbeat: an idle page answers pings and keeps its one connection', async () => {
    let pongs = 0;
    let enough!: () => void;
    const sixPongs = new Promise<void>((resolve) => (enough = resolve));
    const { page, clientId } = await openPage(['chat:idle'], `ws://${base}/beating`, { pingGrace: 2000 });
    const session = beating.hub.sessions.get(clientId)!;
    (session.ws as unknown as NodeWebSocket).on('message', (data) => {
      if (String(data) === PONG_FRAME && ++pongs === 6) enough();
    });
    await sixPongs; // six pings answered: well past the server's 2 x pingInterval limit
    const state = await made(page);
    assert.deepEqual(state.connecting, ['connect() called'], 'never reconnected');
    assert.equal(beating.hub.sessions.get(clientId), session, 'the same session');
    await page.close();
  });

  test("README's own page against socketeer serve: the SDK fetched from serve, a board shared by two pages", async () => {
    // The page exactly as README.md shows it, pointed at this test's server, served from another origin.
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('```html\n<!doctype html><meta charset="utf-8"><title>board</title>');
    assert.ok(start >= 0, 'README shows the board page');
    const source = readme.slice(start + '```html\n'.length, readme.indexOf('```', start + 8));
    const chat = new ChatServer({ port: 0, host: '127.0.0.1' });
    const { port } = await chat.listen();
    const html = source.replaceAll('localhost:8000', `127.0.0.1:${port}`);
    const elsewhere = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(html),
    );
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const pageUrl = `http://localhost:${(elsewhere.address() as AddressInfo).port}/`; // another origin
    const items = (page: Page) => page.locator('#log li').allTextContents();
    // The page's module awaits the history before it wires the button.
    const wired = (page: Page) => page.waitForFunction("document.getElementById('send').onclick !== null");
    try {
      const alice = await browser.newPage();
      await alice.goto(pageUrl);
      await wired(alice);
      await alice.fill('#text', 'first');
      await alice.click('#send');
      await alice.waitForFunction("document.querySelectorAll('#log li').length === 1");
      const bob = await browser.newPage();
      await bob.goto(pageUrl);
      await wired(bob);
      await bob.waitForFunction("document.querySelectorAll('#log li').length === 1"); // from history
      await bob.fill('#text', 'second');
      await bob.click('#send');
      for (const page of [alice, bob]) {
        await page.waitForFunction("document.querySelectorAll('#log li').length === 2");
        assert.deepEqual(await items(page), ['first', 'second']);
      }
      assert.equal(await alice.inputValue('#text'), '', 'cleared once the hub stored it');
      const stored = await chat.hub.history('demo:board');
      assert.deepEqual(
        stored.publications.map((p) => [p.data, p.info?.user]),
        [
          ['first', ''],
          ['second', ''],
        ],
      );
      await alice.close();
      await bob.close();
    } finally {
      elsewhere.close();
      await chat.close();
    }
  });
});
