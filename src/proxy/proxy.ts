import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { validateClientRequest } from '../protocol/handshake.js';
import { type AdminAccess, createAdminServer, handleAdminRequest, refuseConnect } from './admin.js';
import { Backend } from './backend.js';
import { requestUpgrade } from './backend-handshake.js';
import { Balancer } from './balancer.js';
import { checkProxyOptions, type ProxyOptions, type ResolvedRoute } from './config.js';
import { EdgeGuard } from './edge-guard.js';
import { forwardingHeaders, hostProblem, upgradeRequestHead } from './forwarded.js';
import { forwardHttp, type HttpForwardContext } from './http-forward.js';
import type { ProxyLogEvent } from './log.js';
import { readTarget } from './request-target.js';
import { ProxySession } from './session.js';
import { type WaitingClient, watchWaitingClient } from './waiting-client.js';

export type { ProxyOptions, RouteOptions } from './config.js';
export type { ProxyLogEvent } from './log.js';

/**
 * A WebSocket-aware reverse proxy and load balancer. It answers bad handshakes
 * itself (400/426), applies the edge rules and limits, picks a backend for the
 * route, forwards the handshake with X-Forwarded-For, -Proto, -Host and Forwarded added, and after
 * the backend's 101 relays bytes both ways (see session.ts). Plain HTTP
 * requests are proxied too (http-forward.ts), so an app and its WebSocket endpoints share a port.
 *
 * Events: 'log' (ProxyLogEvent): ejections, readmissions, 503s, backend failures.
 */

interface Route extends Omit<ResolvedRoute, 'backends'> {
  backends: Backend[];
  balancer: Balancer<Backend>;
}

/** How long a refused client may keep its connection open to read our answer. */
const REFUSAL_LINGER_MS = 5000;

export class ReverseProxy extends EventEmitter {
  readonly server: http.Server | https.Server;
  private readonly routes: Route[];
  private readonly options: ReturnType<typeof checkProxyOptions>;
  private readonly guard: EdgeGuard;
  private readonly sessions = new Set<ProxySession>();
  private readonly adminAccess: AdminAccess;
  private closing = false;
  readonly counters = {
    accepted: 0,
    messagesIn: 0,
    messagesOut: 0,
    /** Clients that left while waiting for the backend (their attempt was cut at once). */
    abandoned: 0,
    refused: {} as Record<string, number>,
  };

  constructor(options: ProxyOptions) {
    super();
    this.options = checkProxyOptions(options);
    this.guard = new EdgeGuard(this.options);
    this.adminAccess = { token: this.options.adminToken, hosts: this.options.adminHosts };
    this.routes = this.options.routes.map((route) => {
      const backends = route.backends.map((url) => this.newBackend(url, route.backendTls));
      return { ...route, backends, balancer: new Balancer(route.algorithm, backends) };
    });
    if (this.options.healthCheck) {
      for (const route of this.routes)
        for (const b of route.backends) b.startChecks(this.options.healthCheck);
    }
    // The same head deadline as standalone servers (slowloris): Node checks it every
    // connectionsCheckingInterval, so that is kept well below the deadline.
    const timeout = this.options.handshakeTimeout;
    const limits: http.ServerOptions = {
      headersTimeout: timeout,
      // Node's whole-request limit (300 s) would cut a long upload that keeps moving and
      // let a dripping one hold a backend connection for minutes: http-forward.ts has an
      // idle limit for bodies instead (requestBodyTimeout).
      requestTimeout: 0,
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
    };
    this.server = this.options.tls
      ? https.createServer({ handshakeTimeout: timeout, ...limits, ...this.options.tls })
      : http.createServer(limits);
    // Every path that starts from a request handles its own faults: a throw or
    // rejection escaping here would take the whole process (and every client) down.
    this.server.on('request', (req, res) => {
      try {
        this.proxyHttp(req, res);
      } catch (error) {
        this.internalError(res.socket ?? req.socket, error, res);
      }
    });
    this.server.on('upgrade', (req, socket: Duplex, head) => {
      this.proxyUpgrade(req, socket, head).catch((error) => this.internalError(socket, error));
    });
    this.server.on('connect', (_req, socket: Duplex) => refuseConnect(socket));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return void socket.destroy();
      // Node's own answers, which a 'clientError' listener replaces: 408 for a head
      // that took too long, 431 for one too large, 400 for anything malformed.
      const status =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      (socket as net.Socket).destroySoon();
    });
    if (this.options.tls) this.server.on('tlsClientError', (_error, socket) => socket.destroy());
  }

  private newBackend(url: URL, backendTls: ResolvedRoute['backendTls']): Backend {
    const backend = new Backend(
      url,
      backendTls,
      this.options.healthCheck?.unhealthyThreshold ?? 1,
      this.options.healthCheck?.healthyThreshold ?? 1,
    );
    backend.onStateChange = (healthy, reason) =>
      this.log({ type: healthy ? 'backend-up' : 'backend-down', backend: backend.id, reason });
    return backend;
  }

  private log(event: ProxyLogEvent): void {
    this.emit('log', event);
  }

  listen(port = this.options.port, host = this.options.host): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Stop or resume sending new clients to a backend (its URL); existing ones stay. */
  drain(url: string, draining = true): number {
    let n = 0;
    for (const route of this.routes) {
      for (const backend of route.backends) {
        if (backend.id === url || backend.id === new URL(url).href) {
          backend.draining = draining;
          n++;
        }
      }
    }
    return n;
  }

  /**
   * Add a backend to a route (by index) at run time. With consistent hashing only
   * the keys the new backend takes over move to it.
   */
  addBackend(url: string, route = 0): void {
    const target = this.routes[route];
    if (!target) throw new RangeError(`no route ${route}; routes are 0 to ${this.routes.length - 1}`);
    const parsed = new URL(url);
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
      throw new TypeError(`backend must be a ws://, wss://, http:// or https:// URL; got ${url}`);
    }
    if (target.backends.some((b) => b.id === parsed.href)) return;
    const backend = this.newBackend(parsed, target.backendTls);
    if (this.options.healthCheck) backend.startChecks(this.options.healthCheck);
    target.backends.push(backend);
    target.balancer.setBackends(target.backends);
  }

  /** Remove a backend from every route: no new clients; its open sessions carry on until they end. */
  removeBackend(url: string): number {
    const href = new URL(url).href;
    let n = 0;
    for (const route of this.routes) {
      const keep = route.backends.filter((b) => b.id !== href);
      n += route.backends.length - keep.length;
      for (const b of route.backends) if (b.id === href) b.stopChecks();
      route.backends = keep;
      route.balancer.setBackends(keep);
    }
    return n;
  }

  stats() {
    return {
      connections: this.sessions.size,
      accepted: this.counters.accepted,
      refused: { ...this.counters.refused },
      abandoned: this.counters.abandoned,
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      routes: this.routes.map((r) => ({
        host: r.host ?? '*',
        path: r.path,
        mode: r.mode,
        algorithm: r.algorithm,
        backends: r.backends.map((b) => b.snapshot()),
      })),
    };
  }

  /** The admin API (see admin.ts): GET /status; POST /drain, /undrain, /add, /remove ?backend=URL. */
  handleAdmin(req: http.IncomingMessage, res: http.ServerResponse): void {
    handleAdminRequest(this, this.adminAccess, req, res);
  }

  /** An HTTP server answering the admin API (call its listen(); bind it to loopback). */
  createAdminServer(): http.Server {
    return createAdminServer((req, res) => this.handleAdmin(req, res));
  }

  /** Stop accepting, send 1001 to every client, wait for them (up to the shutdown timeout). */
  async close(): Promise<void> {
    this.closing = true;
    for (const route of this.routes) for (const b of route.backends) b.stopChecks();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections?.();
    await Promise.all([...this.sessions].map((s) => s.shutdown(this.options.shutdownTimeout)));
    this.server.closeAllConnections?.();
    await closed;
  }

  /**
   * The first route whose host matches and whose path is a prefix of the
   * request's path on segment boundaries: "/chat" (or "/chat/") matches "/chat"
   * and "/chat/x", never "/chatroom".
   */
  private match(req: http.IncomingMessage): Route | undefined {
    const host = (req.headers.host ?? '').replace(/:\d*$/, '').toLowerCase();
    const path = readTarget(req.url).path;
    return this.routes.find((r) => {
      if (r.host !== undefined && r.host !== host) return false;
      const prefix = r.path.replace(/\/+$/, '');
      return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
    });
  }

  private refuse(
    socket: Duplex,
    req: http.IncomingMessage,
    reason: string,
    status: number,
    message: string,
    headers: Record<string, string | number> = {},
  ): void {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
    if (status === 503) this.logUnavailable(req, reason);
    if (!socket.writable) return void socket.destroy();
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(message)}\r\n${extra}\r\n${message}`,
    );
    lingerThenDestroy(socket);
  }

  private logUnavailable(req: http.IncomingMessage, reason: string): void {
    this.log({
      type: 'unavailable',
      status: 503,
      reason,
      path: readTarget(req.url).path,
      client: this.guard.clientIp(req),
    });
  }

  /** A fault of ours while handling a request: 500 if nothing was sent yet, else drop the connection. */
  private internalError(socket: Duplex | null, error: unknown, res?: http.ServerResponse): void {
    this.counters.refused['internal-error'] = (this.counters.refused['internal-error'] ?? 0) + 1;
    this.log({ type: 'internal-error', reason: error instanceof Error ? error.message : String(error) });
    if (res && !res.headersSent) {
      res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('internal error\n');
    } else if (!res && socket?.writable) {
      socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      lingerThenDestroy(socket);
    } else {
      socket?.destroy();
    }
  }

  private async proxyUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (this.closing)
      return this.refuse(socket, req, 'shutting-down', 503, 'proxy shutting down', { 'Retry-After': 5 });
    const badHost = hostProblem(req);
    if (badHost) return this.refuse(socket, req, 'bad-host', 400, badHost);
    const route = this.match(req);
    if (!route) return this.refuse(socket, req, 'no-route', 404, `no route for ${req.url}`);
    const check = validateClientRequest(req);
    if (!check.ok)
      return this.refuse(socket, req, 'bad-handshake', check.status, check.reason, check.headers);
    // From here on the client waits (auth hook, backend): notice it leaving.
    const attempt: { abandon(): void } = { abandon: () => {} };
    const waiting = watchWaitingClient(socket, () => {
      this.counters.abandoned++;
      attempt.abandon();
    });
    const verdict = await this.guard.admit(req);
    if (waiting.gone) return; // the client left while the auth hook ran
    if (verdict) {
      waiting.release();
      return this.refuse(socket, req, verdict.reason, verdict.status, verdict.message, verdict.headers);
    }
    const release = this.guard.hold(req);
    socket.once('close', release);
    this.connectBackend(route, req, socket, head, waiting, attempt, new Set());
  }

  private pickBackend(route: Route, req: http.IncomingMessage, exclude: Set<Backend>): Backend | undefined {
    const key = route.hashKey ? hashKeyOf(route.hashKey, req, this.guard.clientIp(req)) : undefined;
    for (let i = 0; i <= route.backends.length; i++) {
      const backend = route.balancer.pick(key);
      if (!backend || !exclude.has(backend)) return backend;
    }
    return undefined;
  }

  /**
   * Ask a backend for the 101; on failure try the next one (each at most once).
   * `head` (frames the client sent with its request) reaches the backend only
   * after its 101, through the session's frame watcher, so inspect-mode limits
   * and frame boundaries hold for them too.
   */
  private connectBackend(
    route: Route,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    waiting: WaitingClient,
    current: { abandon(): void },
    tried: Set<Backend>,
  ): void {
    const backend = this.pickBackend(route, req, tried);
    if (!backend) {
      waiting.release();
      return this.refuse(socket, req, 'no-backend', 503, 'no healthy backend; try again later', {
        'Retry-After': 5,
      });
    }
    tried.add(backend);
    const requestHead = upgradeRequestHead(req, this.forwardingFor(req));
    const attempt = requestUpgrade(backend, requestHead, this.options.backendTimeout, (outcome) => {
      if (outcome.kind === 'failed') {
        backend.handshakes.failed++;
        const status = outcome.timedOut ? 504 : 502;
        this.log({ type: 'backend-failure', backend: backend.id, status, reason: outcome.why });
        backend.recordFailure(outcome.why);
        if (socket.destroyed) return;
        if (tried.size < route.backends.length) {
          try {
            return this.connectBackend(route, req, socket, head, waiting, current, tried);
          } catch (error) {
            waiting.release();
            return this.internalError(socket, error);
          }
        }
        waiting.release();
        return this.refuse(
          socket,
          req,
          outcome.timedOut ? 'backend-timeout' : 'backend-error',
          status,
          `backend unavailable: ${outcome.why}`,
        );
      }
      backend.recordSuccess();
      const { upstream } = outcome;
      // Frames the client sent while it waited follow those it sent with its request.
      const early = waiting.release();
      const fromClient = early.length > 0 ? Buffer.concat([head, early]) : head;
      if (outcome.status !== 101) {
        // The backend said no: its answer goes to the client as it is, within the same deadline.
        backend.handshakes.refused++;
        this.counters.refused['backend-refused'] = (this.counters.refused['backend-refused'] ?? 0) + 1;
        const cut = setTimeout(() => {
          upstream.destroy();
          socket.destroy();
        }, this.options.backendTimeout);
        upstream.once('close', () => clearTimeout(cut));
        socket.once('close', () => upstream.destroy());
        socket.write(outcome.head);
        if (outcome.rest.length > 0) socket.write(outcome.rest);
        upstream.pipe(socket);
        return;
      }
      backend.handshakes.accepted++;
      this.counters.accepted++;
      socket.write(outcome.head);
      const session = new ProxySession(
        socket,
        upstream,
        backend,
        route.mode,
        route.maxMessageSize,
        this.counters,
        (s) => this.sessions.delete(s),
      );
      this.sessions.add(session);
      session.begin(outcome.rest, fromClient);
    });
    // The client left before the backend answered: not the backend's fault. The
    // attempt is cut at once (its connection destroyed), and reports nothing.
    current.abandon = () => attempt.abandon();
  }

  /** Our forwarding headers for a request (X-Forwarded-*, Forwarded, X-Real-IP). */
  private forwardingFor(req: http.IncomingMessage): Record<string, string> {
    return forwardingHeaders(req, this.guard.trusts(req), this.guard.clientIp(req));
  }

  private proxyHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const badHost = hostProblem(req);
    if (badHost) {
      this.counters.refused['bad-host'] = (this.counters.refused['bad-host'] ?? 0) + 1;
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end(`${badHost}\n`);
      return;
    }
    const route = this.match(req);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${req.url}\n`);
      return;
    }
    const tried = new Set<Backend>();
    const backend = this.pickBackend(route, req, tried);
    if (!backend) {
      this.logUnavailable(req, 'no-backend');
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('no healthy backend\n');
      return;
    }
    tried.add(backend);
    const context: HttpForwardContext = {
      backendTimeout: this.options.backendTimeout,
      requestBodyTimeout: this.options.requestBodyTimeout,
      countRefused: (reason) => {
        this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
      },
      countAbandoned: () => {
        this.counters.abandoned++;
      },
      forwardingHeaders: (r) => this.forwardingFor(r),
      report: (event) => this.log(event),
      retryElsewhere: () => {
        const next = this.pickBackend(route, req, tried);
        if (!next) return false;
        tried.add(next);
        forwardHttp(req, res, next, context);
        return true;
      },
    };
    forwardHttp(req, res, backend, context);
  }
}

/**
 * End a refused connection: the answer is written, input is read and dropped
 * (unread input would turn our close into a reset that can eat the answer), and
 * a client that never closes its side is dropped after a while.
 */
function lingerThenDestroy(socket: Duplex): void {
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function hashKeyOf(
  key: NonNullable<ResolvedRoute['hashKey']>,
  req: http.IncomingMessage,
  clientIp: string,
): string {
  if (key.source === 'header') {
    const value = req.headers[key.name];
    if (value !== undefined) return Array.isArray(value) ? value.join(',') : value;
  } else if (key.source === 'cookie') {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === key.name) return part.slice(eq + 1).trim();
    }
  }
  // The client's address (through trusted proxies): also the fallback when the header or cookie is missing.
  return clientIp;
}
