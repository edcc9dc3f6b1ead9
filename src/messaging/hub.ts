/**
 * The messaging hub: a WebSocketServer speaking socketeer.v1.json
 * (docs/protocol.md), with channels, history and exact recovery, presence,
 * acknowledged idempotent publishes and RPC. Attaches like the core server:
 * its own port, a path on an existing http(s) server, or noServer +
 * handleUpgrade(). Channel state lives in the engine (memory by default).
 */

import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ServerOptions, WebSocketServer } from '../index.js';
import * as channelCommands from './channel-commands.js';
import type { HubContext, HubHooks, HubSettings, SessionLike } from './context.js';
import type { Engine, EngineHandler } from './engine.js';
import { Feeds } from './feeds.js';
import { checkHubOptions, type HubOptions } from './hub-options.js';
import { LocalConnection, type LocalConnectionOptions } from './local.js';
import { MemoryEngine } from './memory-engine.js';
import type { Namespace } from './namespaces.js';
import {
  type ClientInfo,
  CloseCodes,
  type HistoryParams,
  type HistoryResult,
  type PresenceResult,
  type PresenceStatsResult,
  type PublishResult,
  SUBPROTOCOL,
} from './protocol.js';
import { Session } from './session.js';

const WHAT = 'Hub';

export interface HubEventMap {
  /** A client completed `connect`. */
  connect: [session: Session];
  /** A connection closed (connected or not). */
  disconnect: [session: Session, code: number, reason: string];
  /** A hook, an RPC handler or the engine failed unexpectedly (the client got `internal`). */
  error: [error: Error];
  /** The engine's readiness changed. */
  readiness: [ready: boolean];
}

// Typed listeners for the events above (declaration merging with the class).
export interface Hub {
  on<K extends keyof HubEventMap>(event: K, listener: (...args: HubEventMap[K]) => void): this;
  once<K extends keyof HubEventMap>(event: K, listener: (...args: HubEventMap[K]) => void): this;
  off<K extends keyof HubEventMap>(event: K, listener: (...args: HubEventMap[K]) => void): this;
  emit<K extends keyof HubEventMap>(event: K, ...args: HubEventMap[K]): boolean;
}

function offersSubprotocol(request: IncomingMessage): boolean {
  const header = request.headers['sec-websocket-protocol'];
  if (!header) return false;
  return header.split(',').some((p) => p.trim() === SUBPROTOCOL);
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only adds typed overloads of EventEmitter methods
export class Hub extends EventEmitter implements HubContext {
  /** The WebSocketServer underneath (for stats and low-level options). */
  readonly wss: WebSocketServer;
  readonly engine: Engine;
  readonly settings: HubSettings;
  readonly hooks: HubHooks;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly feeds: Feeds;
  readonly started: Promise<void>;
  /** Connected sessions by client id. */
  readonly sessions = new Map<string, Session>();
  private readonly all = new Set<Session>();
  private readonly presenceTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  constructor(options: HubOptions, onListening?: () => void) {
    super();
    const checked = checkHubOptions(WHAT, options);
    this.settings = checked.settings;
    this.hooks = checked.hooks;
    this.namespaces = checked.namespaces;
    this.engine = checked.engine ?? new MemoryEngine();
    this.feeds = new Feeds(this.engine);
    const userAuthenticate = checked.websocket.authenticate;
    const wsOptions: ServerOptions = {
      // A messaging client's frames are small commands; big payloads belong elsewhere.
      maxMessageSize: 64 * 1024,
      // The hub bounds each client's queue itself (maxOutboundBytes, close 4001): the core's cap is off.
      maxBufferedAmount: 0,
      ...checked.websocket,
      port: options.port,
      host: options.host,
      tls: options.tls,
      server: options.server,
      noServer: options.noServer,
      path: options.path,
      protocols: [SUBPROTOCOL],
      authenticate: (request) => {
        if (!offersSubprotocol(request)) {
          return {
            reject: 400,
            body: `this endpoint speaks the WebSocket subprotocol "${SUBPROTOCOL}"; offer it in Sec-WebSocket-Protocol`,
          };
        }
        return userAuthenticate?.(request);
      },
    };
    for (const key of Object.keys(wsOptions) as (keyof ServerOptions)[]) {
      if (wsOptions[key] === undefined) delete wsOptions[key];
    }
    this.wss = new WebSocketServer(wsOptions, onListening);
    this.wss.on('connection', (ws, request) => {
      const session = new Session(this, ws, request);
      this.all.add(session);
      ws.on('message', (data, isBinary) => session.onMessage(data, isBinary));
      ws.on('close', (code, reason) => session.onClose(code, reason));
      ws.on('error', () => {}); // the close that follows cleans up
    });
    this.wss.on('error', (error) => this.reportError(error));
    this.started = this.engine.start(this.engineHandler());
    this.started.catch((error) => this.reportError(error));
    this.presenceTimer = setInterval(
      () => {
        for (const session of this.sessions.values()) session.refreshPresence();
      },
      Math.max(10, Math.floor(this.settings.presenceTtl / 3)),
    );
    this.presenceTimer.unref();
  }

  // ------------------------------------------------------------ transport

  address(): AddressInfo | string | null {
    return this.wss.address();
  }

  /** Resolves once listening (standalone) and the engine has started. */
  async listening(): Promise<void> {
    await Promise.all([this.wss.listening(), this.started]);
  }

  /** For noServer hubs: hand over an 'upgrade' request (refused with 400 without the subprotocol). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head);
  }

  /** Whether the engine can serve (for /readyz). */
  ready(): boolean {
    return this.engine.ready();
  }

  /**
   * Tell every client to reconnect elsewhere (disconnect push, close 4000),
   * stop accepting, and close the engine.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.presenceTimer);
      for (const session of this.all) session.disconnect(CloseCodes.shutdown, 'server shutting down');
      await this.wss.close();
      await this.engine.close();
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ server-side API

  /** Publish from the server (no publisher info). Resolves with the position once stored. */
  async publish(channel: string, data: unknown, options: { key?: string } = {}): Promise<PublishResult> {
    await this.started;
    return channelCommands.publish(this, undefined, channel, data, options.key);
  }

  async history(channel: string, options: Omit<HistoryParams, 'channel'> = {}): Promise<HistoryResult> {
    await this.started;
    return channelCommands.history(this, undefined, { ...options, channel });
  }

  async presence(channel: string): Promise<PresenceResult> {
    await this.started;
    return channelCommands.presence(this, undefined, channel);
  }

  async presenceStats(channel: string): Promise<PresenceStatsResult> {
    await this.started;
    return channelCommands.presenceStats(this, undefined, channel);
  }

  /**
   * An in-process connection with the given identity (the authenticate hook is
   * not asked): subscribe, publish, history, presence like a client, with every
   * push delivered to `onPush` in order. For bridging other protocols (the chat).
   */
  async connectLocal(options: LocalConnectionOptions): Promise<LocalConnection> {
    const connection = new LocalConnection(options);
    const identity = { user: options.user ?? '', info: options.info };
    const session = new Session(this, connection.transport, undefined, identity);
    connection.transport.session = session;
    this.all.add(session);
    const result = (await connection.call('connect')) as { client: string };
    connection.client = result.client;
    return connection;
  }

  /** Disconnect every connection of a user (e.g. banned: 4502, no reconnect). Returns how many. */
  disconnectUser(user: string, code: number = CloseCodes.forceNoReconnect, reason = 'disconnected'): number {
    let n = 0;
    for (const session of [...this.sessions.values()]) {
      if (session.user !== user) continue;
      session.disconnect(code, reason);
      n++;
    }
    return n;
  }

  // ------------------------------------------------------------ HubContext

  sessionConnected(session: SessionLike): void {
    this.sessions.set(session.client, session as Session);
    this.emit('connect', session as Session);
  }

  sessionClosed(session: SessionLike, code: number, reason: string): void {
    this.all.delete(session as Session);
    if (this.sessions.delete(session.client) || (session as Session).clientInfo) {
      this.emit('disconnect', session as Session, code, reason);
    }
  }

  reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  private engineHandler(): EngineHandler {
    const forEachLive = (kind: 'join' | 'leave', channel: string, info: ClientInfo) => {
      this.feeds.forEachLive(channel, (subscription) => {
        if (subscription.namespace.joinLeave) subscription.owner.joinLeave(kind, channel, info);
      });
    };
    return {
      publication: (channel, pub) => this.feeds.publication(channel, pub),
      join: (channel, info) => forEachLive('join', channel, info),
      leave: (channel, info) => forEachLive('leave', channel, info),
      resync: (channels) => this.feeds.resync(channels),
      readiness: (ready) => this.emit('readiness', ready),
    };
  }
}
