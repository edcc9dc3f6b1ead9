import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildAcceptResponse } from '../../protocol/handshake.js';
import { acceptOffer } from '../../protocol/permessage-deflate.js';
import { PerMessageDeflate } from '../deflate.js';
import { kAttach } from '../internal.js';
import type { ConnectionSettings } from '../options.js';
import type { SendData } from '../send-queue.js';
import {
  type Admitted,
  AUTH_FAILED,
  admit,
  asError,
  authenticate,
  type Refusal,
  SHUTTING_DOWN,
} from './admission.js';
import { resolveServerConfig, type ServerConfig, type ServerOptions, WHAT } from './config.js';
import { ServerConnections } from './connections.js';
import { ConnectionLimits } from './limits.js';
import { ServerWebSocket } from './server-websocket.js';
import { StandaloneListener } from './standalone.js';
import { ServerCounters, type ServerStats } from './stats.js';
import { type BroadcastOptions, broadcast, TopicRegistry } from './topics.js';
import { addRoute, rejectSocket, removeRoute, type UpgradeRoute } from './upgrade-router.js';

/**
 * Accepts WebSocket connections: standalone on a port (ws:// or, with `tls`,
 * wss://), attached to an existing http/https server (several servers with
 * different paths may share one), or fed by the application through
 * handleUpgrade() (Express, Fastify, Koa, ...). `User` is the type of what
 * `authenticate` attaches as `ws.user`.
 */

export type UpgradeCallback<User> = (ws: ServerWebSocket<User>, request: http.IncomingMessage) => void;

export interface WebSocketServerEventMap<User = unknown> {
  connection: [ws: ServerWebSocket<User>, request: http.IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
}

type Listener<User, K extends keyof WebSocketServerEventMap<User>> = (
  ...args: WebSocketServerEventMap<User>[K]
) => void;

// Typed listeners for the events above (declaration merging with the class).
export interface WebSocketServer<User = unknown> {
  on<K extends keyof WebSocketServerEventMap<User>>(event: K, listener: Listener<User, K>): this;
  once<K extends keyof WebSocketServerEventMap<User>>(event: K, listener: Listener<User, K>): this;
  off<K extends keyof WebSocketServerEventMap<User>>(event: K, listener: Listener<User, K>): this;
}

/** One handshake on its way: what handleUpgrade was given. */
interface Upgrade<User> {
  request: http.IncomingMessage;
  socket: Duplex;
  head: Buffer;
  callback: UpgradeCallback<User> | undefined;
  /** Until the connection exists, errors on the socket only destroy it. */
  onEarlyError: () => void;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only adds typed overloads of EventEmitter methods
export class WebSocketServer<User = unknown> extends EventEmitter {
  /** Open connections (readyState OPEN): a socket leaves as soon as it starts closing. */
  readonly clients: Set<ServerWebSocket<User>>;
  private readonly connections: ServerConnections<User>;
  readonly path: string | undefined;
  private readonly config: ServerConfig<User>;
  /** What every connection shares: its settings and the server's message counters. */
  private readonly settings: ConnectionSettings;
  private readonly counters = new ServerCounters();
  private readonly limits: ConnectionLimits;
  private readonly topics = new TopicRegistry<ServerWebSocket<User>>();
  private readonly standalone: StandaloneListener | undefined;
  /** Attached: the application's server, and our route on it. */
  private readonly attachedTo: http.Server | undefined;
  private readonly route: UpgradeRoute | undefined;
  /** Standalone: settles when listening starts or fails (see listening()). */
  private readonly started: Promise<void>;
  private startObserved = false;
  private closing = false;
  /** handleUpgrade's callback is running for this socket: a 'connection' it emits counts as ours. */
  private announcing: ServerWebSocket<User> | undefined;
  private announced = false;

  constructor(options: ServerOptions<User>, onListening?: () => void) {
    super();
    const config = resolveServerConfig(options);
    this.config = config;
    this.path = config.path;
    this.settings = { ...config.connection, stats: this.counters.messages };
    this.limits = new ConnectionLimits(config.maxConnections, config.maxConnectionsPerIp);
    this.connections = new ServerConnections(config.heartbeat, this.counters);
    this.clients = this.connections.open;
    const mode = config.mode;
    if (mode.kind === 'attached') {
      // Share the server's 'upgrade' event with other endpoints, by path.
      this.attachedTo = mode.server as http.Server;
      this.route = {
        path: config.path,
        handle: (req, socket, head) => this.handleUpgrade(req, socket, head),
      };
      addRoute(this.attachedTo, this.route);
    }
    if (mode.kind !== 'standalone') {
      this.started = Promise.resolve();
      return;
    }
    const listener = new StandaloneListener(mode, config, {
      upgrade: (request, socket, head) => this.handleUpgrade(request, socket, head),
      refuse: (socket, refusal) => this.refuse(socket, refusal),
    });
    this.standalone = listener;
    this.started = new Promise<void>((resolve, reject) => {
      listener.server.once('listening', resolve);
      listener.server.once('error', reject);
    });
    this.started.catch(() => {}); // observed by listening() or reported as 'error' below
    listener.server.on('error', (error) => this.onServerError(error));
    listener.server.on('listening', () => this.emit('listening'));
    if (onListening) this.once('listening', onListening);
    listener.listen(mode);
  }

  /** The listening address (standalone or attached), as net.Server.address() gives it. */
  address(): AddressInfo | string | null {
    const server = this.standalone?.server ?? this.attachedTo;
    if (!server) throw new Error(`${WHAT}: a noServer server has no address`);
    return server.address();
  }

  /**
   * Resolves once listening (standalone servers; attached servers once theirs
   * listens). Rejects when listening fails (EADDRINUSE, EACCES, ...): awaiting
   * it is handling the error, so no 'error' event is needed then.
   */
  listening(): Promise<void> {
    this.startObserved = true;
    const attached = this.attachedTo;
    if (!attached || attached.listening) return this.started;
    return new Promise((resolve, reject) => {
      attached.once('listening', resolve);
      attached.once('error', reject);
    });
  }

  /** Send one message to every open connection (or those `filter` accepts), framed once. Returns the number of recipients. */
  broadcast(data: SendData, options: BroadcastOptions<ServerWebSocket<User>> = {}): number {
    return broadcast(this.clients, data, options);
  }

  /** Send one message to the subscribers of `topic` (see ws.subscribe), framed once. Returns the number of recipients. */
  publish(topic: string, data: SendData, options: { binary?: boolean } = {}): number {
    return this.topics.publish(topic, data, options);
  }

  /** Number of subscribers of a topic. */
  subscribers(topic: string): number {
    return this.topics.subscribers(topic);
  }

  /**
   * A snapshot of live counts: open connections, messages and bytes in and out
   * (closed connections included), messages dropped by slowConsumer: 'drop',
   * accepted handshakes and refusals by reason.
   */
  stats(): ServerStats {
    return this.counters.snapshot(this.connections.all(), this.clients.size, this.limits.pending);
  }

  /**
   * Complete (or refuse) a WebSocket handshake for a request the application
   * received in its 'upgrade' handler. On success the callback gets the new
   * WebSocket and 'connection' is emitted once: the ws idiom
   * `(ws) => server.emit('connection', ws, request)` in the callback is that
   * one emission, not a second. A refused request gets its HTTP error.
   */
  handleUpgrade(
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback?: UpgradeCallback<User>,
  ): void {
    // Errors on a half-made connection must not reach the process.
    const onEarlyError = () => socket.destroy();
    socket.on('error', onEarlyError);
    const upgrade: Upgrade<User> = { request, socket, head, callback, onEarlyError };
    const admitted = admit({
      request,
      config: this.config,
      limits: this.limits,
      closing: this.closing,
      openConnections: this.connections.size,
    });
    if (!admitted.ok) return this.refuse(socket, admitted);
    this.limits.hold(socket, admitted.client.address);
    if (!this.config.authenticate) return this.complete(upgrade, admitted, undefined);
    // Nothing is allocated for the connection until the hook has said yes.
    void authenticate(this.config, request)
      .then((verdict) => {
        if (verdict.ok === true) return this.complete(upgrade, admitted, verdict.user);
        this.limits.settled();
        if (verdict.ok === false) return this.refuse(socket, verdict);
        this.refuse(socket, { ...AUTH_FAILED, error: verdict.error });
      })
      .catch((error: unknown) => {
        // Nothing sent yet: the hook's answer could not be written (headers with line breaks).
        if ((socket as Socket).bytesWritten === 0 && socket.writableLength === 0) {
          return this.refuse(socket, { ...AUTH_FAILED, body: 'internal error', error: asError(error) });
        }
        // Thrown by a 'connection' listener: the application's, surfaced as from any listener.
        process.nextTick(() => {
          throw error;
        });
      });
  }

  /**
   * Stop accepting, close every connection with 1001 (Going Away) and resolve
   * when all sockets are gone. Connections that do not finish the closing
   * handshake are dropped after their close timeout.
   */
  close(callback?: (error?: Error) => void): Promise<void> {
    this.closing = true;
    if (this.route && this.attachedTo) removeRoute(this.attachedTo, this.route);
    const waits = [this.connections.closeAll()];
    if (this.standalone) waits.push(this.standalone.close());
    const done = Promise.all(waits).then(() => {
      this.emit('close');
    });
    if (callback) done.then(() => callback(), callback);
    return done;
  }

  /** Counts 'connection' emitted by handleUpgrade's callback for the socket being announced (see there). */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'connection' && this.announcing !== undefined && args[0] === this.announcing) {
      this.announced = true;
    }
    return super.emit(event, ...args);
  }

  /** Answer with the refusal's HTTP error; a hook's failure is also reported on 'error' when listened to. */
  private refuse(socket: Duplex, refusal: Refusal): void {
    this.counters.refused(refusal.reason);
    rejectSocket(socket, refusal.status, refusal.body, refusal.headers);
    if (refusal.error && this.listenerCount('error') > 0) this.emit('error', refusal.error);
  }

  private complete(upgrade: Upgrade<User>, admitted: Admitted, user: User | undefined): void {
    const { request, socket } = upgrade;
    this.limits.settled();
    if (this.closing) return this.refuse(socket, SHUTTING_DOWN);
    if (!socket.writable || !socket.readable) {
      socket.destroy(); // the client left during the authenticate hook
      return;
    }
    const offer = this.config.deflate;
    const agreed = offer ? acceptOffer(admitted.check.extensions, offer) : null;
    socket.write(
      buildAcceptResponse(admitted.check.key, { protocol: admitted.protocol, extensions: agreed?.response }),
    );
    socket.off('error', upgrade.onEarlyError);
    const ws = new ServerWebSocket<User>(this.topics, user as User, admitted.client);
    ws.protocol = admitted.protocol ?? '';
    ws.extensions = agreed?.response ?? '';
    ws.url = request.url ?? '/';
    const deflate =
      agreed && offer
        ? new PerMessageDeflate(agreed.params, 'server', offer, this.settings.maxMessageSize)
        : undefined;
    this.connections.watch(ws);
    ws[kAttach](socket, upgrade.head, 'server', this.settings, deflate);
    this.connections.add(ws);
    this.counters.acceptedOne();
    this.announce(ws, request, upgrade.callback);
  }

  private announce(
    ws: ServerWebSocket<User>,
    request: http.IncomingMessage,
    callback?: UpgradeCallback<User>,
  ) {
    if (callback) {
      this.announcing = ws;
      this.announced = false;
      try {
        callback(ws, request);
      } finally {
        this.announcing = undefined;
      }
      if (this.announced) return;
    }
    this.emit('connection', ws, request);
  }

  /** A listen error (EADDRINUSE, ...): for listening()'s promise and 'error' listeners; unhandled only if neither. */
  private onServerError(error: Error): void {
    if (this.listenerCount('error') > 0 || !this.startObserved) this.emit('error', error);
  }
}
