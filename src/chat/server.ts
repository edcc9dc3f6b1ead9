import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../node/server.js';
import type { WebSocket } from '../node/websocket.js';
import { CloseCode } from '../protocol/constants.js';
import { type ChatMessage, type ErrorCode, MAX_CHAT_FRAME, parseClientMessage } from './protocol.js';
import { type Room, Rooms } from './rooms.js';

/**
 * The chat demo: one HTTP(S) server that serves the page at / and the chat
 * WebSocket endpoint at /chat (and, optionally, an echo endpoint at /echo).
 * State lives in memory: rooms, presence and the last 50 messages per room.
 */

export interface ChatServerOptions {
  port?: number;
  host?: string;
  tls?: { cert: Buffer; key: Buffer };
  /** Also serve an echo endpoint at /echo. */
  echo?: boolean;
  /** Messages allowed per connection per 10 s before it is closed with 1008. */
  rateLimit?: number;
  /** Open chat connections at most (default 10000; 0: no limit); beyond it handshakes get 503. */
  maxConnections?: number;
  /** Open chat connections per client address (default 50; 0: no limit); beyond it 429. */
  maxConnectionsPerIp?: number;
  /** Rooms held in memory besides the lobby (default 1000). */
  maxRooms?: number;
  /** Different rooms the connections of one address may be in at once, the lobby not counted (default 20). */
  maxRoomsPerIp?: number;
  /** ms a client has to send its HTTP request head (default 10000, as standalone servers). */
  headersTimeout?: number;
}

export const CHAT_DEFAULTS = {
  maxConnections: 10_000,
  maxConnectionsPerIp: 50,
  maxRooms: 1000,
  maxRoomsPerIp: 20,
  headersTimeout: 10_000,
  /** A chat connection with this much unread output is not reading: it is closed (1013) rather than buffered for. */
  maxBufferedAmount: 1024 * 1024,
} as const;

const PAGE_DIR = new URL('../../../src/chat/page/', import.meta.url);
const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};
const RATE_WINDOW_MS = 10_000;
const MAX_ERRORS = 20;

interface Session {
  ip: string;
  nick: string | undefined;
  room: Room<WebSocket> | undefined;
  windowStart: number;
  count: number;
  errors: number;
}

export class ChatServer {
  readonly http: http.Server | https.Server;
  readonly chat: WebSocketServer;
  readonly echo: WebSocketServer | undefined;
  private readonly rooms: Rooms<WebSocket>;
  private readonly sessions = new Map<WebSocket, Session>();
  private readonly rateLimit: number;
  private nextId = 1;

  constructor(private readonly options: ChatServerOptions = {}) {
    this.rateLimit = options.rateLimit ?? 30;
    this.rooms = new Rooms({
      maxRooms: options.maxRooms ?? CHAT_DEFAULTS.maxRooms,
      maxRoomsPerIp: options.maxRoomsPerIp ?? CHAT_DEFAULTS.maxRoomsPerIp,
    });
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => void this.serveAsset(req, res);
    // Slowloris: cut a request head that is not complete within the same deadline
    // standalone servers use (Node's default is 60 s), checked every second (Node: 30 s).
    const headersTimeout = options.headersTimeout ?? CHAT_DEFAULTS.headersTimeout;
    const limits = { headersTimeout, requestTimeout: headersTimeout, connectionsCheckingInterval: 1000 };
    this.http = options.tls
      ? https.createServer({ ...limits, ...options.tls }, onRequest)
      : http.createServer(limits, onRequest);
    this.chat = new WebSocketServer({
      server: this.http,
      path: '/chat',
      maxMessageSize: 64 * 1024,
      maxConnections: options.maxConnections ?? CHAT_DEFAULTS.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp ?? CHAT_DEFAULTS.maxConnectionsPerIp,
      maxBufferedAmount: CHAT_DEFAULTS.maxBufferedAmount,
    });
    this.chat.on('connection', (ws) => this.accept(ws));
    if (options.echo) {
      this.echo = new WebSocketServer({ server: this.http, path: '/echo' });
      this.echo.on('connection', (ws) =>
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
      );
    }
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 8000, this.options.host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** Graceful shutdown: 1001 to every client, then stop listening. */
  async close(): Promise<void> {
    const closing = [this.chat.close(), this.echo?.close()];
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections?.();
    await Promise.all(closing);
    await stopped;
  }

  private async serveAsset(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
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

  private accept(ws: WebSocket): void {
    const session: Session = {
      ip: ws.clientAddress ?? ws.remoteAddress ?? '',
      nick: undefined,
      room: undefined,
      windowStart: Date.now(),
      count: 0,
      errors: 0,
    };
    this.sessions.set(ws, session);
    ws.on('message', (data, isBinary) => this.receive(ws, session, data, isBinary));
    ws.on('close', () => {
      this.leave(ws, session);
      this.sessions.delete(ws);
    });
  }

  private receive(ws: WebSocket, session: Session, data: string | Buffer, isBinary: boolean): void {
    const now = Date.now();
    if (now - session.windowStart > RATE_WINDOW_MS) {
      session.windowStart = now;
      session.count = 0;
    }
    if (++session.count > this.rateLimit) {
      return ws.close(CloseCode.PolicyViolation, 'flooding: too many messages');
    }
    if (data.length > MAX_CHAT_FRAME) {
      return ws.close(CloseCode.PolicyViolation, `message larger than ${MAX_CHAT_FRAME} bytes`);
    }
    if (isBinary) return this.reject(ws, session, 'binary-not-supported', 'send JSON text messages');
    const parsed = parseClientMessage(data as string);
    if (!parsed.ok) return this.reject(ws, session, parsed.code, parsed.message);
    const message = parsed.message;
    if (message.type === 'join') return this.join(ws, session, message.room, message.nick);
    if (!session.room || !session.nick) return this.reject(ws, session, 'not-joined', 'join a room first');
    const chat: ChatMessage = {
      type: 'message',
      id: this.nextId++,
      room: session.room.name,
      nick: session.nick,
      text: message.text,
      ts: now,
    };
    session.room.record(chat);
    this.broadcast(session.room, chat);
  }

  private join(ws: WebSocket, session: Session, roomName: string, nick: string): void {
    if (session.room?.name === roomName && session.nick === nick) return;
    this.leave(ws, session);
    const opened = this.rooms.open(roomName, session.ip);
    if ('refused' in opened) return this.reject(ws, session, 'room-limit', opened.refused);
    const room = opened.room;
    const lookalike = room.lookalike(nick);
    if (lookalike !== undefined) {
      const why = lookalike === nick ? '' : ` (too like "${lookalike}")`;
      return this.reject(ws, session, 'nick-taken', `"${nick}" is already in ${roomName}${why}`);
    }
    room.add(ws, nick);
    this.rooms.enter(room, session.ip);
    session.room = room;
    session.nick = nick;
    send(ws, { type: 'welcome', room: room.name, nick, users: room.users(), history: room.recent() });
    // A delta, not the member list: with N members a list per join costs O(N^2) in total.
    this.broadcast(room, { type: 'presence', event: 'join', nick, count: room.members.size }, ws);
  }

  private leave(ws: WebSocket, session: Session): void {
    const room = session.room;
    if (!room || !session.nick) return;
    room.members.delete(ws);
    this.rooms.exit(room, session.ip);
    this.broadcast(room, { type: 'presence', event: 'leave', nick: session.nick, count: room.members.size });
    session.room = undefined;
    session.nick = undefined;
  }

  private reject(ws: WebSocket, session: Session, code: ErrorCode, message: string): void {
    if (++session.errors > MAX_ERRORS) {
      return ws.close(CloseCode.PolicyViolation, 'too many invalid messages');
    }
    send(ws, { type: 'error', code, message });
  }

  /** Serialise once, send to every member (but `except`). */
  private broadcast(room: Room<WebSocket>, payload: object, except?: WebSocket): void {
    const text = JSON.stringify(payload);
    for (const member of room.members.keys()) {
      if (member !== except && member.readyState === member.OPEN) member.send(text);
    }
  }
}

function send(ws: WebSocket, payload: object): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
}
