import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { inCI } from '../helpers.js';
import { freePort } from '../node/net-helpers.js';
import { findBinary } from '../system.js';
import { chromiumMissing, joinRoom, launchChromium } from './page-helpers.js';

/**
 * The chat end to end: the real `socketeer serve` binary, two Chromium pages,
 * a Python websockets member, and a server restart the pages survive.
 */

/** The page-side DOM, as far as these tests use it (the project compiles without lib.dom). */
declare const document: { querySelectorAll(selector: string): Iterable<{ textContent: string | null }> };

const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;
const ROOT = new URL('../../../', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

async function startServe(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  while (!out.includes('socketeer chat: open')) {
    const [exit] = await Promise.race([
      once(child.stdout!, 'data'),
      once(child, 'exit').then(() => ['exit']),
    ]);
    assert.notEqual(exit, 'exit', 'serve exited before listening');
  }
  assert.match(out, /socketeer chat: open http:\/\/127\.0\.0\.1:\d+\//);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function seesUsers(page: Page, users: string[]) {
  await page.waitForFunction(
    (wanted) => {
      const shown = [...document.querySelectorAll('#users li')].map((li) => li.textContent);
      return wanted.every((u) => shown.includes(u));
    },
    users,
    { timeout: 10_000 },
  );
}

async function seesMessage(page: Page, text: string) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .text')].some((el) => el.textContent === t),
    text,
    { timeout: 10_000 },
  );
}

async function say(page: Page, text: string) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

describe('chat end to end in Chromium', { skip: chromiumMissing }, () => {
  let browser: Browser;
  let server: ChildProcess;
  let port: number;
  before(async () => {
    port = await freePort();
    server = await startServe(port);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (server) await stop(server);
  });

  test('two pages chat, survive a server restart, and chat again', async () => {
    const url = `http://127.0.0.1:${port}/`;
    const alice = await (await browser.newContext({ viewport: { width: 1000, height: 620 } })).newPage();
    const bob = await (await browser.newContext({ viewport: { width: 390, height: 700 } })).newPage();
    await joinRoom(alice, url, 'alice', 'e2e');
    await joinRoom(bob, url, 'bob', 'e2e');
    await seesUsers(alice, ['alice', 'bob']);
    await seesUsers(bob, ['alice', 'bob']);
    await say(alice, 'Hi Bob! Welcome to socketeer chat.');
    await seesMessage(bob, 'Hi Bob! Welcome to socketeer chat.');
    await say(bob, 'Hey Alice, real-time over /chat works.');
    await seesMessage(alice, 'Hey Alice, real-time over /chat works.');

    await stop(server);
    await alice.waitForSelector('#status.reconnecting, #status.offline', { timeout: 10_000 });
    server = await startServe(port);
    await alice.waitForSelector('#status.connected', { timeout: 30_000 });
    await bob.waitForSelector('#status.connected', { timeout: 30_000 });
    await seesUsers(alice, ['alice', 'bob']);
    await say(bob, 'back after the restart');
    await seesMessage(alice, 'back after the restart');
  });

  test('a Python websockets member chats with a browser page', async (t) => {
    if (!findBinary(PYTHON)) {
      if (inCI) throw new Error(`${PYTHON} not found; CI must install python3-websockets`);
      t.skip('python3 not found');
      return;
    }
    const page = await (await browser.newContext()).newPage();
    await joinRoom(page, `http://127.0.0.1:${port}/`, 'carol', 'mixed');
    const py = spawn(
      PYTHON,
      [`${ROOT}test/chat/python_member.py`, `ws://127.0.0.1:${port}/chat`, 'mixed', 'py'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = once(py, 'exit');
    let out = '';
    py.stdout.on('data', (d) => (out += d));
    await seesUsers(page, ['carol', 'py']);
    await say(page, 'ping python');
    await seesMessage(page, 'pong from python');
    const [code] = await exited;
    assert.equal(code, 0);
    const seen = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(seen[0].users, ['carol', 'py']);
    assert.ok(seen.some((m) => m.type === 'message' && m.nick === 'carol' && m.text === 'ping python'));
  });
});
