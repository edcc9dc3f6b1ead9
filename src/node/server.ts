import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { CloseCode } from '../protocol/constants.js';
import { encodeFrame, encodeTextFrame } from '../protocol/frame-encoder.js';
import { buildAcceptResponse, validateClientRequest } from '../protocol/handshake.js';
import { acceptOffer } from '../protocol/permessage-deflate.js';
import { DEFAULTS, JOIN_BROADCAST_BELOW, MAX_INT32 } from './defaults.js';
import { checkDeflateOption, type DeflateOptions, PerMessageDeflate } from './deflate.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { kAttach, kCloseUnchecked, kServerClose, kTopics, kWriteFrame } from './internal.js';
import {
  checkBoolean,
  checkConnectionOptions,
  checkFlowOptions,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkString,
  FLOW_OPTIONS,
} from './options.js';
import { readRequestHead, wantsUpgrade } from './request-head.js';
import { type SendData, toBuffer } from './send-queue.js';
import { resolveClient, type TrustProxy } from './trust-proxy.js';
import { addRoute, pathOf, rejectSocket, removeRoute, type UpgradeRoute } from './upgrade-router.js';
import { type ConnectionSettings, WebSocket } from './websocket.js';

/**
 * Accepts WebSocket connections: standalone on a port (ws:// or, with `tls`,
 * wss://), attached to an existing http/https server (several servers with
 * different paths may share one), or fed by the application through
 * handleUpgrade() (Express, Fastify, Koa, ...).
 */

export type ProtocolSelector = (
  offered: string[],
  request: http.IncomingMessage,
) => string | false | undefined;

/**
 * The result of `authenticate`: accept (optionally attaching `user` to the
 * WebSocket), or refuse with an HTTP status, a short body and headers.
 */
export type AuthResult =
  | undefined
  | { user?: unknown }
  | { reject: number; body?: string; headers?: Record<string, string> };

export type Authenticator = (request: http.IncomingMessage) => AuthResult | Promise<AuthResult>;

export interface ServerOptions {
  /** Listen on this port (0 picks a free one). */
  port?: number;
  host?: string;
  /** Serve wss://: options for https.createServer (cert, key, ca, ...). Standalone only. */
  tls?: https.ServerOptions;
  /** Attach to an existing http or https server instead of listening. */
  server?: http.Server | https.Server;
  /** Neither listen nor attach: the application calls handleUpgrade(). */
  noServer?: boolean;
  /** Serve only this exact path (query strings ignored); others get 404. Default: every path. */
  path?: string;
  /** Subprotocols this server speaks, in preference order of the client's offer. */
  protocols?: string[];
  /** Custom subprotocol choice; return the one to use, or false/undefined for none. */
  handleProtocols?: ProtocolSelector;
  /** Largest message accepted, in bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest frame accepted, in bytes (default: maxMessageSize). */
  maxFrameSize?: number;
  /** Milliseconds to wait for the closing handshake before dropping TCP (default 30000). */
  closeTimeout?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /**
   * permessage-deflate (RFC 7692): true, or options (context takeover, window
   * bits, threshold, level, memLevel). Default false: compression costs memory
   * per connection (see the README). When on, serverNoContextTakeover defaults
   * to true (the server's deflate context is freed after each message).
   */
  perMessageDeflate?: boolean | DeflateOptions;
  /**
   * Decide on each handshake before it completes: sees the request (headers,
   * URL, `request.socket.remoteAddress`, and on TLS `getPeerCertificate()`).
   * May be async. Throwing answers 500.
   */
  authenticate?: Authenticator;
  /** Standalone servers: ms a client has to send its request headers (slowloris guard; default 10000). */
  handshakeTimeout?: number;
  /** Standalone servers: largest request head in bytes; larger ones get 431 (default 16384). */
  maxHeaderSize?: number;
  /** Close (1008) a connection that sends more data messages than this per second (0: no limit). */
  maxMessageRate?: number;
  /**
   * Behind reverse proxies: take the client's address and scheme from Forwarded /
   * X-Forwarded-For / X-Forwarded-Proto, believing only these proxy addresses
   * (or every hop with true). Sets ws.clientAddress / ws.clientSecure and the
   * address the per-IP limit counts. Default false: the socket's peer.
   */
  trustProxy?: TrustProxy;
  /** send() returns false once this many bytes are buffered (default 64 KiB). */
  highWaterMark?: number;
  /** 'drain' fires when the buffer falls to this many bytes (default 16 KiB). */
  lowWaterMark?: number;
  /** Once this many bytes are buffered for a connection, the slowConsumer policy applies to further sends (default 16 MiB; 0: no cap). */
  maxBufferedAmount?: number;
  /** At the cap: 'close' the connection (1013) or 'drop' the message ('drop' event). Default 'close'. */
  slowConsumer?: 'close' | 'drop';
  /** Most open connections (0: no limit); beyond it handshakes get 503. */
  maxConnections?: number;
  /** Most open connections per remote address (0: no limit); beyond it handshakes get 429. */
  maxConnectionsPerIp?: number;
  /** Allowed Origin values (e.g. "https://example.com"); others get 403. Requests without Origin (non-browsers) pass. */
  origins?: string[];
  /** Ping connections quiet for this many ms (default 30000; 0 turns heartbeats off). */
  heartbeatInterval?: number;
  /** Terminate (1006) a peer that sends nothing within this many ms of a ping (default 10000). */
  heartbeatTimeout?: number;
  /** Close (1001) connections without a data message for this many ms (default 0: never). */
  idleTimeout?: number;
}

const SERVER_OPTIONS = [
  'port',
  'host',
  'tls',
  'server',
  'noServer',
  'path',
  'protocols',
  'handleProtocols',
  'maxMessageSize',
  'maxFrameSize',
  'closeTimeout',
  'autoPong',
  'perMessageDeflate',
  'heartbeatInterval',
  'heartbeatTimeout',
  'idleTimeout',
  'authenticate',
  'origins',
  'maxConnections',
  'maxConnectionsPerIp',
  'handshakeTimeout',
  'maxHeaderSize',
  'maxMessageRate',
  'trustProxy',
  ...FLOW_OPTIONS,
] as const;

const WHAT = 'WebSocketServer';

export interface ServerStats {
  connections: number;
  handshakesInProgress: number;
  accepted: number;
  /** Refused handshakes by reason: unknown-path, bad-handshake, unsupported-version, origin, auth-rejected, ... */
  refused: Record<string, number>;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export interface WebSocketServerEventMap {
  connection: [ws: WebSocket, request: http.IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
}

// Typed listeners for the events above (declaration merging with the class).
export interface WebSocketServer {
  on<K extends keyof WebSocketServerEventMap>(
    event: K,
    listener: (...args: WebSocketServerEventMap[K]) => void,
  ): this;
  once<K extends keyof WebSocketServerEventMap>(
    event: K,
    listener: (...args: WebSocketServerEventMap[K]) => void,
  ): this;
  off<K extends keyof WebSocketServerEventMap>(
    event: K,
    listener: (...args: WebSocketServerEventMap[K]) => void,
  ): this;
  emit<K extends keyof WebSocketServerEventMap>(event: K, ...args: WebSocketServerEventMap[K]): boolean;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only adds typed overloads of EventEmitter methods
export class WebSocketServer extends EventEmitter {
  /** Open connections. */
  readonly clients = new Set<WebSocket>();
  /** Subscribers per topic (see ws.subscribe and publish). */
  private readonly topics = new Map<string, Set<WebSocket>>();
  private readonly counters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, accepted: 0 };
  private readonly refusals: Record<string, number> = {};
  readonly path: string | undefined;
  private readonly settings: ConnectionSettings;
  private readonly protocols: string[] | undefined;
  private readonly selectProtocol: ProtocolSelector | undefined;
  /** The listening server: the application's http(s) server when attached, our own net/tls one when standalone. */
  private readonly httpServer: http.Server | https.Server | net.Server | undefined;
  /** Standalone: sockets whose request head is still arriving (dropped on close()). */
  private readonly pendingHeads = new Set<net.Socket>();
  private readonly ownsHttpServer: boolean;
  private readonly route: UpgradeRoute | undefined;
  private readonly deflateOptions: DeflateOptions | null;
  private readonly heartbeat: HeartbeatMonitor;
  private readonly authenticate: Authenticator | undefined;
  private readonly origins: Set<string> | undefined;
  private readonly trustProxy: TrustProxy | undefined;
  private readonly maxConnections: number;
  private readonly maxConnectionsPerIp: number;
  /** Open connections and handshakes in progress, per remote address. */
  private readonly perIp = new Map<string, number>();
  private pending = 0;
  private closing = false;

  constructor(options: ServerOptions, onListening?: () => void) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`${WHAT}: options must be an object with port, server or noServer`);
    }
    checkKnownKeys(WHAT, options, SERVER_OPTIONS);
    const modes = [options.port !== undefined, options.server !== undefined, options.noServer === true];
    if (modes.filter(Boolean).length !== 1) {
      throw new TypeError(`${WHAT}: give exactly one of "port", "server" or "noServer: true"`);
    }
    checkInteger(WHAT, 'port', options.port, 0, 65535);
    checkString(WHAT, 'host', options.host);
    checkBoolean(WHAT, 'noServer', options.noServer);
    const path = checkString(WHAT, 'path', options.path);
    if (path !== undefined && !path.startsWith('/')) {
      throw new TypeError(`${WHAT}: option "path" must start with "/"; got ${JSON.stringify(path)}`);
    }
    if (options.tls !== undefined && options.port === undefined) {
      throw new TypeError(
        `${WHAT}: option "tls" is for standalone servers (with "port"); attach to an https server instead`,
      );
    }
    if (
      options.protocols !== undefined &&
      !(Array.isArray(options.protocols) && options.protocols.every((p) => typeof p === 'string'))
    ) {
      throw new TypeError(`${WHAT}: option "protocols" must be an array of strings`);
    }
    this.settings = {
      ...checkConnectionOptions(WHAT, options, DEFAULTS.maxMessageSize),
      stats: this.counters,
      flow: checkFlowOptions(WHAT, options, DEFAULTS.serverMaxBufferedAmount),
      maxMessageRate:
        checkInteger(WHAT, 'maxMessageRate', options.maxMessageRate, 0, MAX_INT32, 'per second') ??
        DEFAULTS.maxMessageRate,
    };
    const handshakeTimeout = checkMilliseconds(WHAT, 'handshakeTimeout', options.handshakeTimeout);
    const maxHeaderSize = checkInteger(
      WHAT,
      'maxHeaderSize',
      options.maxHeaderSize,
      1024,
      1024 * 1024,
      'bytes',
    );
    if ((handshakeTimeout !== undefined || maxHeaderSize !== undefined) && options.port === undefined) {
      throw new TypeError(
        `${WHAT}: "handshakeTimeout" and "maxHeaderSize" apply to standalone servers; set headersTimeout and maxHeaderSize on your own HTTP server`,
      );
    }
    this.path = path;
    this.protocols = options.protocols;
    this.selectProtocol = checkFunction<ProtocolSelector>(WHAT, 'handleProtocols', options.handleProtocols);
    const deflateOptions = checkDeflateOption(WHAT, options.perMessageDeflate);
    // A deflate context costs ~256 KiB; held for the life of every connection it
    // dominates memory. The server may always decline its own context takeover,
    // so by default it does, and frees the context after each message.
    this.deflateOptions = deflateOptions && { serverNoContextTakeover: true, ...deflateOptions };
    this.authenticate = checkFunction<Authenticator>(WHAT, 'authenticate', options.authenticate);
    const trust = options.trustProxy;
    if (
      trust !== undefined &&
      typeof trust !== 'boolean' &&
      !(Array.isArray(trust) && trust.every((a) => typeof a === 'string'))
    ) {
      throw new TypeError(`${WHAT}: option "trustProxy" must be true, false or an array of proxy addresses`);
    }
    this.trustProxy = trust;
    this.maxConnections =
      checkInteger(WHAT, 'maxConnections', options.maxConnections, 0, MAX_INT32) ?? DEFAULTS.maxConnections;
    this.maxConnectionsPerIp =
      checkInteger(WHAT, 'maxConnectionsPerIp', options.maxConnectionsPerIp, 0, MAX_INT32) ??
      DEFAULTS.maxConnectionsPerIp;
    if (options.origins !== undefined) {
      if (!Array.isArray(options.origins) || !options.origins.every((o) => typeof o === 'string')) {
        throw new TypeError(
          `${WHAT}: option "origins" must be an array of strings such as "https://example.com"`,
        );
      }
      this.origins = new Set(options.origins.map((o) => o.toLowerCase()));
    }
    this.heartbeat = new HeartbeatMonitor(
      {
        interval:
          checkMilliseconds(WHAT, 'heartbeatInterval', options.heartbeatInterval, 0) ??
          DEFAULTS.serverHeartbeatInterval,
        timeout:
          checkMilliseconds(WHAT, 'heartbeatTimeout', options.heartbeatTimeout) ?? DEFAULTS.heartbeatTimeout,
        idleTimeout: checkMilliseconds(WHAT, 'idleTimeout', options.idleTimeout, 0) ?? DEFAULTS.idleTimeout,
      },
      () => this.clients,
    );

    if (options.noServer) {
      this.ownsHttpServer = false;
      return;
    }
    this.ownsHttpServer = options.port !== undefined;
    if (!this.ownsHttpServer) {
      // Attached: share the server's 'upgrade' event with other endpoints, by path.
      const server = options.server!;
      this.httpServer = server;
      this.route = { path, handle: (req, socket, head) => this.handleUpgrade(req, socket, head) };
      addRoute(server, this.route);
    } else {
      // Standalone: a plain net/tls server reading request heads itself (request-head.ts):
      // no http.Server state stays with each upgraded socket.
      const limits = {
        timeout: handshakeTimeout ?? DEFAULTS.requestHeadTimeout,
        maxHeaderSize: maxHeaderSize ?? DEFAULTS.maxHeaderSize,
      };
      const accept = (socket: net.Socket) => this.readHead(socket, limits);
      const server = options.tls
        ? tls.createServer({ handshakeTimeout: limits.timeout, ...options.tls }, accept)
        : net.createServer(accept);
      if (options.tls) server.on('tlsClientError', (_error, socket) => socket.destroy());
      this.httpServer = server;
      server.on('error', (error) => this.emit('error', error));
      server.on('listening', () => this.emit('listening'));
      if (onListening) this.once('listening', onListening);
      server.listen(options.port, options.host);
    }
  }

  /** The listening address (standalone or attached), as net.Server.address() gives it. */
  address(): AddressInfo | string | null {
    if (!this.httpServer) throw new Error(`${WHAT}: a noServer server has no address`);
    return this.httpServer.address();
  }

  /**
   * Send one message to every open connection (or those `filter` accepts). The
   * frame is encoded once and the same bytes are written to every socket; it
   * goes uncompressed, which RFC 7692 allows on compressed connections too.
   * Returns the number of recipients.
   */
  broadcast(data: SendData, options: { binary?: boolean; filter?: (ws: WebSocket) => boolean } = {}): number {
    const frame = encodeOnce(data, options.binary);
    let sent = 0;
    for (const ws of this.clients) {
      if ((!options.filter || options.filter(ws)) && ws[kWriteFrame](frame)) sent++;
    }
    return sent;
  }

  /** Send one message to the subscribers of `topic`, framed once. Returns the number of recipients. */
  publish(topic: string, data: SendData, options: { binary?: boolean } = {}): number {
    const members = this.topics.get(topic);
    if (!members) return 0;
    const frame = encodeOnce(data, options.binary);
    let sent = 0;
    for (const ws of members) if (ws[kWriteFrame](frame)) sent++;
    return sent;
  }

  /** Number of subscribers of a topic. */
  subscribers(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /**
   * A snapshot of live counts: open connections, messages and bytes in and out
   * (closed connections included), accepted handshakes and refusals by reason.
   */
  stats(): ServerStats {
    let bytesIn = this.counters.bytesIn;
    let bytesOut = this.counters.bytesOut;
    for (const ws of this.clients) {
      bytesIn += ws.bytesReceived;
      bytesOut += ws.bytesSent;
    }
    return {
      connections: this.clients.size,
      handshakesInProgress: this.pending,
      accepted: this.counters.accepted,
      refused: { ...this.refusals },
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      bytesIn,
      bytesOut,
    };
  }

  private refuse(
    reason: string,
    socket: Duplex,
    status: number,
    body: string,
    headers?: Record<string, string | number>,
  ): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    rejectSocket(socket, status, body, headers);
  }

  /** Resolves once listening (standalone servers); attached servers resolve at once. */
  listening(): Promise<void> {
    if (!this.httpServer || this.httpServer.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.httpServer!.once('listening', resolve);
      this.httpServer!.once('error', reject);
    });
  }

  /**
   * Complete (or refuse) a WebSocket handshake for a request the application
   * received in its 'upgrade' handler. Emits 'connection' and calls the callback
   * with the new WebSocket on success; a refused request gets its HTTP error.
   */
  handleUpgrade(
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback?: (ws: WebSocket, request: http.IncomingMessage) => void,
  ): void {
    // Errors on a half-made connection must not reach the process.
    const onEarlyError = destroyOnError(socket);
    socket.on('error', onEarlyError);
    if (this.closing) return this.refuse('shutting-down', socket, 503, 'server is shutting down');
    if (this.path !== undefined && pathOf(request) !== this.path) {
      return this.refuse('unknown-path', socket, 404, `no WebSocket endpoint at ${pathOf(request)}`);
    }
    const check = validateClientRequest(request);
    if (!check.ok)
      return this.refuse(
        check.status === 426 ? 'unsupported-version' : 'bad-handshake',
        socket,
        check.status,
        check.reason,
        check.headers,
      );
    let protocol: string | undefined;
    if (check.protocols.length > 0) {
      if (this.selectProtocol) {
        let chosen: string | false | null | undefined;
        try {
          chosen = this.selectProtocol(check.protocols, request);
        } catch (error) {
          // The hook sees what the peer offered: its failure is a 500, never the process's.
          return this.hookFailed('subprotocol-error', socket, error);
        }
        if (chosen) {
          if (!check.protocols.includes(chosen)) {
            return this.refuse(
              'subprotocol-error',
              socket,
              500,
              'server selected a subprotocol the client did not offer',
            );
          }
          protocol = chosen;
        }
      } else if (this.protocols) {
        protocol = check.protocols.find((p) => this.protocols!.includes(p));
      }
    }
    const origin = request.headers.origin;
    if (this.origins && origin !== undefined && !this.origins.has(origin.toLowerCase())) {
      return this.refuse('origin', socket, 403, `origin ${origin} is not allowed`);
    }
    const client = resolveClient(request, this.trustProxy);
    const ip = client.address;
    if (this.maxConnections > 0 && this.clients.size + this.pending >= this.maxConnections) {
      return this.refuse('connection-limit', socket, 503, 'too many connections; try again later', {
        'Retry-After': 5,
      });
    }
    if (this.maxConnectionsPerIp > 0 && (this.perIp.get(ip) ?? 0) >= this.maxConnectionsPerIp) {
      return this.refuse('ip-limit', socket, 429, `too many connections from ${ip}`, { 'Retry-After': 5 });
    }
    // Count the handshake now, so concurrent slow handshakes cannot overshoot the limits.
    this.pending++;
    this.countIp(socket, ip);
    if (!this.authenticate) {
      return this.completeUpgrade(
        request,
        socket,
        head,
        check,
        protocol,
        onEarlyError,
        callback,
        undefined,
        client,
      );
    }
    // Nothing is allocated for the connection until the hook has said yes.
    const failed = (error: Error) => {
      this.pending--;
      this.refuse('auth-error', socket, 500, 'authentication failed');
      if (this.listenerCount('error') > 0) this.emit('error', error);
    };
    Promise.resolve()
      .then(() => this.authenticate!(request))
      .then((result) => {
        if (result && 'reject' in result) {
          const status = result.reject;
          if (!Number.isInteger(status) || status < 400 || status > 599) {
            return failed(
              new RangeError(`authenticate: reject must be an HTTP status from 400 to 599; got ${status}`),
            );
          }
          this.pending--;
          return this.refuse(
            'auth-rejected',
            socket,
            status,
            result.body ?? 'handshake refused',
            result.headers,
          );
        }
        const user = result && 'user' in result ? result.user : undefined;
        this.completeUpgrade(request, socket, head, check, protocol, onEarlyError, callback, user, client);
      }, failed)
      .catch((error: unknown) => {
        // Nothing sent yet: the hook's answer could not be written (headers with line breaks).
        if ((socket as net.Socket).bytesWritten === 0 && socket.writableLength === 0) {
          return this.hookFailed('auth-error', socket, error);
        }
        // Thrown by a 'connection' listener: the application's, surfaced as from any listener.
        process.nextTick(() => {
          throw error;
        });
      });
  }

  /** An application hook threw: answer 500 and report it on 'error' when someone listens. */
  private hookFailed(reason: string, socket: Duplex, error: unknown): void {
    this.refuse(reason, socket, 500, 'internal error');
    if (this.listenerCount('error') > 0)
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  /**
   * Count a connection against its address until its socket closes. (A method of
   * its own, so that the listener's closure holds the address and not the whole
   * handshake scope: the request object would otherwise live as long as the socket.)
   */
  /** A connection closed: count its bytes and let it go. */
  private readonly forgetClient = (ws: WebSocket): void => {
    this.counters.bytesIn += ws.bytesReceived;
    this.counters.bytesOut += ws.bytesSent;
    this.clients.delete(ws);
    if (this.clients.size === 0) this.heartbeat.stop();
  };

  private countIp(socket: Duplex, ip: string): void {
    if (this.maxConnectionsPerIp === 0) return; // nothing to enforce: no listener per socket
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n === 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
  }

  private completeUpgrade(
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    check: Extract<ReturnType<typeof validateClientRequest>, { ok: true }>,
    protocol: string | undefined,
    onEarlyError: () => void,
    callback: ((ws: WebSocket, request: http.IncomingMessage) => void) | undefined,
    user?: unknown,
    client?: { address: string; secure: boolean },
  ): void {
    this.pending--;
    if (this.closing) return this.refuse('shutting-down', socket, 503, 'server is shutting down');
    if (!socket.writable || !socket.readable) {
      socket.destroy();
      return;
    }
    const agreed = this.deflateOptions ? acceptOffer(check.extensions, this.deflateOptions) : null;
    socket.write(buildAcceptResponse(check.key, { protocol, extensions: agreed?.response }));
    socket.off('error', onEarlyError);
    const ws = new WebSocket(null);
    ws.user = user;
    ws[kTopics] = this.topics;
    ws.clientAddress = client?.address;
    ws.clientSecure = client?.secure ?? false;
    ws.protocol = protocol ?? '';
    ws.extensions = agreed?.response ?? '';
    ws.url = request.url ?? '/';
    const deflate = agreed
      ? new PerMessageDeflate(agreed.params, 'server', this.deflateOptions!, this.settings.maxMessageSize)
      : undefined;
    ws[kAttach](socket, head, 'server', this.settings, deflate);
    this.clients.add(ws);
    this.counters.accepted++;
    this.heartbeat.start();
    ws[kServerClose] = this.forgetClient; // one function for all connections, not a listener each
    callback?.(ws, request);
    this.emit('connection', ws, request);
  }

  /**
   * Stop accepting, close every connection with 1001 (Going Away) and resolve
   * when all sockets are gone. Connections that do not finish the closing
   * handshake are dropped after their close timeout.
   */
  close(callback?: (error?: Error) => void): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    if (this.route && this.httpServer) removeRoute(this.httpServer as http.Server, this.route);
    const waits: Promise<unknown>[] = [];
    for (const ws of this.clients) {
      waits.push(new Promise((resolve) => ws.once('close', resolve)));
      ws[kCloseUnchecked](CloseCode.GoingAway, 'server shutting down');
    }
    if (this.ownsHttpServer && this.httpServer) {
      const server = this.httpServer;
      waits.push(new Promise<void>((resolve) => server.close(() => resolve())));
      for (const socket of this.pendingHeads) socket.destroy();
    }
    const done = Promise.all(waits).then(() => {
      this.emit('close');
    });
    if (callback) done.then(() => callback(), callback);
    return done;
  }

  /** Standalone servers: read the request head, then upgrade or answer it. */
  private readHead(socket: net.Socket, limits: { timeout: number; maxHeaderSize: number }): void {
    this.pendingHeads.add(socket);
    readRequestHead(socket, limits, (outcome) => {
      this.pendingHeads.delete(socket);
      if (!outcome.ok) {
        if (outcome.status === 0) return; // gone before it finished its request
        return this.refuse(outcome.why, socket, outcome.status, outcome.reason);
      }
      if (wantsUpgrade(outcome.request)) this.handleUpgrade(outcome.request, socket, outcome.rest);
      else this.answerPlainRequest(outcome.request, socket);
    });
  }

  private answerPlainRequest(request: http.IncomingMessage, socket: Duplex): void {
    const path = pathOf(request);
    let status = 426;
    let body = 'this endpoint speaks WebSocket: send a GET with "Upgrade: websocket"';
    if (this.path !== undefined && path !== this.path) {
      status = 404;
      body = `no WebSocket endpoint at ${path}`;
    } else if (request.headers.upgrade !== undefined) {
      // An Upgrade header without "Connection: upgrade": say what is wrong.
      const check = validateClientRequest(request);
      status = check.ok ? 400 : check.status;
      body = check.ok ? 'the Connection header must include "Upgrade"' : check.reason;
    }
    const headers = status === 426 ? { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' } : undefined;
    const reason = status === 404 ? 'unknown-path' : status === 426 ? 'not-websocket' : 'bad-handshake';
    this.refuse(reason, socket, status, body, headers);
  }
}

function destroyOnError(socket: Duplex): () => void {
  return () => socket.destroy();
}

function encodeOnce(data: SendData, binary?: boolean): Buffer[] {
  const options = { fin: true, rsv1: false, maskKeys: undefined };
  const frame =
    typeof data === 'string' && binary !== true
      ? encodeTextFrame(data, options)
      : encodeFrame(binary === false ? 0x1 : 0x2, toBuffer(data), options);
  if (frame.length > 1 && frame[0]!.length + frame[1]!.length < JOIN_BROADCAST_BELOW)
    return [Buffer.concat(frame)];
  return frame;
}
