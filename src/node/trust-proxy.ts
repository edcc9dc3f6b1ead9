import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * Who is the client behind reverse proxies? Forwarded (RFC 7239) or
 * X-Forwarded-For/-Proto are believed only as far as the hops that wrote them
 * are trusted: walking the list from the nearest hop outwards, the first
 * address that is not a trusted proxy is the client. Anything else would let
 * a client pick its own address by sending the header itself.
 */

export type TrustProxy = boolean | string[];

export interface ClientInfo {
  address: string;
  secure: boolean;
}

function normalize(address: string): string {
  let a = address.trim().replace(/^"|"$/g, '');
  if (a.startsWith('['))
    a = a.slice(1, a.indexOf(']')); // "[2001:db8::1]:4711"
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':')); // "192.0.2.1:8080"
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

interface Hop {
  for?: string;
  proto?: string;
}

function forwardedHops(request: IncomingMessage): Hop[] | null {
  const forwarded = request.headers.forwarded;
  if (forwarded) {
    return forwarded.split(',').map((element) => {
      const hop: Hop = {};
      for (const pair of element.split(';')) {
        const eq = pair.indexOf('=');
        if (eq === -1) continue;
        const key = pair.slice(0, eq).trim().toLowerCase();
        const value = pair
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, '');
        if (key === 'for') hop.for = value;
        if (key === 'proto') hop.proto = value.toLowerCase();
      }
      return hop;
    });
  }
  const xff = request.headers['x-forwarded-for'];
  if (!xff) return null;
  const list = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((a) => ({ for: a.trim() }) as Hop);
  const xfp = request.headers['x-forwarded-proto'];
  const protos = xfp
    ? (Array.isArray(xfp) ? xfp.join(',') : xfp).split(',').map((p) => p.trim().toLowerCase())
    : [];
  // X-Forwarded-Proto is usually one value, set by the proxy nearest the client that terminated TLS.
  if (protos.length > 0 && list.length > 0) list[list.length - 1]!.proto = protos[protos.length - 1];
  return list;
}

export function resolveClient(request: IncomingMessage, trust: TrustProxy | undefined): ClientInfo {
  const socket = request.socket;
  const direct: ClientInfo = {
    address: normalize(socket.remoteAddress ?? ''),
    secure: (socket as TLSSocket).encrypted === true,
  };
  if (!trust) return direct;
  const trusted = (address: string) => trust === true || trust.includes(address);
  if (!trusted(direct.address)) return direct;
  const hops = forwardedHops(request);
  if (!hops || hops.length === 0) return direct;
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!hop.for) break;
    client = {
      address: normalize(hop.for),
      secure: hop.proto !== undefined ? hop.proto === 'https' || hop.proto === 'wss' : client.secure,
    };
    if (!trusted(client.address)) break;
  }
  return client;
}
