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

export interface Hop {
  for?: string;
  proto?: string;
}

/** RFC 9110 §5.6.2 tchar. */
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

/**
 * Parses Forwarded (RFC 7239 §4): elements separated by ",", pairs by ";",
 * values are tokens or quoted-strings with backslash escapes (RFC 9110 §5.6.4).
 * Commas and semicolons inside quotes belong to the value: splitting on them
 * first would let one quoted value such as `host="x,for=6.6.6.6"` forge a hop.
 * A malformed header yields null and is not believed at all.
 */
export function parseForwarded(header: string): Hop[] | null {
  const hops: Hop[] = [];
  let hop: Hop = {};
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  for (;;) {
    skipSpace();
    if (i < n && header[i] !== ',' && header[i] !== ';') {
      const keyStart = i;
      while (i < n && TCHAR.test(header[i]!)) i++;
      const key = header.slice(keyStart, i).toLowerCase();
      if (key === '' || header[i] !== '=') return null;
      i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) return null;
          const c = header[i++]!;
          if (c === '"') break;
          if (c === '\\') {
            if (i >= n) return null;
            value += header[i++];
          } else value += c;
        }
      } else {
        const valueStart = i;
        while (i < n && TCHAR.test(header[i]!)) i++;
        value = header.slice(valueStart, i);
        if (value === '') return null;
      }
      if (key === 'for') hop.for = value;
      if (key === 'proto') hop.proto = value.toLowerCase();
    }
    skipSpace();
    if (i >= n) {
      hops.push(hop);
      return hops;
    }
    const separator = header[i++];
    if (separator === ',') {
      hops.push(hop);
      hop = {};
    } else if (separator !== ';') return null;
  }
}

function forwardedHops(request: IncomingMessage): Hop[] | null {
  const forwarded = request.headers.forwarded;
  if (forwarded) return parseForwarded(forwarded) ?? [];
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
