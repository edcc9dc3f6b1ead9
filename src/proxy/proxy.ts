import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { validateClientRequest } from '../protocol/handshake.js';
import { handleAdminRequest } from './admin.js';
import { Backend } from './backend.js';
import { Balancer } from './balancer.js';
import { checkProxyOptions, type ProxyOptions, type ResolvedRoute } from './config.js';
import { EdgeGuard } from './edge-guard.js';
import { FORWARDING_HEADERS, forwardingHeaders } from './forwarded.js';
import { ProxySession } from './session.js';

export type { ProxyOptions, RouteOptions } from './config.js';

/**
 * A WebSocket-aware reverse proxy and load balancer. It answers bad handshakes
 * itself (400/426), applies the edge rules and limits, picks a backend for the
 * route, forwards the handshake with X-Forwarded-For, -Proto, -Host and Forwarded added, and after
 * the backend's 101 relays bytes both ways (see session.ts). Plain HTTP
 * requests are proxied too, so an app and its WebSocket endpoints share a port.
 */

interface Route extends Omit<ResolvedRoute, 'backends'> {
  backends: Backend[];
  balancer: Balancer<Backend>;
}

/** Most bytes of a backend's handshake answer kept before giving up (502). */
const MAX_RESPONSE_HEAD = 16 * 1024;
const BACKEND_TIMEOUT_MS = 10_000;

export class ReverseProxy extends EventEmitter {
  readonly server: http.Server | https.Server;
  private readonly routes: Route[];
  private readonly options: ReturnType<typeof checkProxyOptions>;
  private readonly guard: EdgeGuard;
  private readonly sessions = new Set<ProxySession>();
  private closing = false;
  readonly counters = {
    accepted: 0,
    messagesIn: 0,
    messagesOut: 0,
    refused: {} as Record<string, number>,
  };

  constructor(options: ProxyOptions) {
    super();
    this.options = checkProxyOptions(options);
    this.guard = new EdgeGuard(this.options);
    this.routes = this.options.routes.map((route) => {
      const backends = route.backends.map(
        (url) =>
          new Backend(
            url,
            route.backendTls,
            this.options.healthCheck?.unhealthyThreshold ?? 1,
            this.options.healthCheck?.healthyThreshold ?? 1,
          ),
      );
      return { ...route, backends, balancer: new Balancer(route.algorithm, backends) };
    });
    if (this.options.healthCheck) {
      for (const route of this.routes)
        for (const b of route.backends) b.startChecks(this.options.healthCheck);
    }
    this.server = this.options.tls ? https.createServer(this.options.tls) : http.createServer();
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
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
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
    const backend = new Backend(
      parsed,
      target.backendTls,
      this.options.healthCheck?.unhealthyThreshold ?? 1,
      this.options.healthCheck?.healthyThreshold ?? 1,
    );
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
    handleAdminRequest(this, req, res);
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

  private match(req: http.IncomingMessage): Route | undefined {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const path = (req.url ?? '/').split('?')[0]!;
    return this.routes.find(
      (r) =>
        (r.host === undefined || r.host === host) &&
        (path === r.path || path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`) || r.path === '/'),
    );
  }

  private refuse(
    socket: Duplex,
    reason: string,
    status: number,
    message: string,
    headers: Record<string, string | number> = {},
  ): void {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
    if (!socket.writable) return void socket.destroy();
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(message)}\r\n${extra}\r\n${message}`,
    );
  }

  /** A fault of ours while handling a request: 500 if nothing was sent yet, else drop the connection. */
  private internalError(socket: Duplex | null, error: unknown, res?: http.ServerResponse): void {
    this.counters.refused['internal-error'] = (this.counters.refused['internal-error'] ?? 0) + 1;
    this.emit('internal-error', error);
    if (res && !res.headersSent) {
      res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('internal error\n');
    } else if (!res && socket?.writable) {
      socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      socket?.destroy();
    }
  }

  private async proxyUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (this.closing)
      return this.refuse(socket, 'shutting-down', 503, 'proxy shutting down', { 'Retry-After': 5 });
    const route = this.match(req);
    if (!route) return this.refuse(socket, 'no-route', 404, `no route for ${req.url}`);
    const check = validateClientRequest(req);
    if (!check.ok) return this.refuse(socket, 'bad-handshake', check.status, check.reason, check.headers);
    const verdict = await this.guard.admit(req);
    if (verdict) return this.refuse(socket, verdict.reason, verdict.status, verdict.message, verdict.headers);
    if (socket.destroyed) return; // the client left while the auth hook ran
    const release = this.guard.hold(req);
    socket.once('close', release);
    this.connectBackend(route, req, socket, head, new Set());
  }

  private pickBackend(route: Route, req: http.IncomingMessage, exclude: Set<Backend>): Backend | undefined {
    const key = route.hashKey ? hashKeyOf(route.hashKey, req, this.guard.clientIp(req)) : undefined;
    for (let i = 0; i <= route.backends.length; i++) {
      const backend = route.balancer.pick(key);
      if (!backend || !exclude.has(backend)) return backend;
    }
    return undefined;
  }

  private connectBackend(
    route: Route,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    tried: Set<Backend>,
  ): void {
    const backend = this.pickBackend(route, req, tried);
    if (!backend) {
      return this.refuse(socket, 'no-backend', 503, 'no healthy backend; try again later', {
        'Retry-After': 5,
      });
    }
    tried.add(backend);
    const upstream = backend.secure
      ? tls.connect({
          host: backend.host,
          port: backend.port,
          servername: backend.tlsOptions.servername ?? (net.isIP(backend.host) ? undefined : backend.host),
          ca: backend.tlsOptions.ca,
          rejectUnauthorized: backend.tlsOptions.rejectUnauthorized ?? true,
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host: backend.host, port: backend.port });
    upstream.setNoDelay(true);
    upstream.setTimeout(BACKEND_TIMEOUT_MS);
    let answered = false;
    let abandoned = false;
    const fail = (why: string) => {
      if (answered) return;
      answered = true;
      upstream.destroy();
      if (abandoned) return; // the client left first: not the backend's fault
      backend.handshakes.failed++;
      backend.recordFailure();
      if (socket.destroyed) return;
      // Another backend may do: try each at most once.
      if (tried.size < route.backends.length) {
        try {
          return this.connectBackend(route, req, socket, head, tried);
        } catch (error) {
          return this.internalError(socket, error);
        }
      }
      this.refuse(socket, 'backend-error', 502, `backend unavailable: ${why}`);
    };
    upstream.once('error', (error) => fail(error.message));
    upstream.once('timeout', () => fail('timed out'));
    upstream.once('close', () => fail('the backend closed the connection before answering'));
    upstream.once(backend.secure ? 'secureConnect' : 'connect', () => {
      upstream.write(this.requestHead(req));
      if (head.length > 0) upstream.write(head);
    });
    let response: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      response = response.length ? Buffer.concat([response, chunk]) : chunk;
      const end = response.indexOf('\r\n\r\n');
      if (end === -1) {
        if (response.length > MAX_RESPONSE_HEAD) fail('handshake answer too large');
        return;
      }
      answered = true;
      upstream.off('data', onData);
      upstream.setTimeout(0);
      backend.recordSuccess();
      const status = Number(response.subarray(9, 12).toString('latin1'));
      if (status !== 101) {
        // The backend said no: its answer goes to the client as it is.
        backend.handshakes.refused++;
        this.counters.refused['backend-refused'] = (this.counters.refused['backend-refused'] ?? 0) + 1;
        socket.write(response);
        upstream.pipe(socket);
        upstream.on('error', () => socket.destroy());
        return;
      }
      backend.handshakes.accepted++;
      this.counters.accepted++;
      socket.write(response.subarray(0, end + 4));
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
      session.begin(response.subarray(end + 4));
    };
    upstream.on('data', onData);
    socket.once('close', () => {
      if (answered) return;
      abandoned = true;
      upstream.destroy();
    });
  }

  /** The client's request head for the backend, with our forwarding headers. */
  private requestHead(req: http.IncomingMessage): string {
    let out = `${req.method} ${req.url} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (!FORWARDING_HEADERS.has(raw[i]!.toLowerCase())) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    for (const [name, value] of Object.entries(forwardingHeaders(req, this.guard.trusts(req)))) {
      out += `${name}: ${value}\r\n`;
    }
    return `${out}\r\n`;
  }

  private proxyHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const route = this.match(req);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${req.url}\n`);
      return;
    }
    const backend = this.pickBackend(route, req, new Set());
    if (!backend) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('no healthy backend\n');
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!FORWARDING_HEADERS.has(name) && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    Object.assign(headers, forwardingHeaders(req, this.guard.trusts(req)));
    const upstream = (backend.secure ? https : http).request({
      host: backend.host,
      port: backend.port,
      method: req.method,
      path: req.url,
      headers,
      ...(backend.secure
        ? { ca: backend.tlsOptions.ca, rejectUnauthorized: backend.tlsOptions.rejectUnauthorized ?? true }
        : {}),
    });
    upstream.on('response', (answer) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers))
        if (!HOP_BY_HOP.has(name)) out[name] = value;
      try {
        res.writeHead(answer.statusCode ?? 502, out);
      } catch (error) {
        // A status or header Node will not send on (a backend's fault, not the client's).
        answer.destroy();
        backend.recordFailure();
        res
          .writeHead(502, { 'content-type': 'text/plain' })
          .end(`bad gateway: ${(error as Error).message}\n`);
        return;
      }
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      backend.recordFailure();
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`bad gateway: ${error.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

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
