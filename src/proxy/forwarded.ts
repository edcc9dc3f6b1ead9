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
]);

function joined(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** RFC 7239 node: IPv6 addresses are quoted and bracketed. */
function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

export function forwardingHeaders(request: IncomingMessage, trustedPeer: boolean): Record<string, string> {
  const socket = request.socket;
  let peer = socket.remoteAddress ?? 'unknown';
  if (peer.startsWith('::ffff:') && peer.includes('.')) peer = peer.slice(7);
  const proto = (socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = request.headers.host ?? '';
  const priorFor = trustedPeer ? joined(request.headers['x-forwarded-for']) : undefined;
  const priorForwarded = trustedPeer ? joined(request.headers.forwarded) : undefined;
  const element = `for=${forwardedNode(peer)};proto=${proto}${host ? `;host="${host}"` : ''}`;
  return {
    'X-Forwarded-For': priorFor ? `${priorFor}, ${peer}` : peer,
    // Proto and Host describe the original request: keep a trusted hop's values.
    'X-Forwarded-Proto': (trustedPeer && joined(request.headers['x-forwarded-proto'])) || proto,
    'X-Forwarded-Host': (trustedPeer && joined(request.headers['x-forwarded-host'])) || host,
    Forwarded: priorForwarded ? `${priorForwarded}, ${element}` : element,
  };
}
