import type { Page } from 'playwright-core';

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
