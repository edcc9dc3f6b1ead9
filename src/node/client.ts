import type { ClientRequest, IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { HandshakeError } from '../protocol/errors.js';
import { buildRequestHeaders, generateKey, validateServerResponse } from '../protocol/handshake.js';
import { isToken } from '../protocol/headers.js';
import { acceptResponse, buildOffer, EXTENSION_NAME } from '../protocol/permessage-deflate.js';
import { DEFAULTS, MAX_ERROR_BODY } from './defaults.js';
import { checkDeflateOption, type DeflateOptions, PerMessageDeflate } from './deflate.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { kAttach, kFailHandshake, kRestartHandshake } from './internal.js';
import {
  checkBoolean,
  checkConnectionOptions,
  checkFlowOptions,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkString,
  FLOW_OPTIONS,
} from './options.js';
import { connectThroughProxy, proxyFor } from './proxy-connect.js';
import type { WebSocket } from './websocket.js';

/** The client's opening handshake over node:http / node:https. */

export interface ClientOptions {
  /** Extra request headers (e.g. Authorization, Origin, Cookie). */
  headers?: Record<string, string>;
  /** Milliseconds for the TCP/TLS connect and the handshake together (default 30000). */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest frame accepted, in bytes (default: maxMessageSize). */
  maxFrameSize?: number;
  /** Milliseconds to wait for the closing handshake before dropping TCP (default 30000). */
  closeTimeout?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /** TLS: trusted CA certificates (PEM), replacing the default roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** TLS: client certificate and key (PEM), for servers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** TLS: verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** TLS: SNI server name (default: the URL's host name, unless it is an IP address). */
  servername?: string;
  /**
   * Follow up to this many HTTP redirects (301/302/303/307/308) during the
   * handshake (default 0: a redirect is an error). Custom headers and the
   * client certificate are not carried to another host.
   */
  followRedirects?: number;
  /** Ping the server after this many quiet ms (default 0: off). */
  heartbeatInterval?: number;
  /** With heartbeats: drop (1006) a server that sends nothing within this many ms of a ping (default 10000). */
  heartbeatTimeout?: number;
  /**
   * An http:// proxy to tunnel through (HTTP CONNECT), false for none. Default:
   * HTTPS_PROXY (wss) / HTTP_PROXY (ws) from the environment, honouring NO_PROXY.
   */
  proxy?: string | false;
  /** Offer permessage-deflate (RFC 7692): true (default), false, or options. */
  perMessageDeflate?: boolean | DeflateOptions;
  /** Backpressure, as on the server (but no maxBufferedAmount cap by default). */
  highWaterMark?: number;
  lowWaterMark?: number;
  maxBufferedAmount?: number;
  slowConsumer?: 'close' | 'drop';
}

const CLIENT_OPTIONS = [
  'headers',
  'handshakeTimeout',
  'maxMessageSize',
  'maxFrameSize',
  'closeTimeout',
  'autoPong',
  'ca',
  'cert',
  'key',
  'rejectUnauthorized',
  'servername',
  'perMessageDeflate',
  'proxy',
  'heartbeatInterval',
  'heartbeatTimeout',
  'followRedirects',
  ...FLOW_OPTIONS,
] as const;

const WHAT = 'WebSocket client';

export function parseWebSocketUrl(address: string | URL): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new SyntaxError(`invalid WebSocket URL ${JSON.stringify(String(address))}`);
  }
  // http(s) are accepted as the WHATWG API does, and mapped to ws(s).
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new SyntaxError(`WebSocket URL must start with ws:// or wss://; got ${JSON.stringify(url.href)}`);
  }
  url.hash = '';
  return url;
}

/**
 * Validate options, send the upgrade request and wire up the outcome. Returns a
 * function that aborts the handshake. Synchronous errors are only for bad
 * arguments; network and handshake failures arrive through kFailHandshake.
 */
export function startClientHandshake(
  ws: WebSocket,
  address: string | URL,
  protocols: string | string[] | undefined,
  options: ClientOptions,
): (reason: string) => void {
  checkKnownKeys(WHAT, options, CLIENT_OPTIONS);
  const handshakeTimeout =
    checkMilliseconds(WHAT, 'handshakeTimeout', options.handshakeTimeout) ?? DEFAULTS.handshakeTimeout;
  const settings = {
    ...checkConnectionOptions(WHAT, options, DEFAULTS.maxMessageSize),
    flow: checkFlowOptions(WHAT, options, DEFAULTS.clientMaxBufferedAmount),
  };
  checkBoolean(WHAT, 'rejectUnauthorized', options.rejectUnauthorized);
  checkString(WHAT, 'servername', options.servername);
  const deflateOptions = checkDeflateOption(
    WHAT,
    options.perMessageDeflate ?? DEFAULTS.clientPerMessageDeflate,
  );
  const followRedirects =
    checkInteger(WHAT, 'followRedirects', options.followRedirects, 0, 20) ?? DEFAULTS.followRedirects;
  const heartbeatInterval =
    checkMilliseconds(WHAT, 'heartbeatInterval', options.heartbeatInterval, 0) ??
    DEFAULTS.clientHeartbeatInterval;
  const heartbeatTimeout =
    checkMilliseconds(WHAT, 'heartbeatTimeout', options.heartbeatTimeout) ?? DEFAULTS.heartbeatTimeout;

  const url = parseWebSocketUrl(address);
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  for (const p of offered) {
    if (typeof p !== 'string' || !isToken(p)) {
      throw new SyntaxError(`subprotocol ${JSON.stringify(p)} is not a valid token`);
    }
  }
  if (new Set(offered).size !== offered.length) throw new SyntaxError('subprotocols must not repeat');

  ws.url = url.href;
  const secure = url.protocol === 'wss:';
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const key = generateKey();
  const proxy = proxyFor(url, options.proxy);
  const tlsOptions: tls.ConnectionOptions = {
    servername: options.servername ?? (net.isIP(hostname) ? undefined : hostname),
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    ALPNProtocols: ['http/1.1'],
  };

  const requestOptions: https.RequestOptions = {
    hostname,
    port,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: buildRequestHeaders(key, {
      protocols: offered,
      headers: options.headers,
      extensions: deflateOptions ? buildOffer(deflateOptions) : undefined,
    }),
    // Our own connect function: a fresh socket, never a pooled keep-alive one,
    // directly or through a CONNECT tunnel.
    createConnection: (_options: unknown, done: (error: Error | null, socket: Duplex) => void) => {
      if (proxy) {
        connectThroughProxy(proxy, { host: hostname, port, secure, tlsOptions }, (error, socket) =>
          done(error, socket as Duplex),
        );
        return undefined;
      }
      return secure
        ? tls.connect({ ...tlsOptions, host: hostname, port })
        : net.connect({ host: hostname, port });
    },
  };

  const extensionNames = deflateOptions ? [EXTENSION_NAME] : [];
  let settled = false;
  const request: ClientRequest = (secure ? https : http).request(requestOptions);
  const fail = (error: Error) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    request.destroy();
    ws[kFailHandshake](error);
  };
  const timer = setTimeout(
    () => fail(new HandshakeError(`opening handshake timed out after ${handshakeTimeout} ms`)),
    handshakeTimeout,
  );

  request.on('error', (error) => fail(error));
  request.on('response', (response: IncomingMessage) => {
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (followRedirects > 0 && [301, 302, 303, 307, 308].includes(status) && location) {
      response.resume();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      let next: URL;
      try {
        next = parseWebSocketUrl(new URL(location, url.href.replace(/^ws/, 'http')));
      } catch (error) {
        ws[kFailHandshake](
          new HandshakeError(`bad redirect to ${location}: ${(error as Error).message}`, status),
        );
        return;
      }
      // Credentials stay with the host they were meant for.
      const sameHost = next.host === url.host;
      const nextOptions: ClientOptions = sameHost
        ? { ...options, followRedirects: followRedirects - 1 }
        : {
            ...options,
            headers: undefined,
            cert: undefined,
            key: undefined,
            followRedirects: followRedirects - 1,
          };
      ws[kRestartHandshake](() => startClientHandshake(ws, next, protocols, nextOptions));
      return;
    }
    if (
      [301, 302, 303, 307, 308].includes(status) &&
      options.followRedirects !== undefined &&
      followRedirects === 0
    ) {
      response.resume();
      fail(
        new HandshakeError(`too many redirects (the last to ${location ?? '?'})`, status, response.headers),
      );
      return;
    }
    if (response.statusCode === 101) {
      // Node only treats a 101 as an upgrade when it names one; say what was missing.
      const check = validateServerResponse(response.headers, key, { protocols: offered, extensionNames });
      response.destroy();
      fail(
        new HandshakeError(
          check.ok ? 'the server answered 101 without upgrading' : check.reason,
          101,
          response.headers,
        ),
      );
      return;
    }
    // Anything but 101: keep the start of the body so the caller can see why.
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(chunk.subarray(0, MAX_ERROR_BODY - size));
      size += chunk.length;
    });
    const done = () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = response.statusCode ?? 0;
      const firstLine = body.split('\n')[0]!.trim();
      fail(
        new HandshakeError(
          `server answered ${status} ${response.statusMessage ?? ''} instead of 101${firstLine ? `: ${firstLine}` : ''}`.replace(
            /\s+/g,
            ' ',
          ),
          status,
          response.headers,
          body,
        ),
      );
    };
    response.on('end', done);
    response.on('error', done);
  });
  request.on('upgrade', (response: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (settled) {
      socket.destroy();
      return;
    }
    const check = validateServerResponse(response.headers, key, { protocols: offered, extensionNames });
    const params = check.ok && deflateOptions ? acceptResponse(check.extensions, deflateOptions) : null;
    const problem = !check.ok ? check.reason : typeof params === 'string' ? params : undefined;
    if (problem !== undefined) {
      socket.destroy();
      fail(new HandshakeError(problem, response.statusCode, response.headers));
      return;
    }
    settled = true;
    clearTimeout(timer);
    ws.protocol = check.ok ? check.protocol : '';
    ws.extensions = headerValue(response.headers['sec-websocket-extensions']);
    const deflate =
      params && typeof params === 'object'
        ? new PerMessageDeflate(params, 'client', deflateOptions!, settings.maxMessageSize)
        : undefined;
    ws[kAttach](socket, head, 'client', settings, deflate);
    if (heartbeatInterval > 0) {
      // Dead-server detection: the same monitor servers use, for this one connection.
      const monitor = new HeartbeatMonitor(
        { interval: heartbeatInterval, timeout: heartbeatTimeout, idleTimeout: 0 },
        () => [ws],
      );
      monitor.start();
      ws.once('close', () => monitor.stop());
    }
    ws.emit('open');
  });
  request.end();

  return (reason: string) => fail(new HandshakeError(reason));
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}
