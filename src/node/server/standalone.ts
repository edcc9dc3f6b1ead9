import type * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { validateClientRequest } from '../../protocol/handshake.js';
import { readRequestHead, wantsUpgrade } from '../request-head.js';
import type { Refusal } from './admission.js';
import type { ServerConfig, ServerMode } from './config.js';
import { pathOf } from './upgrade-router.js';

/**
 * Standalone servers: a plain net/tls server that reads each request head
 * itself (request-head.ts), so no http.Server state stays with each upgraded
 * socket, then hands upgrades on and answers everything else.
 */

const UPGRADE_REQUIRED: Refusal = {
  ok: false,
  reason: 'not-websocket',
  status: 426,
  body: 'this endpoint speaks WebSocket: send a GET with "Upgrade: websocket"',
  headers: { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' },
};

export interface StandaloneHandlers {
  upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  refuse(socket: Duplex, refusal: Refusal): void;
}

export class StandaloneListener {
  readonly server: net.Server;
  /** Sockets whose request head is still arriving (dropped on close()). */
  private readonly pendingHeads = new Set<net.Socket>();

  constructor(
    mode: Extract<ServerMode, { kind: 'standalone' }>,
    private readonly config: ServerConfig<unknown>,
    private readonly handlers: StandaloneHandlers,
  ) {
    const accept = (socket: net.Socket) => this.readHead(socket);
    this.server = mode.tls
      ? tls.createServer({ handshakeTimeout: config.requestHead.timeout, ...mode.tls }, accept)
      : net.createServer(accept);
    if (mode.tls) this.server.on('tlsClientError', (_error, socket: Duplex) => socket.destroy());
  }

  listen(mode: Extract<ServerMode, { kind: 'standalone' }>): void {
    this.server.listen(mode.port, mode.host);
  }

  /** Stop listening; resolves once every socket the server accepted is gone. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.pendingHeads) socket.destroy();
    return closed;
  }

  private readHead(socket: net.Socket): void {
    this.pendingHeads.add(socket);
    readRequestHead(socket, this.config.requestHead, (outcome) => {
      this.pendingHeads.delete(socket);
      if (!outcome.ok) {
        if ('gone' in outcome) return; // gone before it finished its request
        return this.handlers.refuse(socket, outcome);
      }
      if (wantsUpgrade(outcome.request)) this.handlers.upgrade(outcome.request, socket, outcome.rest);
      else this.handlers.refuse(socket, this.answerPlainRequest(outcome.request));
    });
  }

  /** A request without "Upgrade: websocket": say what the endpoint expects. */
  private answerPlainRequest(request: http.IncomingMessage): Refusal {
    const path = pathOf(request);
    if (this.config.path !== undefined && path !== this.config.path) {
      return { ok: false, reason: 'unknown-path', status: 404, body: `no WebSocket endpoint at ${path}` };
    }
    if (request.headers.upgrade !== undefined) {
      // An Upgrade header without "Connection: upgrade": say what is wrong.
      const check = validateClientRequest(request);
      return check.ok
        ? {
            ok: false,
            reason: 'bad-handshake',
            status: 400,
            body: 'the Connection header must include "Upgrade"',
          }
        : check.status === 426
          ? { ...UPGRADE_REQUIRED, body: check.reason }
          : { ok: false, reason: 'bad-handshake', status: check.status, body: check.reason };
    }
    return UPGRADE_REQUIRED;
  }
}
