import { type Browser, chromium, type Page } from 'playwright-core';
import { inCI } from '../helpers.js';
import { CHROMIUM_FLAGS } from '../interop/chromium-flags.js';
import { findBinary } from '../system.js';

/**
 * Reading the chat page from tests. Predicates are functions, not strings:
 * Playwright evaluates string predicates with eval inside the page, which the
 * page's Content-Security-Policy (no 'unsafe-eval') rightly forbids.
 */

/** The page-side DOM, as far as these helpers use it (the project compiles without lib.dom). */
interface Element {
  textContent: string | null;
}
declare const document: {
  querySelector(selector: string): Element | null;
  querySelectorAll(selector: string): ArrayLike<Element> & Iterable<Element>;
};

export const countOf = (page: Page, selector: string) =>
  page.evaluate((s) => document.querySelectorAll(s).length, selector);

export const textOf = (page: Page, selector: string) =>
  page.evaluate((s) => document.querySelector(s)?.textContent ?? '', selector);

export const textsOf = (page: Page, selector: string) =>
  page.evaluate((s) => [...document.querySelectorAll(s)].map((e) => e.textContent ?? ''), selector);

/** Wait until at least `n` elements match (exactly `n` with exact = true). */
export async function waitForCount(page: Page, selector: string, n: number, exact = false, timeout = 10_000) {
  await page.waitForFunction(
    ([s, wanted, only]) => {
      const got = document.querySelectorAll(s as string).length;
      return only ? got === wanted : got >= (wanted as number);
    },
    [selector, n, exact] as const,
    { timeout },
  );
}

/** Wait until some element matching `selector` has exactly `text`. */
export async function waitForText(page: Page, selector: string, text: string, timeout = 10_000) {
  await page.waitForFunction(
    ([s, t]) => [...document.querySelectorAll(s)].some((e) => e.textContent === t),
    [selector, text] as const,
    { timeout },
  );
}

/** Wait until the first element matching `selector` has non-empty text. */
export async function waitForNonEmpty(page: Page, selector: string, timeout = 10_000) {
  await page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '') !== '', selector, {
    timeout,
  });
}

/** Why the chat's Chromium tests cannot run here (false: they can). In CI a missing browser fails. */
export const chromiumMissing: string | false = findBinary('/usr/bin/chromium')
  ? false
  : '/usr/bin/chromium not found (apt-get install chromium)';
if (chromiumMissing && inCI) throw new Error(`${chromiumMissing}; CI must install it`);

/** Debian's Chromium, headless (playwright-core never downloads a browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
}

/** Open the chat page at `url` and join `room` as `nick`; resolves once connected. */
export async function joinRoom(page: Page, url: string, nick: string, room: string): Promise<void> {
  await page.goto(url);
  await page.fill('#nick', nick);
  await page.fill('#room', room);
  await page.click('#join');
  await page.waitForSelector('#status.connected');
}
