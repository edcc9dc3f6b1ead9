import type { IncomingMessage } from 'node:http';
import { HandshakeError } from '../../protocol/errors.js';
import { withoutCredentials, withPasswordMasked, withUrlCredentials } from './credentials.js';
import type { ClientOptions } from './options.js';
import { parseWebSocketUrl } from './url.js';

/** Redirects during the opening handshake (RFC 6455 section 4.1 lets a client follow them). */

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export type RedirectDecision =
  /** Not a redirect: handle the response as usual. */
  | { kind: 'none' }
  /** Follow: a new handshake to `url` with these options (one redirect fewer). */
  | { kind: 'follow'; url: URL; options: ClientOptions }
  | { kind: 'fail'; error: HandshakeError };

export function decideRedirect(
  response: IncomingMessage,
  from: URL,
  options: ClientOptions,
  redirectsLeft: number,
): RedirectDecision {
  const status = response.statusCode ?? 0;
  if (!REDIRECTS.has(status)) return { kind: 'none' };
  const location = response.headers.location;
  if (redirectsLeft > 0 && location) {
    let next: URL;
    try {
      next = parseWebSocketUrl(new URL(location, from.href.replace(/^ws/, 'http')));
      if (keepsCredentials(next, from)) {
        // A Location without userinfo (a relative one inherits it) keeps the URL's.
        if (next.username === '' && next.password === '') {
          next.username = from.username;
          next.password = from.password;
        }
      } else {
        next = withoutCredentials(next);
      }
      // A bad userinfo fails here, not when the next handshake starts (unless the
      // caller's own Authorization header makes it unused).
      withUrlCredentials(next, options.headers);
    } catch (error) {
      const message = `bad redirect to ${withPasswordMasked(location)}: ${(error as Error).message}`;
      return { kind: 'fail', error: new HandshakeError(message, status) };
    }
    const nextOptions: ClientOptions = keepsCredentials(next, from)
      ? { ...options, followRedirects: redirectsLeft - 1 }
      : {
          ...options,
          headers: undefined,
          cert: undefined,
          key: undefined,
          followRedirects: redirectsLeft - 1,
        };
    return { kind: 'follow', url: next, options: nextOptions };
  }
  // Redirects were asked for, and this one is past the count.
  if (options.followRedirects !== undefined && redirectsLeft === 0) {
    const error = new HandshakeError(
      `too many redirects (the last to ${location === undefined ? '?' : withPasswordMasked(location)})`,
      status,
      response.headers,
    );
    return { kind: 'fail', error };
  }
  return { kind: 'none' };
}

/**
 * Credentials (the URL's userinfo, custom headers, the client certificate) stay
 * with the host they were meant for (host and port; ws -> wss on it is fine),
 * and never follow a wss -> ws downgrade, which would send them in clear text.
 * The same rule as ws.
 */
function keepsCredentials(next: URL, from: URL): boolean {
  return next.host === from.host && !(from.protocol === 'wss:' && next.protocol === 'ws:');
}
