import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import { isIP } from 'node:net';
import { readTarget } from './request-target.js';

/**
 * The admin API: GET /status; POST /drain, /undrain, /remove ?backend=URL;
 * POST /add?backend=URL&route=N. Every request is answered with JSON; nothing a
 * client sends can throw past this handler (an internal fault is a 500).
 *
 * It can send users' handshakes and cookies to a backend of the caller's
 * choosing, so before anything else:
 * - a request with an Origin header (or a browser's Sec-Fetch-Site other than
 *   "none") is refused with 403: browsers add them to the cross-site requests a
 *   web page can make, and no admin client needs them;
 * - the Host must be an IP address, "localhost" or a name in `adminHosts`, else
 *   403: a DNS-rebinding page reaches a loopback port under its own host name;
 * - with `adminToken` set, `Authorization: Bearer <token>` is required (401).
 */

/** What the admin API needs of the proxy. */
export interface AdminTarget {
  stats(): unknown;
  drain(url: string, draining: boolean): number;
  addBackend(url: string, route: number): void;
  removeBackend(url: string): number;
}

const USAGE = 'GET /status; POST /drain, /undrain, /remove?backend=URL; POST /add?backend=URL&route=N';

/** Who may use the admin API. */
export interface AdminAccess {
  token: string | undefined;
  /** Lower-case host names accepted besides IP addresses and localhost. */
  hosts: ReadonlySet<string>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compared through digests of equal length, in constant time: the token cannot be guessed byte by byte. */
function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The host part of a Host header value, lower-case, without brackets or port. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d*$/, '').toLowerCase();
}

/** Why the request may not use the admin API: [status, message], or undefined. */
export function adminRefusal(req: http.IncomingMessage, access: AdminAccess): [number, string] | undefined {
  const site = req.headers['sec-fetch-site'];
  if (req.headers.origin !== undefined || (site !== undefined && site !== 'none')) {
    return [403, 'the admin API does not take requests from web pages (Origin header present)'];
  }
  const host = req.headers.host;
  if (host !== undefined) {
    const name = hostName(host);
    if (!isIP(name) && name !== 'localhost' && !access.hosts.has(name)) {
      return [403, `Host ${JSON.stringify(host)} is not an address of the admin API (see adminHosts)`];
    }
  }
  if (access.token !== undefined) {
    const auth = req.headers.authorization ?? '';
    const given = /^Bearer (.+)$/i.exec(auth)?.[1];
    if (given === undefined || !tokenMatches(given.trim(), access.token)) {
      return [401, 'give the admin token as Authorization: Bearer <token>'];
    }
  }
  return undefined;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

export function handleAdminRequest(
  target: AdminTarget,
  access: AdminAccess,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  try {
    const refusal = adminRefusal(req, access);
    if (refusal) {
      if (refusal[0] === 401) res.setHeader('www-authenticate', 'Bearer realm="socketeer proxy admin"');
      return send(res, refusal[0], { error: refusal[1] });
    }
    route(target, req, res);
  } catch (error) {
    send(res, 500, { error: `internal error: ${(error as Error).message}` });
  }
}

function route(target: AdminTarget, req: http.IncomingMessage, res: http.ServerResponse): void {
  const { path, query } = readTarget(req.url);
  if (req.method === 'GET' && path === '/status') return send(res, 200, target.stats());
  if (req.method === 'POST' && (path === '/add' || path === '/remove')) {
    const backend = query.get('backend');
    if (!backend) return send(res, 400, { error: 'give ?backend=<backend URL>' });
    try {
      if (path === '/add') {
        target.addBackend(backend, Number(query.get('route') ?? 0));
        return send(res, 200, { added: backend });
      }
      const n = target.removeBackend(backend);
      return n > 0
        ? send(res, 200, { removed: backend })
        : send(res, 404, { error: `no backend ${backend}` });
    } catch (error) {
      return send(res, 400, { error: (error as Error).message });
    }
  }
  if (req.method === 'POST' && (path === '/drain' || path === '/undrain')) {
    const backend = query.get('backend');
    if (!backend) return send(res, 400, { error: 'give ?backend=<backend URL>' });
    let n: number;
    try {
      n = target.drain(backend, path === '/drain');
    } catch {
      return send(res, 400, { error: `not a URL: ${backend}` });
    }
    return n > 0
      ? send(res, 200, { backend, draining: path === '/drain' })
      : send(res, 404, { error: `no backend ${backend}` });
  }
  send(res, 404, { error: USAGE });
}

/**
 * An HTTP server for the admin API: the request head deadline of the edge (10 s),
 * and CONNECT (which never reaches a request handler) refused with 405.
 */
export function createAdminServer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): http.Server {
  const server = http.createServer({ headersTimeout: 10_000, connectionsCheckingInterval: 1000 }, handle);
  server.on('connect', (_req, socket) => refuseConnect(socket));
  return server;
}

/** CONNECT asks for a tunnel, which neither the proxy nor its admin API offers (RFC 9110 section 9.3.6). */
export function refuseConnect(socket: import('node:stream').Duplex): void {
  socket.on('error', () => socket.destroy());
  socket.end(
    'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
  );
}
