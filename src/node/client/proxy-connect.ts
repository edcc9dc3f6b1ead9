import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { HandshakeError } from '../../protocol/errors.js';

/**
 * Reaching a WebSocket server through an HTTP proxy: an HTTP CONNECT tunnel to
 * host:port (RFC 9110 section 9.3.6), then TLS inside it for wss://. Works the
 * same for ws:// and wss://, and through any proxy that allows CONNECT.
 */

/** The proxy to use for `target`, from the option or HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
export function proxyFor(target: URL, option: string | false | undefined, env = process.env): URL | null {
  if (option === false) return null;
  let proxy = option;
  if (proxy === undefined) {
    const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((h) => h.trim().toLowerCase());
    const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    // Loopback never goes through an inherited proxy.
    if (host === 'localhost' || host === '::1' || host.startsWith('127.')) return null;
    if (
      noProxy.some(
        (h) =>
          h === '*' ||
          (h !== '' && (host === h.replace(/^\./, '') || host.endsWith(`.${h.replace(/^\./, '')}`))),
      )
    ) {
      return null;
    }
    proxy =
      target.protocol === 'wss:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
    if (!proxy) return null;
  }
  try {
    const url = new URL(proxy);
    if (url.protocol !== 'http:') throw new Error();
    return url;
  } catch {
    throw new SyntaxError(`proxy must be an http:// URL; got ${JSON.stringify(proxy)}`);
  }
}

export interface TunnelTarget {
  host: string;
  port: number;
  secure: boolean;
  tlsOptions: tls.ConnectionOptions;
}

/** Open a tunnel and hand the (TLS-wrapped, for wss) socket to `done`. */
export function connectThroughProxy(
  proxy: URL,
  target: TunnelTarget,
  done: (error: Error | null, socket?: Duplex) => void,
): void {
  const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const headers: Record<string, string> = { Host: authority };
  if (proxy.username) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['Proxy-Authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const request = http.request({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: Number(proxy.port || 80),
    method: 'CONNECT',
    path: authority,
    headers,
    agent: false,
  });
  request.once('connect', (response: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      return done(
        new HandshakeError(
          `proxy ${proxy.host} refused the tunnel to ${authority}: ${response.statusCode} ${response.statusMessage ?? ''}`.trim(),
          response.statusCode,
          response.headers,
        ),
      );
    }
    if (head.length > 0) socket.unshift(head);
    if (!target.secure) return done(null, socket);
    const secure = tls.connect({ ...target.tlsOptions, socket });
    secure.once('secureConnect', () => done(null, secure));
    secure.once('error', (error) => done(error));
  });
  request.once('error', (error) => done(new Error(`cannot reach proxy ${proxy.host}: ${error.message}`)));
  request.end();
}
