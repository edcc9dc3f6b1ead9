import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { buildRejectResponse } from '../../protocol/handshake.js';
import { DEFAULTS } from '../defaults.js';

/**
 * One 'upgrade' listener per HTTP server, shared by every WebSocketServer
 * attached to it, so several endpoints (/chat, /echo, ...) can live on one port
 * and a request for a path nobody serves gets a 404 instead of hanging.
 */

export interface UpgradeRoute {
  /** Exact path to serve, or undefined for every path (tried last). */
  path: string | undefined;
  handle(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

const routers = new WeakMap<HttpServer, UpgradeRoute[]>();

export function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function findRoute(routes: readonly UpgradeRoute[], path: string): UpgradeRoute | undefined {
  return routes.find((r) => r.path === path) ?? routes.find((r) => r.path === undefined);
}

export function addRoute(server: HttpServer, route: UpgradeRoute): void {
  let routes = routers.get(server);
  if (!routes) {
    routes = [];
    routers.set(server, routes);
    const table = routes;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = findRoute(table, pathOf(request));
      if (target) {
        target.handle(request, socket, head);
      } else {
        rejectSocket(socket, 404, `no WebSocket endpoint at ${pathOf(request)}`);
      }
    });
  }
  if (routes.some((r) => r.path === route.path)) {
    throw new Error(
      `a WebSocketServer already serves ${route.path === undefined ? 'every path' : route.path} on this HTTP server`,
    );
  }
  routes.push(route);
}

export function removeRoute(server: HttpServer, route: UpgradeRoute): void {
  const routes = routers.get(server);
  if (!routes) return;
  const i = routes.indexOf(route);
  if (i !== -1) routes.splice(i, 1);
}

/** Answer a handshake with an HTTP error and close the socket once it is sent. */
export function rejectSocket(
  socket: Duplex,
  status: number,
  reason: string,
  headers?: Record<string, string | number>,
): void {
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(buildRejectResponse(status, reason, headers));
  // A client that never reads must not hold the socket open.
  setTimeout(() => socket.destroy(), DEFAULTS.rejectLinger).unref();
}
