import type * as http from 'node:http';
import { readTarget } from './request-target.js';

/**
 * The admin API: GET /status; POST /drain, /undrain, /remove ?backend=URL;
 * POST /add?backend=URL&route=N. Every request is answered with JSON; nothing a
 * client sends can throw past this handler (an internal fault is a 500).
 */

/** What the admin API needs of the proxy. */
export interface AdminTarget {
  stats(): unknown;
  drain(url: string, draining: boolean): number;
  addBackend(url: string, route: number): void;
  removeBackend(url: string): number;
}

const USAGE = 'GET /status; POST /drain, /undrain, /remove?backend=URL; POST /add?backend=URL&route=N';

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

export function handleAdminRequest(
  target: AdminTarget,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  try {
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
