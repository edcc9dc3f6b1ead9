import { isToken } from '../../protocol/headers.js';
import { withPasswordMasked } from './credentials.js';

/**
 * What a WebSocket URL and a subprotocol list must be, for both client APIs:
 * the Node WebSocket (which throws SyntaxError) and the WHATWG one (which throws
 * the DOMException the standard names). Each reports the problem in its own words.
 */

export type UrlProblem = { kind: 'invalid' } | { kind: 'scheme'; scheme: string; href: string };

/** Parse `input`, mapping http(s) to ws(s) as the WHATWG standard does. */
export function readWebSocketUrl(input: string | URL): { url: URL } | { problem: UrlProblem } {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { problem: { kind: 'invalid' } };
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    return { problem: { kind: 'scheme', scheme: url.protocol.slice(0, -1), href: url.href } };
  }
  return { url };
}

/** The Node client's reading: a fragment is dropped (it never goes on the wire). */
export function parseWebSocketUrl(address: string | URL): URL {
  const read = readWebSocketUrl(address);
  if ('problem' in read) {
    throw new SyntaxError(
      read.problem.kind === 'invalid'
        ? `invalid WebSocket URL ${JSON.stringify(withPasswordMasked(String(address)))}`
        : `WebSocket URL must start with ws:// or wss://; got ${JSON.stringify(withPasswordMasked(read.problem.href))}`,
    );
  }
  read.url.hash = '';
  return read.url;
}

/** RFC 6455 section 4.1: each subprotocol a token, none twice. Returns the first offender. */
export function findBadSubprotocol(
  protocols: readonly unknown[],
): { protocol: string; kind: 'token' | 'duplicate' } | undefined {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol))
      return { protocol: String(protocol), kind: 'token' };
    if (seen.has(protocol)) return { protocol, kind: 'duplicate' };
    seen.add(protocol);
  }
  return undefined;
}

/** The Node client's reading of its `protocols` argument. */
export function parseSubprotocols(protocols: string | readonly string[] | undefined): string[] {
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  const bad = findBadSubprotocol(offered);
  if (bad?.kind === 'token')
    throw new SyntaxError(`subprotocol ${JSON.stringify(bad.protocol)} is not a valid token`);
  if (bad) throw new SyntaxError('subprotocols must not repeat');
  return offered;
}
