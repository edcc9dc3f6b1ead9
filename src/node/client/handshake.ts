import type { ClientRequest, IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { HandshakeError } from '../../protocol/errors.js';
import { buildRequestHeaders, generateKey, validateServerResponse } from '../../protocol/handshake.js';
import { headerString } from '../../protocol/headers.js';
import { acceptResponse, buildOffer, EXTENSION_NAME } from '../../protocol/permessage-deflate.js';
import { MAX_ERROR_BODY } from '../defaults.js';
import { PerMessageDeflate } from '../deflate.js';
import { HeartbeatMonitor, type Monitored } from '../heartbeat.js';
import { kAttach, kFailHandshake, kRestartHandshake } from '../internal.js';
import type { FlowSettings } from '../options.js';
import { withUrlCredentials } from './credentials.js';
import { type ClientOptions, resolveClientConfig } from './options.js';
import { connectThroughProxy, proxyFor } from './proxy-connect.js';
import { decideRedirect } from './redirects.js';
import { parseSubprotocols, parseWebSocketUrl } from './url.js';

/**
 * The client's opening handshake over node:http / node:https (RFC 6455
 * section 4.1). It drives whatever implements HandshakeTarget: it knows
 * nothing of the WebSocket class, which starts it.
 */

/** What the handshake needs from the socket it opens. */
export interface HandshakeTarget extends Monitored {
  url: string;
  protocol: string;
  extensions: string;
  /** Take over the upgraded socket. */
  [kAttach](
    socket: Duplex,
    head: Buffer,
    role: 'client',
    settings: {
      maxMessageSize: number;
      maxFrameSize: number;
      closeTimeout: number;
      autoPong: boolean;
      flow: FlowSettings;
    },
    deflate?: PerMessageDeflate,
  ): void;
  [kFailHandshake](error: Error): void;
  /** A redirect: `start` begins the next handshake and returns its abort function. */
  [kRestartHandshake](start: () => (reason: string) => void): void;
  /** 'upgrade' (the 101 response, e.g. for Set-Cookie), then 'open'. */
  emit(event: 'upgrade', response: IncomingMessage): boolean;
  emit(event: 'open'): boolean;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Validate options, send the upgrade request and wire up the outcome. Returns a
 * function that aborts the handshake. Synchronous errors are only for bad
 * arguments; network and handshake failures arrive through kFailHandshake.
 */
export function startClientHandshake(
  ws: HandshakeTarget,
  address: string | URL,
  protocols: string | readonly string[] | undefined,
  options: ClientOptions,
): (reason: string) => void {
  const config = resolveClientConfig(options);
  const url = parseWebSocketUrl(address);
  const offered = parseSubprotocols(protocols);
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
  const deflateOptions = config.deflate;
  const requestOptions: https.RequestOptions = {
    hostname,
    port,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: buildRequestHeaders(key, {
      protocols: offered,
      // ws://user:pass@host/: Basic authentication, unless an Authorization header was given.
      headers: withUrlCredentials(url, config.headers),
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
    () => fail(new HandshakeError(`opening handshake timed out after ${config.handshakeTimeout} ms`)),
    config.handshakeTimeout,
  );

  request.on('error', (error) => fail(error));
  request.on('response', (response: IncomingMessage) => {
    const redirect = decideRedirect(response, url, options, config.followRedirects);
    if (redirect.kind !== 'none') {
      response.resume();
      if (redirect.kind === 'fail') return fail(redirect.error);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws[kRestartHandshake](() => startClientHandshake(ws, redirect.url, protocols, redirect.options));
      return;
    }
    if (response.statusCode === 101) {
      // Node only treats a 101 as an upgrade when it names one; say what was missing.
      const check = validateServerResponse(response.headers, key, { protocols: offered, extensionNames });
      response.destroy();
      const reason = check.ok ? 'the server answered 101 without upgrading' : check.reason;
      fail(new HandshakeError(reason, 101, response.headers));
      return;
    }
    readRefusal(response, fail);
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
    ws.extensions = headerString(response.headers, 'sec-websocket-extensions') ?? '';
    const deflate =
      params && typeof params === 'object' && deflateOptions
        ? new PerMessageDeflate(params, 'client', deflateOptions, config.connection.maxMessageSize)
        : undefined;
    ws[kAttach](socket, head, 'client', config.connection, deflate);
    if (config.heartbeat.interval > 0) {
      // Dead-server detection: the same monitor servers use, for this one connection.
      const monitor = new HeartbeatMonitor(config.heartbeat, () => [ws]);
      monitor.start();
      ws.once('close', () => monitor.stop());
    }
    ws.emit('upgrade', response);
    ws.emit('open');
  });
  request.end();

  return (reason: string) => fail(new HandshakeError(reason));
}

/** Anything but 101: keep the start of the body so the caller can see why. */
function readRefusal(response: IncomingMessage, fail: (error: Error) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (size < MAX_ERROR_BODY) chunks.push(chunk.subarray(0, MAX_ERROR_BODY - size));
    size += chunk.length;
  });
  const done = () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const status = response.statusCode ?? 0;
    const firstLine = (body.split('\n')[0] ?? '').trim();
    const message =
      `server answered ${status} ${response.statusMessage ?? ''} instead of 101${firstLine ? `: ${firstLine}` : ''}`.replace(
        /\s+/g,
        ' ',
      );
    fail(new HandshakeError(message, status, response.headers, body));
  };
  response.on('end', done);
  response.on('error', done);
}
