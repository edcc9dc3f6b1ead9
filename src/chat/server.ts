import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  checkBoolean,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  MAX_TIMER_MS,
} from '../check-options.js';
import { WebSocket, WebSocketServer } from '../index.js';
import { serveBrowserSdk } from '../messaging/browser-sdk.js';
import type { Engine } from '../messaging/index.js';
import { CloseCodes, Hub } from '../messaging/index.js';
import { ChatSession } from './chat-session.js';
import { Coalescer } from './coalescer.js';
import { ConnectionQuota } from './connection-quota.js';
import { Departures } from './departures.js';
import { DEMO_NAMESPACE, DEMO_NAMESPACE_OPTIONS, publicHubOptions } from './public-hub.js';
import { Rooms } from './rooms.js';

/**
 * The chat demo: one HTTP(S) server that serves the page at / and the chat
 * WebSocket endpoint at /chat (and, optionally, an echo endpoint at /echo).
 * Rooms live on the messaging hub (src/messaging): each room is a channel with
 * history (exact recovery with `since`), presence and join/leave; the engine
 * is in memory unless one is given (e.g. Redis, so several servers are one chat).
 */

export interface ChatServerOptions {
  port?: number;
  host?: string;
  tls?: { cert: Buffer; key: Buffer };
  /** Also serve an echo endpoint at /echo. */
  echo?: boolean;
  /** Messages allowed per connection per `rateWindow` before it is closed with 1008 (default 30; 0: no limit). */
  rateLimit?: number;
  /** The flood limit's window, ms (default 10000). */
  rateWindow?: number;
  /** Open connections at most, /chat and /connection together (default 10000; 0: no limit); beyond it handshakes get 503. */
  maxConnections?: number;
  /** Open connections per client address, /chat and /connection together (default 50; 0: no limit); beyond it 429. */
  maxConnectionsPerIp?: number;
  /** Rooms held in memory besides the lobby (default 1000). */
  maxRooms?: number;
  /** Different rooms the connections of one address may be in at once, the lobby not counted (default 20). */
  maxRoomsPerIp?: number;
  /** ms a client has to send its HTTP request head (default 10000, as standalone servers). */
  headersTimeout?: number;
  /** Messages kept per room for recovery after a reconnect (default 500). */
  historySize?: number;
  /** How long a room keeps its messages, ms (default 1 hour). */
  historyTtl?: number;
  /** Where rooms live (default: a MemoryEngine of this process). */
  engine?: Engine;
  /** ms a member's presence entry outlives its server (the hub's presenceTtl, default 15000). */
  presenceTtl?: number;
}

export const CHAT_DEFAULTS = {
  maxConnections: 10_000,
  maxConnectionsPerIp: 50,
  maxRooms: 1000,
  maxRoomsPerIp: 20,
  headersTimeout: 10_000,
  historySize: 500,
  historyTtl: 60 * 60_000,
  /** The flood limit: messages per connection per window. */
  rateLimit: 30,
  rateWindow: 10_000,
  /** A chat connection with this much unread output is not reading: it is closed (1013) rather than buffered for. */
  maxBufferedAmount: 1024 * 1024,
} as const;

const PAGE_DIR = new URL('../../../src/chat/page/', import.meta.url);
const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/outbox.js': ['outbox.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};
const CHAT_OPTIONS = [
  'port',
  'host',
  'tls',
  'echo',
  'rateLimit',
  'rateWindow',
  'maxConnections',
  'maxConnectionsPerIp',
  'maxRooms',
  'maxRoomsPerIp',
  'headersTimeout',
  'historySize',
  'historyTtl',
  'engine',
  'presenceTtl',
] as const;

/** Bad options fail here, each with what is allowed (the hub checks presenceTtl and the engine). */
function checkChatOptions(options: ChatServerOptions): void {
  const what = 'ChatServer';
  checkKnownKeys(what, options, CHAT_OPTIONS);
  for (const name of [
    'rateLimit',
    'maxConnections',
    'maxConnectionsPerIp',
    'maxRooms',
    'maxRoomsPerIp',
  ] as const)
    checkInteger(what, name, options[name], 0, MAX_TIMER_MS);
  checkInteger(what, 'historySize', options.historySize, 1, MAX_TIMER_MS);
  checkInteger(what, 'port', options.port, 0, 65535);
  for (const name of ['rateWindow', 'headersTimeout', 'historyTtl'] as const)
    checkMilliseconds(what, name, options[name]);
  checkBoolean(what, 'echo', options.echo);
}

export class ChatServer {
  readonly http: http.Server | https.Server;
  readonly chat: WebSocketServer;
  readonly echo: WebSocketServer | undefined;
  /** The messaging hub the rooms live on (its engine holds history and presence). */
  readonly hub: Hub;
  private readonly rooms: Rooms<ChatSession>;
  private readonly presence: Coalescer;

  constructor(private readonly options: ChatServerOptions = {}) {
    checkChatOptions(options);
    this.rooms = new Rooms({
      maxRooms: options.maxRooms ?? CHAT_DEFAULTS.maxRooms,
      maxRoomsPerIp: options.maxRoomsPerIp ?? CHAT_DEFAULTS.maxRoomsPerIp,
    });
    const quota = new ConnectionQuota(
      options.maxConnections ?? CHAT_DEFAULTS.maxConnections,
      options.maxConnectionsPerIp ?? CHAT_DEFAULTS.maxConnectionsPerIp,
    );
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => void this.serveAsset(req, res);
    // Slowloris: cut a request head that is not complete within the same deadline
    // standalone servers use (Node's default is 60 s), checked every second (Node: 30 s).
    const headersTimeout = options.headersTimeout ?? CHAT_DEFAULTS.headersTimeout;
    const limits = { headersTimeout, requestTimeout: headersTimeout, connectionsCheckingInterval: 1000 };
    this.http = options.tls
      ? https.createServer({ ...limits, ...options.tls }, onRequest)
      : http.createServer(limits, onRequest);
    this.hub = new Hub({
      // Raw hub clients at /connection: anonymous, confined to demo:* (public-hub.ts says why).
      server: this.http,
      ...publicHubOptions(),
      // One count for /chat and /connection together (connection-quota.ts says why).
      websocket: { authenticate: (request) => quota.admit(request) },
      engine: options.engine,
      namespaces: {
        room: {
          historySize: options.historySize ?? CHAT_DEFAULTS.historySize,
          historyTtl: options.historyTtl ?? CHAT_DEFAULTS.historyTtl,
          presence: true,
          joinLeave: true,
          // Only the chat's local connections can publish (canPublish refuses /connection clients).
          clientPublish: true,
        },
        [DEMO_NAMESPACE]: DEMO_NAMESPACE_OPTIONS,
      },
      presenceTtl: options.presenceTtl,
    });
    this.chat = new WebSocketServer({
      server: this.http,
      path: '/chat',
      maxMessageSize: 64 * 1024,
      authenticate: (request) => quota.admit(request),
      maxBufferedAmount: CHAT_DEFAULTS.maxBufferedAmount,
    });
    this.presence = new Coalescer(this.chat);
    const sessionOptions = {
      hub: this.hub,
      rooms: this.rooms,
      rateLimit: options.rateLimit ?? CHAT_DEFAULTS.rateLimit,
      rateWindow: options.rateWindow ?? CHAT_DEFAULTS.rateWindow,
      presence: this.presence,
      departures: new Departures(this.hub),
    };
    this.chat.on('connection', (ws) => {
      new ChatSession(ws, ws.clientAddress ?? ws.remoteAddress ?? '', sessionOptions);
    });
    if (options.echo) {
      this.echo = new WebSocketServer({ server: this.http, path: '/echo' });
      this.echo.on('connection', (ws) =>
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
      );
    }
  }

  async listen(): Promise<AddressInfo> {
    await this.hub.started; // the engine (e.g. Redis) is up; the hub listens with this.http
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 8000, this.options.host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** Graceful shutdown: 1001 to every client, then stop listening and close the engine. */
  async close(): Promise<void> {
    this.presence.close();
    // The hub's /connection clients hold the http server open: told to reconnect (4000) now; the
    // hub itself (the chat's in-process connections, then the engine) closes after the chat.
    for (const session of this.hub.sessions.values()) {
      if (session.ws instanceof WebSocket) session.disconnect(CloseCodes.shutdown, 'server shutting down');
    }
    const closing = [this.chat.close(), this.echo?.close(), this.hub.wss.close()];
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections?.();
    await Promise.all(closing);
    await stopped;
    await this.hub.close();
  }

  private async serveAsset(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (serveBrowserSdk(req, res)) return; // /socketeer-messaging.js, for pages of one's own
    const path = (req.url ?? '/').split('?')[0]!;
    // Health for load balancers (socketeer proxy --health /readyz): alive, and ready = the
    // engine (e.g. Redis) can serve publishes and history.
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' || this.hub.engine.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
      res.end(ok ? 'ok\n' : `not ready: ${this.hub.engine.name} engine unavailable\n`);
      return;
    }
    const asset = ASSETS[path];
    if (path === '/favicon.ico' && (req.method === 'GET' || req.method === 'HEAD')) {
      // Browsers ask for it whatever the page says; the page links /favicon.svg. No 404 in the console.
      res.writeHead(204, { 'Cache-Control': 'max-age=86400' }).end();
      return;
    }
    if (!asset) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`nothing at ${path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('use GET\n');
      return;
    }
    try {
      const body = await readFile(new URL(asset[0], PAGE_DIR));
      res.writeHead(200, {
        'Content-Type': asset[1],
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('page assets missing\n');
    }
  }
}
