import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { inCI } from '../helpers.js';
import { cases } from '../node/whatwg-cases.js';
import { startWhatwgFixture } from '../node/whatwg-fixture.js';
import { findBinary } from '../system.js';
import { CHROMIUM_FLAGS } from './chromium-flags.js';

/**
 * The shared WHATWG cases (test/node/whatwg-cases.ts) against Chromium's own
 * WebSocket in a real page: the yardstick our Node class is held to.
 */

const CHROMIUM = '/usr/bin/chromium';
const missing = findBinary(CHROMIUM) ? false : `${CHROMIUM} not found (install: apt-get install chromium)`;
if (missing && inCI) throw new Error(`${missing}; CI must install it`);
if (missing) process.stderr.write(`skipping the WHATWG cases in Chromium: ${missing}\n`);

describe('WHATWG WebSocket (Chromium, native)', { skip: missing }, () => {
  let browser: Browser;
  let page: Page;
  let fixture: Awaited<ReturnType<typeof startWhatwgFixture>>;
  before(async () => {
    fixture = await startWhatwgFixture();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage();
    await page.goto(fixture.page);
    await page.waitForFunction(() => 'runCase' in globalThis);
  });
  after(async () => {
    await browser?.close();
    await fixture?.close();
  });

  test('the page loaded every case', async () => {
    const names = await page.evaluate(() => (globalThis as unknown as { caseNames: string[] }).caseNames);
    assert.deepEqual(
      names,
      cases.map((c) => c.name),
    );
  });

  for (const c of cases) {
    test(c.name, async () => {
      const failure = await page.evaluate(
        ([name, base]) =>
          (globalThis as unknown as { runCase(n: string, b: string): Promise<string | null> }).runCase(
            name,
            base,
          ),
        [c.name, fixture.base] as const,
      );
      assert.equal(failure, null);
    });
  }
});
