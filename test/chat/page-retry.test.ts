import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ChatServer } from '../../src/chat/server.js';
import {
  EngineUnavailableError,
  MemoryEngine,
  type PublishOutcome,
  type PublishRequest,
} from '../../src/messaging/index.js';
import { chromiumMissing, joinRoom, launchChromium, textsOf, waitForText } from './page-helpers.js';
import { ofType, type RawMember, rawMember } from './raw-member.js';

/**
 * A message the server refuses with `unavailable` (its store is down) is kept
 * by the page, shown as not delivered yet, and sent again with backoff; after a
 * few refusals in a row it is shown as not sent, and a click sends it again. It
 * is never lost, and never shown or stored twice.
 *
 * The store going down is the memory engine failing its publishes with
 * EngineUnavailableError, which is what the Redis engine does while Redis is
 * down (test/messaging/redis-failures.test.ts); joins and presence keep working,
 * so only the message path is refused, as when Redis drops between a join and
 * a message.
 */

/** A memory engine whose publishes can be switched to fail as an unreachable store's do. */
class SwitchableEngine extends MemoryEngine {
  down = false;
  refused = 0;
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];
  override async publish(request: PublishRequest): Promise<PublishOutcome> {
    if (this.down) {
      this.refused++;
      for (const w of this.waiters.splice(0)) {
        if (this.refused >= w.count) w.resolve();
        else this.waiters.push(w);
      }
      throw new EngineUnavailableError('store unreachable (test switch)');
    }
    return super.publish(request);
  }
  /** Resolves once `n` more publishes have been refused. */
  refusals(n: number): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ count: this.refused + n, resolve }));
  }
}

const MESSAGES = '#messages li:not(.system)';

describe('chat page: messages refused as unavailable are retried', { skip: chromiumMissing }, () => {
  let browser: Browser;
  let chat: ChatServer;
  let port: number;
  const engine = new SwitchableEngine();
  const raw: RawMember[] = [];
  before(async () => {
    chat = new ChatServer({ port: 0, host: '127.0.0.1', engine });
    port = (await chat.listen()).port;
    browser = await launchChromium();
  });
  after(async () => {
    for (const m of raw) m.close();
    await browser?.close();
    await chat?.close();
  });

  /** The page joined to `room`, and a raw member of that room that collects what is said. */
  async function setUp(room: string): Promise<{ page: Page; watcher: RawMember }> {
    const watcher = await rawMember(port);
    raw.push(watcher);
    watcher.send({ type: 'join', room, nick: 'watcher' });
    await watcher.next(ofType('welcome'), 'welcome');
    const page = await browser.newPage();
    await joinRoom(page, `http://127.0.0.1:${port}/`, 'alice', room);
    return { page, watcher };
  }

  async function say(page: Page, text: string) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  }

  test('a refused message waits, is shown as retrying, and is delivered once when the store is back', async () => {
    const { page, watcher } = await setUp('retry');
    engine.down = true;
    // The first send and one resend refused: the page really retries.
    const refusedTwice = engine.refusals(2);
    await say(page, 'said while the store is down');
    await refusedTwice;
    // Kept, and told: "not delivered yet: retrying in N s" (until the next resend).
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#messages li.pending .meta')].some((e) =>
          /^not delivered yet: retrying in \d+ s$/.test(e.textContent ?? ''),
        ),
      undefined,
      { timeout: 10_000, polling: 20 },
    );
    engine.down = false;
    const heard = await watcher.next(ofType('message'), 'the message, once the store is back');
    assert.equal(heard.text, 'said while the store is down');
    await page.waitForSelector('#messages li.pending', { state: 'detached', timeout: 10_000 });
    assert.deepEqual(await textsOf(page, `${MESSAGES} .text`), ['said while the store is down']);
    // Once: a later message is the next one the watcher hears.
    await say(page, 'and then');
    assert.equal((await watcher.next(ofType('message'), 'the next message')).text, 'and then');
    await page.close();
  });

  test('after repeated refusals the message is marked not sent; a click sends it again', async () => {
    const { page, watcher } = await setUp('giveup');
    const refusedBefore = engine.refused;
    engine.down = true;
    await say(page, 'kept through a long outage');
    const failed = '#messages li.failed';
    await page.waitForSelector(failed, { timeout: 30_000 });
    await waitForText(page, `${failed} .meta`, 'not sent (server unavailable): click to send again');
    await waitForText(page, `${failed} .text`, 'kept through a long outage');
    const refused = engine.refused - refusedBefore;
    engine.down = false;
    await page.click(failed);
    const heard = await watcher.next(ofType('message'), 'the message, sent again by the click');
    assert.equal(heard.text, 'kept through a long outage');
    assert.equal(refused, 5, 'the first send and four resends were refused, then the page gave up');
    await page.waitForSelector('#messages li.failed, #messages li.pending', {
      state: 'detached',
      timeout: 10_000,
    });
    assert.deepEqual(await textsOf(page, `${MESSAGES} .text`), ['kept through a long outage']);
    await page.close();
  });
});

declare const document: {
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
};
