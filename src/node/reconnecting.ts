import { EventEmitter } from 'node:events';
import { CloseCode } from '../protocol/constants.js';
import { HandshakeError, InvalidStateError } from '../protocol/errors.js';
import type { ClientOptions } from './client/options.js';
import { DEFAULTS, MAX_INT32 } from './defaults.js';
import { checkInteger, checkKnownKeys, checkMilliseconds } from './options.js';
import type { SendData, SendOptions } from './websocket.js';
import { WebSocket } from './websocket.js';

/**
 * A client that reconnects by itself: exponential backoff with full jitter, a
 * cap and an attempt limit; it reconnects after abnormal closes and network
 * errors, never after the application's own close() or the close codes it is
 * told to respect. Messages sent while reconnecting wait, in order, up to a
 * bound, and are flushed once connected again; past the bound send() throws.
 *
 * Events: 'open' (each connection), 'message', 'reconnecting' (attempt, delay
 * ms, code, reason), 'reconnected', 'close' (final: code, reason), 'error'.
 */

export interface ReconnectOptions {
  /** First delay in ms (default 500); doubles per attempt, randomised (full jitter). */
  initialDelay?: number;
  /** Cap on the delay in ms (default 30000). */
  maxDelay?: number;
  /** Give up after this many attempts in a row (default 0: never). */
  maxAttempts?: number;
  /** Close codes after which no reconnection is tried (default 1000, 1002, 1003, 1007, 1008, 1009, 1010). */
  stopCodes?: number[];
  /** Messages kept while disconnected (default 1000). */
  maxQueued?: number;
}

const RECONNECT_OPTIONS = ['initialDelay', 'maxDelay', 'maxAttempts', 'stopCodes', 'maxQueued'] as const;
const WHAT = 'ReconnectingWebSocket';

export interface ReconnectingWebSocketEventMap {
  /** Each connection opened (the first and every reconnection). */
  open: [];
  message: [data: string | Buffer, isBinary: boolean];
  /** A reconnection is scheduled: attempt number, delay in ms, and why the last connection ended. */
  reconnecting: [attempt: number, delay: number, code: number, reason: string];
  /** Connected again after a loss. */
  reconnected: [];
  /** The final close: no more reconnections. */
  close: [code: number, reason: string];
  error: [error: Error];
}

type ReconnectingListener<K extends keyof ReconnectingWebSocketEventMap> = (
  ...args: ReconnectingWebSocketEventMap[K]
) => void;

// Typed listeners for the events above (declaration merging with the class).
export interface ReconnectingWebSocket {
  on<K extends keyof ReconnectingWebSocketEventMap>(event: K, listener: ReconnectingListener<K>): this;
  once<K extends keyof ReconnectingWebSocketEventMap>(event: K, listener: ReconnectingListener<K>): this;
  off<K extends keyof ReconnectingWebSocketEventMap>(event: K, listener: ReconnectingListener<K>): this;
  emit<K extends keyof ReconnectingWebSocketEventMap>(
    event: K,
    ...args: ReconnectingWebSocketEventMap[K]
  ): boolean;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only adds typed overloads of EventEmitter methods
export class ReconnectingWebSocket extends EventEmitter {
  private current: WebSocket | null = null;
  private readonly queue: Array<[SendData, SendOptions | undefined]> = [];
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private connectedOnce = false;
  private readonly initialDelay: number;
  private readonly maxDelay: number;
  private readonly maxAttempts: number;
  private readonly stopCodes: Set<number>;
  private readonly maxQueued: number;

  constructor(
    readonly url: string,
    private readonly options: ClientOptions & {
      protocols?: string | string[];
      reconnect?: ReconnectOptions;
    } = {},
  ) {
    super();
    const r = options.reconnect ?? {};
    checkKnownKeys(`${WHAT} reconnect`, r, RECONNECT_OPTIONS);
    this.initialDelay =
      checkMilliseconds(WHAT, 'initialDelay', r.initialDelay) ?? DEFAULTS.reconnectInitialDelay;
    this.maxDelay = checkMilliseconds(WHAT, 'maxDelay', r.maxDelay) ?? DEFAULTS.reconnectMaxDelay;
    this.maxAttempts =
      checkInteger(WHAT, 'maxAttempts', r.maxAttempts, 0, MAX_INT32) ?? DEFAULTS.reconnectMaxAttempts;
    this.maxQueued =
      checkInteger(WHAT, 'maxQueued', r.maxQueued, 0, MAX_INT32) ?? DEFAULTS.reconnectMaxQueued;
    this.stopCodes = new Set(r.stopCodes ?? DEFAULTS.reconnectStopCodes);
    this.connect();
  }

  get readyState(): number {
    if (this.stopped && !this.current) return WebSocket.CLOSED;
    return this.current?.readyState ?? WebSocket.CONNECTING;
  }

  /** The live connection, if any. */
  get socket(): WebSocket | null {
    return this.current;
  }

  /** Messages waiting for the next connection. */
  get queued(): number {
    return this.queue.length;
  }

  /** Send now if connected, else queue (in order) for the next connection. */
  send(data: SendData, options?: SendOptions): void {
    if (this.stopped) throw new InvalidStateError('cannot send: the client was closed');
    if (this.current?.readyState === WebSocket.OPEN && this.queue.length === 0) {
      this.current.send(data, options);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      throw new InvalidStateError(`cannot send: ${this.maxQueued} messages already wait for a reconnection`);
    }
    this.queue.push([typeof data === 'string' ? data : Buffer.from(data as Uint8Array), options]);
  }

  /** Close for good: no more reconnections; queued messages are discarded with an error event if any. */
  close(code = 1000, reason = ''): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.current && this.current.readyState < WebSocket.CLOSING) {
      this.current.close(code, reason);
    } else if (!this.current || this.current.readyState === WebSocket.CLOSED) {
      this.finish(code, reason);
    }
  }

  private connect(): void {
    const { reconnect: _ignored, protocols, ...clientOptions } = this.options;
    const ws = new WebSocket(this.url, protocols, clientOptions);
    this.current = ws;
    ws.on('open', () => {
      this.attempts = 0;
      const again = this.connectedOnce;
      this.connectedOnce = true;
      this.emit('open');
      if (again) this.emit('reconnected');
      this.flush();
    });
    ws.on('message', (data, isBinary) => this.emit('message', data, isBinary));
    ws.on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    ws.on('close', (code, reason) => {
      if (this.current === ws) this.current = null;
      if (this.stopped || !this.shouldReconnect(code, ws.lastError)) {
        this.stopped = true;
        return this.finish(code, reason);
      }
      this.attempts++;
      if (this.maxAttempts > 0 && this.attempts > this.maxAttempts) {
        this.stopped = true;
        return this.finish(code, `gave up after ${this.maxAttempts} reconnection attempts: ${reason}`);
      }
      // Full jitter: a random delay up to the exponential bound spreads a crowd of clients out.
      const bound = Math.min(this.maxDelay, this.initialDelay * 2 ** (this.attempts - 1));
      const delay = Math.floor(Math.random() * bound);
      this.emit('reconnecting', this.attempts, delay, code, reason);
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  private shouldReconnect(code: number, error: Error | undefined): boolean {
    if (error instanceof HandshakeError && error.statusCode !== undefined) {
      // 4xx (bad URL, refused credentials) will not fix itself; 429 and 5xx may.
      return error.statusCode === 429 || error.statusCode >= 500;
    }
    return !this.stopCodes.has(code);
  }

  private flush(): void {
    const ws = this.current;
    while (ws?.readyState === WebSocket.OPEN && this.queue.length > 0) {
      const [data, options] = this.queue.shift()!;
      ws.send(data, options);
    }
  }

  private finish(code: number, reason: string): void {
    if (this.queue.length > 0 && this.listenerCount('error') > 0) {
      this.emit('error', new InvalidStateError(`${this.queue.length} queued messages were not sent: closed`));
    }
    this.queue.length = 0;
    this.emit('close', code ?? CloseCode.Abnormal, reason);
  }
}
