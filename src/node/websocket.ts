import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Role } from '../protocol/connection.js';
import { CloseCode } from '../protocol/constants.js';
import { InvalidStateError } from '../protocol/errors.js';
import { startClientHandshake } from './client/handshake.js';
import type { ClientOptions } from './client/options.js';
import { ClosingPolicy } from './closing.js';
import type { PerMessageDeflate } from './deflate.js';
import type { Monitored } from './heartbeat.js';
import {
  kAttach,
  kCloseUnchecked,
  kFailHandshake,
  kHeartbeatPing,
  kRestartHandshake,
  kServerSide,
  kWriteFrame,
} from './internal.js';
import { iterateMessages, type WebSocketMessage } from './message-iterator.js';
import type { ConnectionSettings } from './options.js';
import { kPreparedFrame, PreparedMessage } from './prepared-message.js';
import { RateLimiter } from './rate-limiter.js';
import { isPausedFor, PauseReason, pauseReading, resumeReading } from './read-gate.js';
import { type SendData, toBuffer } from './send-queue.js';
import type { WriteCallback } from './write-batch.js';

/**
 * A WebSocket connection over a Node stream, for both ends: the client creates
 * it from a URL; the server hands out ones built around upgraded sockets. The
 * protocol lives in the sans-I/O Connection; this class is the public API over
 * the layers it inherits, one job each: transport-binding.ts (socket <->
 * Connection, early bytes, close timer, 'close'), outgoing-path.ts (frame
 * order behind compression and fragments), backpressure.ts (high-water mark,
 * slow-consumer cap, held pongs) and closing.ts (close codes, the library's
 * own closes). Layers rather than member objects: no extra allocation per
 * connection, and every call on the hot paths stays on one object.
 *
 * Events: 'open', 'message' (data: string | Buffer, isBinary), 'ping', 'pong',
 * 'close' (code, reason), 'error'. 'error' is emitted only when someone listens,
 * so a misbehaving peer can never crash a process that forgot the listener; the
 * error is also kept in `lastError` and its message becomes the close reason.
 */

export type { WebSocketMessage } from './message-iterator.js';
export type { ConnectionSettings } from './options.js';
export type { SendData } from './send-queue.js';
export type { WriteCallback } from './write-batch.js';

export interface SendOptions {
  /** Send as binary (default: true for buffers, false for strings). */
  binary?: boolean;
  /** False to send a fragment of a message; the message ends with the next fin: true. */
  fin?: boolean;
  /** With permessage-deflate: false sends this message uncompressed (default: compress above the threshold). */
  compress?: boolean;
}

/** The options object as second argument (ws style), rather than subprotocols. */
function isOptionsObject(value: unknown): value is ClientOptions & { protocols?: string | string[] } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(Symbol.iterator in value);
}

const EMPTY = Buffer.alloc(0);

export interface WebSocketEventMap {
  open: [];
  /** Client side, just before 'open': the server's 101 response (headers such as Set-Cookie). */
  upgrade: [response: IncomingMessage];
  message: [data: string | Buffer, isBinary: boolean];
  ping: [payload: Buffer];
  pong: [payload: Buffer];
  close: [code: number, reason: string];
  error: [error: Error];
  /** The buffer fell to the low-water mark after send() returned false. */
  drain: [];
  /** slowConsumer: 'drop' discarded a message because maxBufferedAmount was reached. */
  drop: [data: SendData];
}

// Typed listeners for the events above (declaration merging with the class).
export interface WebSocket {
  on<K extends keyof WebSocketEventMap>(event: K, listener: (...args: WebSocketEventMap[K]) => void): this;
  once<K extends keyof WebSocketEventMap>(event: K, listener: (...args: WebSocketEventMap[K]) => void): this;
  off<K extends keyof WebSocketEventMap>(event: K, listener: (...args: WebSocketEventMap[K]) => void): this;
  emit<K extends keyof WebSocketEventMap>(event: K, ...args: WebSocketEventMap[K]): boolean;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only adds typed overloads of EventEmitter methods
export class WebSocket extends ClosingPolicy implements Monitored {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  /** The subprotocol the server selected ('' for none). */
  protocol = '';
  /** The extensions in use, as negotiated in Sec-WebSocket-Extensions ('' for none). */
  extensions = '';
  /** The URL this client connected to; for server-side sockets, the request path. */
  url = '';
  /** maxMessageRate's counter, created on the first message when a limit is set. */
  private rateLimiter: RateLimiter | undefined;

  /**
   * Connect to a ws:// or wss:// URL, offering `protocols`; the options may
   * come second, as with ws: `new WebSocket(url, { headers })`.
   * (Server-side sockets are created by WebSocketServer.)
   */
  /** @internal For ServerWebSocket: no handshake to start. */
  constructor(serverSide: typeof kServerSide);
  constructor(address: string | URL, options?: ClientOptions & { protocols?: string | string[] });
  constructor(address: string | URL, protocols?: string | string[], options?: ClientOptions);
  constructor(
    address: string | URL | typeof kServerSide,
    protocols?: string | string[] | (ClientOptions & { protocols?: string | string[] }),
    options?: ClientOptions,
  ) {
    super();
    if (address === kServerSide) return;
    if (isOptionsObject(protocols)) {
      if (options !== undefined) {
        throw new TypeError(
          'WebSocket: give the options either second (with "protocols") or third, not both',
        );
      }
      const { protocols: offered, ...rest } = protocols;
      this.abortHandshake = startClientHandshake(this, address, offered, rest);
    } else {
      this.abortHandshake = startClientHandshake(this, address, protocols, options ?? {});
    }
  }

  /** Connect and resolve once open; rejects with the cause when the connection cannot be made. */
  static connect(address: string | URL, options: ClientOptions & { protocols?: string | string[] } = {}) {
    const { protocols, ...rest } = options;
    const ws = new WebSocket(address, protocols, rest);
    return new Promise<WebSocket>((resolve, reject) => {
      const onClose = () => reject(ws.lastError ?? new Error(`connection closed: ${ws.closeReason}`));
      ws.once('close', onClose);
      ws.once('open', () => {
        ws.off('close', onClose);
        resolve(ws);
      });
    });
  }

  /**
   * Send a message. Returns false when the socket's buffer is full and the caller
   * should wait for the socket to drain. Throws InvalidStateError unless OPEN:
   * data is never dropped without the caller knowing.
   */
  send(data: SendData, options?: SendOptions | WriteCallback, callback?: WriteCallback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    this.assertOpen('send');
    if (this.overCap(data, callback)) return false;
    const fin = options?.fin ?? true;
    if (this.settings?.stats && fin) this.settings.stats.messagesOut++;
    const binary = options?.binary ?? typeof data !== 'string';
    this.sendInOrder(data, binary, fin, options?.compress !== false, callback);
    return this.belowHighWater();
  }

  /**
   * Send and wait until the buffer is back at the low-water mark: a natural pace
   * for producers. Rejects if the connection closes first.
   */
  async sendAsync(data: SendData, options?: SendOptions): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.send(data, options, (error) => (error ? reject(error) : resolve()));
    });
    await this.drained();
  }

  /**
   * Send a message framed once for many connections (see PreparedMessage), in
   * order with this connection's other sends and bounded like send() (it counts
   * in bufferedAmount and obeys maxBufferedAmount). Server side only: a
   * client masks each frame (RFC 6455 section 5.3), so it cannot share bytes.
   * Returns false when the caller should wait for 'drain' (or it was dropped).
   */
  sendPrepared(message: PreparedMessage): boolean {
    if (!(message instanceof PreparedMessage)) {
      throw new TypeError('sendPrepared takes a PreparedMessage (new PreparedMessage(data, {binary}))');
    }
    this.assertOpen('send');
    if (this.connection!.role !== 'server') {
      throw new InvalidStateError('sendPrepared is for server-side connections: a client masks every frame');
    }
    return this[kWriteFrame](message[kPreparedFrame], message.messageCount) && this.belowHighWater();
  }

  /**
   * Write a frame encoded once for many connections (broadcast/publish), in
   * order with this connection's own sends. Returns false if not OPEN or the
   * slow-consumer cap refused it. `messages` is how many WebSocket messages the
   * bytes carry (a PreparedMessage.concat batch carries several), for stats().
   */
  [kWriteFrame](frame: Buffer[], messages = 1): boolean {
    if (this.readyState !== WebSocket.OPEN || this.connection?.state !== 'open') return false;
    if (this.sharedOverCap(frame)) return false;
    if (this.settings?.stats) this.settings.stats.messagesOut += messages;
    this.writeShared(frame);
    return true;
  }

  /** Send a ping (payload at most 125 bytes). */
  ping(data: SendData = EMPTY, callback?: WriteCallback): boolean {
    this.assertOpen('ping');
    const connection = this.connection!;
    return this.writeFrames(callback, () => connection.ping(toBuffer(data)));
  }

  /** Send an unsolicited pong (payload at most 125 bytes); pings are answered automatically. */
  pong(data: SendData = EMPTY, callback?: WriteCallback): boolean {
    this.assertOpen('pong');
    const connection = this.connection!;
    return this.writeFrames(callback, () => connection.pong(toBuffer(data)));
  }

  [kHeartbeatPing](): void {
    if (this.readyState === WebSocket.OPEN) this.ping();
  }

  /** Take over an upgraded socket; `head` holds bytes that arrived with the handshake. */
  [kAttach](
    socket: Duplex,
    head: Buffer,
    role: Role,
    settings: ConnectionSettings,
    deflate?: PerMessageDeflate,
  ): void {
    this.abortHandshake = undefined;
    this.bind(socket, head, role, settings, deflate);
  }

  /** Follow a redirect: a new handshake replaces the current one. */
  [kRestartHandshake](start: () => (reason: string) => void): void {
    this.abortHandshake = start();
  }

  /** The client handshake failed: report it and close (1006). */
  [kFailHandshake](error: Error): void {
    if (this.readyState === WebSocket.CLOSED) return;
    this.readyState = WebSocket.CLOSED;
    this.abortHandshake = undefined;
    this.reportError(error);
    this.closeCode = CloseCode.Abnormal;
    this.closeReason = error.message;
    this.emit('close', this.closeCode, this.closeReason);
  }

  /**
   * Stop reading from the socket: no more 'message' events (beyond those
   * already received) until resume(); the peer feels TCP backpressure. A no-op
   * unless OPEN. Closing resumes, to read the peer's Close.
   */
  pause(): void {
    if (this.readyState === WebSocket.OPEN && this.socket) pauseReading(this.socket, PauseReason.User);
  }

  /** Undo pause(). */
  resume(): void {
    if (this.socket) resumeReading(this.socket, PauseReason.User);
  }

  /** Whether pause() is in effect. */
  get isPaused(): boolean {
    return this.socket !== null && isPausedFor(this.socket, PauseReason.User);
  }

  /**
   * Iterate over incoming messages: `for await (const { data, isBinary } of ws)`.
   * When the loop falls behind, reading from the socket pauses (TCP backpressure
   * reaches the peer) and resumes as the loop catches up. Ends when the
   * connection closes (see closeCode) or the loop breaks.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<WebSocketMessage> {
    return iterateMessages(this, this.readyState === WebSocket.CLOSED, () => this.socket);
  }

  /** True (and closing with 1008) when the peer exceeds maxMessageRate (data messages and pings). */
  protected override overRate(): boolean {
    const limit = this.settings?.maxMessageRate ?? 0;
    if (limit === 0) return false;
    if ((this.rateLimiter ??= new RateLimiter(limit)).take()) return false;
    if (this.readyState === WebSocket.OPEN) {
      this[kCloseUnchecked](CloseCode.PolicyViolation, `more than ${limit} messages or pings per second`);
    }
    return true;
  }

  private assertOpen(what: string): void {
    if (this.readyState !== WebSocket.OPEN) {
      const state = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][this.readyState];
      throw new InvalidStateError(`cannot ${what}: the WebSocket is ${state}`);
    }
  }
}
