import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Connection, type ConnectionHandler, type Role } from '../protocol/connection.js';
import { CloseCode } from '../protocol/constants.js';
import type { ProtocolError } from '../protocol/errors.js';
import { DeflateClosedError, type PerMessageDeflate } from './deflate.js';
import { coarseClock } from './heartbeat.js';
import { kConnectionOwner, kLastMessage, kLastReceived, kPingSentAt } from './internal.js';
import type { ConnectionSettings } from './options.js';
import { PauseReason, pauseReading, resumeReading } from './read-gate.js';
import { beginBatch, endBatch } from './write-batch.js';

/**
 * The transport binding, the lowest layer of a WebSocket: it joins a Node
 * Duplex (TCP, TLS, any stream) to the sans-I/O protocol Connection. It owns
 * the socket's listeners, the bytes that came with the handshake, reading
 * pauses, the close timer and the end of the connection (onSocketClose sets
 * closeCode/closeReason and emits 'close'). What to do with outgoing frames,
 * pongs and incoming message rates is decided by the layers above
 * (outgoing-path.ts, backpressure.ts, websocket.ts), through the abstract
 * methods at the end of the class.
 */

/** Who is told as a connection starts closing and once it closed (its server). */
export interface ConnectionWatcher<Ws> {
  closing(ws: Ws): void;
  closed(ws: Ws): void;
}

/** The values of readyState (WebSocket.CONNECTING, ...). */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** On an attached socket: the binding it belongs to. */
const kOwner = Symbol('owner');
type OwnedSocket = Duplex & { [kOwner]: TransportBinding };

export abstract class TransportBinding extends EventEmitter {
  readyState: 0 | 1 | 2 | 3 = ReadyState.CONNECTING;
  /** Set when the connection has closed: the code and reason reported by 'close'. */
  closeCode: number | undefined;
  closeReason = '';
  /** True when both Close frames were exchanged before TCP closed. */
  wasClean = false;
  /** The last error seen (handshake, protocol or socket), whether or not 'error' had listeners. */
  lastError: Error | undefined;
  /** Server side: told as this connection starts closing and once it closed. */
  [kConnectionOwner]: ConnectionWatcher<this> | undefined;

  protected socket: Duplex | null = null;
  protected connection: Connection | null = null;
  protected settings: ConnectionSettings | undefined;
  protected deflate: PerMessageDeflate | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  /** A compressed message is being inflated; 'close' waits for it. */
  private inflating = false;
  private closePending = false;
  /** Why this side dropped the connection without a closing handshake, when it did. */
  private dropped: { code: number; reason: string } | undefined;
  // Heartbeat bookkeeping (see heartbeat.ts), in coarse-clock milliseconds.
  [kLastReceived] = 0;
  [kLastMessage] = 0;
  [kPingSentAt] = 0;

  /** Bytes received / sent on this connection's socket (frames and handshake included). */
  get bytesReceived(): number {
    return (this.socket as Socket | null)?.bytesRead ?? 0;
  }

  get bytesSent(): number {
    return (this.socket as Socket | null)?.bytesWritten ?? 0;
  }

  get remoteAddress(): string | undefined {
    return (this.socket as Socket | null)?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return (this.socket as Socket | null)?.remotePort;
  }

  /** Take over an upgraded socket; `head` holds bytes that arrived with the handshake. */
  protected bind(
    socket: Duplex,
    head: Buffer,
    role: Role,
    settings: ConnectionSettings,
    deflate: PerMessageDeflate | undefined,
  ): void {
    this.socket = socket;
    this.settings = settings;
    this.deflate = deflate;
    const now = Date.now();
    coarseClock.now = now;
    this[kLastReceived] = now;
    this[kLastMessage] = now;
    this.connection = new Connection(new TransportBinding.ProtocolEvents(this, role), {
      role,
      maxMessageSize: settings.maxMessageSize,
      maxFrameSize: settings.maxFrameSize,
      autoPong: settings.autoPong,
      compression: deflate !== undefined,
    });
    (socket as Socket).setNoDelay?.(true);
    (socket as Socket).setTimeout?.(0);
    // Bytes that arrived with the handshake must wait until the application has
    // attached its listeners: in 'open'/'connection' handlers, but also after
    // `await WebSocket.connect()`, whose continuation runs after nextTick
    // callbacks. So: hold the socket, and hand them over from setImmediate.
    if (head.length > 0) {
      pauseReading(socket, PauseReason.Head);
      setImmediate(() => {
        if (this.readyState === ReadyState.CLOSED) return;
        this.onData(head);
        resumeReading(socket, PauseReason.Head);
      });
    }
    (socket as OwnedSocket)[kOwner] = this;
    socket.on('data', TransportBinding.onSocketData);
    socket.on('end', TransportBinding.onSocketEnd);
    socket.on('error', TransportBinding.onSocketError);
    socket.on('close', TransportBinding.onSocketClose);
    socket.on('drain', TransportBinding.onSocketDrain);
    this.readyState = ReadyState.OPEN;
  }

  /**
   * The protocol core's callbacks, as one small object per connection with its
   * methods on a shared prototype: a closure per callback would cost ~600 bytes
   * for every idle connection. (Declared inside the class: it may use protected members.)
   */
  private static readonly ProtocolEvents = class ProtocolEvents implements ConnectionHandler {
    constructor(
      private readonly ws: TransportBinding,
      private readonly role: Role,
    ) {}

    write(data: Buffer): void {
      this.ws.frameOut(data);
    }

    onText(text: string): void {
      this.deliver(text, false);
    }

    onBinary(data: Buffer): void {
      this.deliver(data, true);
    }

    private deliver(data: string | Buffer, isBinary: boolean): void {
      const ws = this.ws;
      ws[kLastMessage] = coarseClock.now;
      if (ws.overRate()) return;
      if (ws.settings?.stats) ws.settings.stats.messagesIn++;
      ws.emit('message', data, isBinary);
    }

    onPing(payload: Buffer): void {
      // Pings count toward maxMessageRate: each one makes us write a pong, so a
      // peer that floods pings (and reads the pongs) would otherwise keep the
      // server busy forever within its memory bound, past the limit the
      // application set for that peer. Closed with 1008 like a message flood.
      if (this.ws.overRate()) return;
      this.ws.emit('ping', payload);
    }

    onPong(payload: Buffer): void {
      this.ws.emit('pong', payload);
    }

    onCloseFrame(): void {
      this.ws.startClosing();
      // The client waits for the server to close TCP first, but not forever.
      if (this.role === 'client') this.ws.armCloseTimer();
    }

    onProtocolError(error: ProtocolError): void {
      this.ws.startClosing();
      this.ws.reportError(error);
    }

    closeTransport(): void {
      endBatch(this.ws, this.ws.socket!);
      this.ws.socket!.end();
      this.ws.armCloseTimer();
    }

    canPong(payload: Buffer): boolean {
      return this.ws.admitPong(payload);
    }

    onCompressedMessage(payload: Buffer, isText: boolean): void {
      const ws = this.ws;
      ws.inflating = true;
      // The parser holds later frames until this message is delivered; the
      // socket must stop too, or a flood of small messages that inflate to
      // megabytes piles up in memory while zlib works.
      pauseReading(ws.socket!, PauseReason.Inflate);
      ws.deflate!.inflate(payload, (error, data) => {
        ws.inflating = false;
        const connection = ws.connection!;
        const socket = ws.socket as Socket;
        socket.cork?.();
        try {
          if (error instanceof DeflateClosedError) return;
          if (error) connection.fail(error.closeCode, error.message);
          else connection.deliverInflated(data!, isText);
        } finally {
          socket.uncork?.();
          // Delivering may have started the next compressed message: still paused then.
          if (!ws.inflating) resumeReading(socket, PauseReason.Inflate);
          if (ws.closePending && !ws.inflating) ws.onSocketClose();
        }
      });
    }
  };

  // Socket listeners shared by all connections, instead of five closures per
  // connection: Node calls them with the socket as `this`, which finds its
  // binding through kOwner.
  private static onSocketData(this: Duplex, chunk: Buffer): void {
    (this as OwnedSocket)[kOwner].onData(chunk);
  }

  private static onSocketEnd(this: Duplex): void {
    // The peer finished sending. Finish ours too; a missing Close frame is reported as 1006.
    if (!this.writableEnded) this.end();
  }

  private static onSocketError(this: Duplex, error: Error): void {
    const ws = (this as OwnedSocket)[kOwner];
    if (!ws.lastError) ws.reportError(error);
    this.destroy();
  }

  private static onSocketClose(this: Duplex): void {
    (this as OwnedSocket)[kOwner].onSocketClose();
  }

  private static onSocketDrain(this: Duplex): void {
    (this as OwnedSocket)[kOwner].onWritable();
  }

  private onData(chunk: Buffer): void {
    this[kLastReceived] = coarseClock.now;
    // Everything written while one chunk is processed (pongs, echoes) leaves in one write.
    beginBatch(this);
    try {
      this.connection!.receive(chunk);
    } finally {
      endBatch(this, this.socket!);
    }
  }

  private onSocketClose(): void {
    // A message that arrived before TCP closed is still being inflated: report it first.
    if (this.inflating) {
      this.closePending = true;
      return;
    }
    this.closePending = false;
    this.deflate?.close();
    clearTimeout(this.closeTimer);
    const connection = this.connection!;
    this.readyState = ReadyState.CLOSED;
    this.wasClean = connection.closeSent && connection.closeReceived;
    if (connection.closeReceived) {
      this.closeCode = connection.peerCloseCode ?? CloseCode.NoStatus;
      this.closeReason = connection.peerCloseReason;
    } else if (connection.failure) {
      this.closeCode = connection.failure.closeCode;
      this.closeReason = connection.failure.message;
    } else {
      this.closeCode = this.dropped?.code ?? CloseCode.Abnormal;
      this.closeReason =
        this.dropped?.reason ??
        (this.lastError ? this.lastError.message : 'connection closed without a Close frame');
    }
    this[kConnectionOwner]?.closed(this);
    this.emit('close', this.closeCode, this.closeReason);
  }

  /** OPEN -> CLOSING, told to the owner (a server's `clients` holds OPEN connections only). */
  protected startClosing(): void {
    if (this.readyState !== ReadyState.OPEN) return;
    this.readyState = ReadyState.CLOSING;
    this[kConnectionOwner]?.closing(this);
  }

  protected armCloseTimer(): void {
    if (this.closeTimer || !this.socket) return;
    const socket = this.socket;
    this.closeTimer = setTimeout(() => socket.destroy(), this.settings!.closeTimeout);
    this.closeTimer.unref();
  }

  /** End the connection at once (no closing handshake), reporting `code` and `reason` in 'close'. */
  protected drop(code: number, reason: string): void {
    if (!this.socket || this.readyState === ReadyState.CLOSED) return;
    this.dropped ??= { code, reason };
    this.startClosing();
    this.socket.destroy();
  }

  protected reportError(error: Error): void {
    this.lastError = error;
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  // What the layers above decide.

  /** Every frame the protocol core writes (outgoing-path.ts). */
  protected abstract frameOut(data: Buffer): void;
  /** Whether the automatic pong to this ping may be written now (backpressure.ts). */
  protected abstract admitPong(payload: Buffer): boolean;
  /** The socket drained its write buffer (backpressure.ts). */
  protected abstract onWritable(): void;
  /** True (and closing) when the peer sends messages faster than allowed (websocket.ts). */
  protected abstract overRate(): boolean;
}
