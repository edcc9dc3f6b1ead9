import type { Socket } from 'node:net';
import { CloseCode } from '../protocol/constants.js';
import { InvalidStateError } from '../protocol/errors.js';
import { DeflateClosedError, type PerMessageDeflate } from './deflate.js';
import { type SendData, SendQueue, toBuffer } from './send-queue.js';
import { ReadyState, TransportBinding } from './transport-binding.js';
import { batchedBytes, batching, batchWrite, corkUntilTickEnd, type WriteCallback } from './write-batch.js';

/**
 * The ordered outgoing path: every frame leaves in the order the application
 * asked for it, whether it went straight to the socket (the fast path), had to
 * wait for zlib (compressed messages, and everything sent after them, queue in
 * a SendQueue), or is a broadcast frame arriving while a fragmented message is
 * half sent (held until its last fragment). Whether a message may be sent at
 * all (the slow-consumer cap, the high-water mark) is decided above, in
 * backpressure.ts and websocket.ts.
 */
export abstract class OutgoingPath extends TransportBinding {
  /** Frames (broadcasts) held back until a fragmented message being sent is finished. */
  private afterFragments: Buffer[][] | undefined;
  /** While the protocol core encodes one send: its frames, to be written with one callback. */
  private collected: Buffer[] | null = null;
  /** While compressed sends are in flight, later sends (and the Close) wait here, in order. */
  private sendQueueStore: SendQueue | null = null;
  /** An unfinished fragmented message is being sent (never compressed). */
  private sendingFragments = false;

  /** Created when the first message must wait (behind zlib); most connections never need it. */
  private get sendQueue(): SendQueue {
    return (this.sendQueueStore ??= new SendQueue());
  }

  /** Whether sends are waiting behind a message being compressed. */
  protected get queueBusy(): boolean {
    return this.sendQueueStore?.busy ?? false;
  }

  /** Bytes queued for sending but not yet handed to the operating system. */
  get bufferedAmount(): number {
    return (this.socket?.writableLength ?? 0) + batchedBytes(this) + (this.sendQueueStore?.bytes ?? 0);
  }

  /**
   * Send one message or fragment, in order with everything sent before it:
   * compressed when `compress` allows it (whole messages above the threshold),
   * queued while earlier messages wait for zlib, written at once otherwise.
   */
  protected sendInOrder(
    data: SendData,
    binary: boolean,
    fin: boolean,
    compress: boolean,
    callback: WriteCallback | undefined,
  ): void {
    const connection = this.connection!;
    const deflate = this.deflate;
    if (deflate?.canCompress && fin && compress && !this.sendingFragments) {
      // Measure first: small messages go uncompressed and need no copy.
      const size = typeof data === 'string' ? Buffer.byteLength(data) : toBuffer(data).length;
      if (size >= deflate.threshold) {
        // The caller may reuse its buffer as soon as send() returns; zlib reads later.
        const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(toBuffer(data));
        this.sendCompressed(deflate, bytes, binary, callback);
        return;
      }
    }
    const endsFragments = this.sendingFragments && fin;
    this.sendingFragments = !fin;
    if (!this.queueBusy) {
      this.writeData(data, binary, fin, callback);
      if (endsFragments) this.releaseAfterFragments();
      return;
    }
    // Keep the order behind compressed messages still being deflated.
    const payload = typeof data === 'string' ? data : Buffer.from(toBuffer(data));
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    this.sendQueue.bytes += size;
    this.sendQueue.push((next) => {
      this.sendQueue.bytes -= size;
      if (connection.state === 'open') this.writeData(payload, binary, fin, callback);
      else callback?.(new InvalidStateError('the connection closed before this message was sent'));
      if (endsFragments) this.releaseAfterFragments();
      next();
      this.maybeDrain();
    });
  }

  /**
   * Write a frame encoded once for many connections (broadcast/publish,
   * PreparedMessage), in order with this connection's own sends.
   */
  protected writeShared(frame: Buffer[]): void {
    if (this.sendingFragments) {
      (this.afterFragments ??= []).push(frame);
    } else if (this.queueBusy) {
      this.sendQueue.push((next) => {
        if (this.connection?.state === 'open') for (const b of frame) this.out(b);
        next();
      });
    } else {
      // Fan-outs come in bursts (one incoming chunk can trigger many broadcasts):
      // hold this socket's writes until the tick ends, then leave in one writev.
      if (!batching(this)) corkUntilTickEnd(this.socket as Socket);
      for (const b of frame) this.out(b);
    }
  }

  /** Run `action` once everything sent before it is written (the Close frame goes after the messages). */
  protected afterQueuedSends(action: () => void): void {
    if (!this.queueBusy) {
      action();
      return;
    }
    this.sendQueue.push((next) => {
      action();
      next();
    });
  }

  /** A fragmented message is complete: send the broadcasts held back meanwhile. */
  private releaseAfterFragments(): void {
    const held = this.afterFragments;
    this.afterFragments = undefined;
    if (!held) return;
    for (const frame of held) {
      if (this.readyState === ReadyState.OPEN && this.connection?.state === 'open') this.writeShared(frame);
    }
  }

  private writeData(data: SendData, binary: boolean, fin: boolean, callback?: WriteCallback): boolean {
    const connection = this.connection!;
    return this.writeFrames(callback, () => {
      if (binary) connection.sendBinary(toBuffer(data), fin);
      else connection.sendText(typeof data === 'string' ? data : toBuffer(data).toString('utf8'), fin);
    });
  }

  private sendCompressed(
    deflate: PerMessageDeflate,
    input: Buffer,
    binary: boolean,
    callback?: WriteCallback,
  ) {
    const connection = this.connection!;
    this.sendQueue.bytes += input.length;
    this.sendQueue.push((next) => {
      deflate.deflate(input, (error, deflated) => {
        this.sendQueue.bytes -= input.length;
        if (error instanceof DeflateClosedError || this.readyState === ReadyState.CLOSED) {
          callback?.(new InvalidStateError('the connection closed before this message was sent'));
        } else if (error) {
          callback?.(error);
          this.reportError(error);
          connection.fail(CloseCode.InternalError, 'compression failed');
        } else if (connection.state === 'open') {
          this.writeFrames(callback, () => connection.sendCompressed(binary, deflated!));
        } else {
          callback?.(new InvalidStateError('the connection closed before this message was sent'));
        }
        next();
        this.maybeDrain();
      });
    });
  }

  /** Run a send of the protocol core, then write its frames with the callback on the last one. */
  protected writeFrames(callback: WriteCallback | undefined, send: () => void): boolean {
    this.collected = [];
    let frames: Buffer[];
    try {
      send();
    } finally {
      frames = this.collected;
      this.collected = null;
    }
    let ok = true;
    for (let i = 0; i < frames.length; i++)
      ok = this.out(frames[i]!, i === frames.length - 1 ? callback : undefined);
    return ok;
  }

  protected override frameOut(data: Buffer): void {
    if (this.collected) this.collected.push(data);
    else this.out(data);
  }

  /** Every byte for the socket goes through here (batched while a received chunk is processed). */
  private out(data: Buffer, callback?: WriteCallback): boolean {
    const socket = this.socket!;
    // Our side of TCP is finished (the peer sent FIN, or it was reset): what was
    // still being compressed or queued has nowhere to go. Say so to the caller
    // rather than raising 'write after end' on a connection that is just ending.
    if (socket.writableEnded || socket.destroyed) {
      if (callback) {
        process.nextTick(
          callback,
          new InvalidStateError('the connection closed before this message was sent'),
        );
      }
      return false;
    }
    return batchWrite(this, socket, data, callback);
  }

  /** After queued sends went out: emit 'drain' if the buffer fell low enough (backpressure.ts). */
  protected abstract maybeDrain(): void;
}
