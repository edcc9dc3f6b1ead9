import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * The forwarding headers the proxy adds for its backends. Values a client sent
 * are kept (and ours appended) only when the client is itself a trusted proxy;
 * from anyone else they are dropped, or a client could name its own address.
 */

export const FORWARDING_HEADERS = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
]);

function joined(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * RFC 7239 section 4: a value that is not a token is sent as a quoted-string
 * (RFC 9110 section 5.6.4), where `"` and `\` are escaped with a backslash. With
 * the Host check below no such character can reach here; the escaping keeps
 * the header well-formed whatever the caller passes.
 */
export function quotedString(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** RFC 7239 section 6: IPv6 addresses are bracketed (and so quoted). */
function forwardedNode(address: string): string {
  return address.includes(':') ? quotedString(`[${address}]`) : address;
}

/**
 * Is this Host header value a host the proxy will pass on? RFC 9110 section 7.2:
 * uri-host [":" port], where uri-host is an IP-literal, an IPv4 address or a
 * reg-name (RFC 3986 section 3.2.2). RFC 3986 lets a reg-name hold sub-delims
 * ("!$&'()*+,;="), which no DNS name contains and which are the delimiters of
 * Forwarded and X-Forwarded-*: those are refused (400), so a Host can never add
 * an element to a forwarding header (`Host: x";for=6.6.6.6`).
 */
const HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[\w.~-]+\]|(?:[\w~-]|%[0-9A-Fa-f]{2})(?:[\w.~-]|%[0-9A-Fa-f]{2})*)(?::\d{0,5})?$/;

export function isValidHost(value: string): boolean {
  if (!HOST.test(value)) return false;
  const colon = value.lastIndexOf(':');
  if (colon === -1 || value.endsWith(']')) return true;
  const port = value.slice(colon + 1);
  return port === '' || Number(port) <= 65535;
}

/**
 * Why the request's Host header cannot be passed on, or undefined when it can
 * (RFC 9110 section 7.2: more than one Host, or an invalid one, gets 400;
 * HTTP/1.0 requests may have none).
 */
export function hostProblem(request: IncomingMessage): string | undefined {
  let host: string | undefined;
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') {
      if (host !== undefined) return 'more than one Host header';
      host = raw[i + 1]!;
    }
  }
  if (host === undefined) return request.httpVersion === '1.0' ? undefined : 'no Host header';
  return isValidHost(host) ? undefined : `invalid Host header ${JSON.stringify(host)}`;
}

/**
 * `clientIp` is the client's address as resolved through trusted proxies: it
 * becomes X-Real-IP (the name nginx setups commonly use for it).
 */
export function forwardingHeaders(
  request: IncomingMessage,
  trustedPeer: boolean,
  clientIp: string,
): Record<string, string> {
  const socket = request.socket;
  let peer = socket.remoteAddress ?? 'unknown';
  if (peer.startsWith('::ffff:') && peer.includes('.')) peer = peer.slice(7);
  const proto = (socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = request.headers.host ?? '';
  const priorFor = trustedPeer ? joined(request.headers['x-forwarded-for']) : undefined;
  const priorForwarded = trustedPeer ? joined(request.headers.forwarded) : undefined;
  const element = `for=${forwardedNode(peer)};proto=${proto}${host ? `;host=${quotedString(host)}` : ''}`;
  return {
    'X-Forwarded-For': priorFor ? `${priorFor}, ${peer}` : peer,
    // Proto and Host describe the original request: keep a trusted hop's values.
    'X-Forwarded-Proto': (trustedPeer && joined(request.headers['x-forwarded-proto'])) || proto,
    'X-Forwarded-Host': (trustedPeer && joined(request.headers['x-forwarded-host'])) || host,
    Forwarded: priorForwarded ? `${priorForwarded}, ${element}` : element,
    'X-Real-IP': clientIp,
  };
}

/** The client's upgrade request head for a backend: its own headers minus forwarding ones, plus ours. */
export function upgradeRequestHead(request: IncomingMessage, ours: Record<string, string>): string {
  let out = `${request.method} ${request.url} HTTP/1.1\r\n`;
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!FORWARDING_HEADERS.has(raw[i]!.toLowerCase())) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  for (const [name, value] of Object.entries(ours)) out += `${name}: ${value}\r\n`;
  return `${out}\r\n`;
}
