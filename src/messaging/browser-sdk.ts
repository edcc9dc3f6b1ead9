/**
 * Serving the browser SDK bundle (dist/browser/socketeer-messaging.js, built by
 * `npm run build`) from any Node http server, e.g. next to the hub:
 *
 *   http.createServer((req, res) => {
 *     if (serveBrowserSdk(req, res)) return;
 *     ...
 *   });
 *
 * A page then imports it with `import { MessagingClient } from '/socketeer-messaging.js'`.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Absolute path of the bundle (this file is compiled to dist/src/messaging/). */
export const BROWSER_SDK_PATH = fileURLToPath(
  new URL('../../browser/socketeer-messaging.js', import.meta.url),
);

/** Where serveBrowserSdk answers by default. */
export const BROWSER_SDK_ROUTE = '/socketeer-messaging.js';

let cached: { body: Buffer; etag: string } | undefined;

/** The bundle's bytes and ETag, read once (the file does not change while the process runs). */
export function browserSdk(): { body: Buffer; etag: string } {
  if (!cached) {
    let body: Buffer;
    try {
      body = readFileSync(BROWSER_SDK_PATH);
    } catch (error) {
      throw new Error(
        `the browser SDK bundle is missing at ${BROWSER_SDK_PATH} (run "npm run build"): ${(error as Error).message}`,
      );
    }
    cached = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
  }
  return cached;
}

/**
 * Answers GET/HEAD of `route` with the bundle (text/javascript, ETag, 304 on a
 * matching If-None-Match; "no-cache" so that pages revalidate after an
 * upgrade; importable from any origin). Returns false, touching nothing, for
 * any other request.
 */
export function serveBrowserSdk(
  req: IncomingMessage,
  res: ServerResponse,
  route = BROWSER_SDK_ROUTE,
): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== route || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  let sdk: { body: Buffer; etag: string };
  try {
    sdk = browserSdk();
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${(error as Error).message}\n`);
    return true;
  }
  const headers = {
    etag: sdk.etag,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    // Public code, fetched without credentials: a page from any origin (or a file://) may import it
    // (module scripts are fetched in CORS mode).
    'access-control-allow-origin': '*',
  };
  if (req.headers['if-none-match'] === sdk.etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/javascript; charset=utf-8',
    'content-length': sdk.body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : sdk.body);
  return true;
}
