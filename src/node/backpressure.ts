import { CloseCode } from '../protocol/constants.js';
import { InvalidStateError } from '../protocol/errors.js';
import { DEFAULTS } from './defaults.js';
import { OutgoingPath } from './outgoing-path.js';
import type { SendData } from './send-queue.js';
import type { WriteCallback } from './write-batch.js';

/**
 * The backpressure policy: how much a connection may buffer for a peer that
 * reads slowly. send() reports false above the high-water mark and 'drain'
 * follows at the low-water mark; past maxBufferedAmount the slow-consumer
 * policy drops the message or the connection (1013); automatic pongs obey the
 * same buffer. Memory per connection stays bounded whatever the peer does.
 */
export abstract class BackpressurePolicy extends OutgoingPath {
  /** send() returned false (or drained() waits): emit 'drain' at the low-water mark. */
  private needDrain = false;
  /** The most recent ping left unanswered while the socket was backed up. */
  private heldPong: Buffer | undefined;

  /** Resolves when bufferedAmount is at or below the low-water mark (at once if it already is). */
  drained(): Promise<void> {
    const low = this.settings?.flow?.lowWaterMark ?? DEFAULTS.lowWaterMark;
    if (this.bufferedAmount <= low) return Promise.resolve();
    this.needDrain = true;
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.off('drain', onDrain);
        reject(new InvalidStateError('the connection closed before the buffer drained'));
      };
      this.once('drain', onDrain);
      this.once('close', onClose);
    });
  }

  /** What send() returns: false when the caller should wait for 'drain'. */
  protected belowHighWater(): boolean {
    const high = this.settings?.flow?.highWaterMark ?? DEFAULTS.highWaterMark;
    const ok = this.bufferedAmount < high;
    if (!ok) this.needDrain = true;
    return ok;
  }

  protected override maybeDrain(): void {
    if (!this.needDrain) return;
    if (this.bufferedAmount > (this.settings?.flow?.lowWaterMark ?? DEFAULTS.lowWaterMark)) return;
    this.needDrain = false;
    this.emit('drain');
  }

  /**
   * maxBufferedAmount reached: a slow consumer is closed (1013) or the message
   * dropped, as configured. True when `data` must not be sent.
   */
  protected overCap(data: SendData, callback?: WriteCallback): boolean {
    const flow = this.settings?.flow;
    if (!flow || flow.maxBufferedAmount === 0) return false;
    // The cap is on accumulation: one more message may always go on top of a
    // buffer below it, so a single large send on a healthy connection passes.
    if (this.bufferedAmount < flow.maxBufferedAmount) return false;
    if (flow.slowConsumer === 'drop') {
      if (this.settings?.stats) this.settings.stats.dropped = (this.settings.stats.dropped ?? 0) + 1;
      callback?.(
        new InvalidStateError(`message dropped: more than ${flow.maxBufferedAmount} bytes buffered`),
      );
      this.emit('drop', data);
      return true;
    }
    // A peer that does not read cannot take a Close frame either (it would wait
    // behind the full buffer for closeTimeout): drop the buffer and the
    // connection now, and report why with 1013 (Try Again Later).
    this.drop(CloseCode.TryAgainLater, `slow consumer: more than ${flow.maxBufferedAmount} bytes buffered`);
    callback?.(new InvalidStateError('connection closed: the peer reads too slowly'));
    return true;
  }

  /**
   * Whether a frame shared by many connections (broadcast, PreparedMessage)
   * must not be sent: the same cap as send(), with the frame standing in for
   * the message (joined only when the cap is reached, for the 'drop' event).
   */
  protected sharedOverCap(frame: Buffer[]): boolean {
    const cap = this.settings?.flow?.maxBufferedAmount ?? 0;
    return cap > 0 && this.bufferedAmount >= cap && this.overCap(Buffer.concat(frame));
  }

  /**
   * Automatic pongs obey the send buffer like data (issue 11, item 4): past
   * maxBufferedAmount the slow-consumer policy 'close' applies (1013); while
   * the socket is backed up, only the most recent ping gets its pong, on
   * 'drain' (RFC 6455 section 5.5.3). A peer that floods pings and never
   * reads costs one held payload of at most 125 bytes.
   */
  protected override admitPong(payload: Buffer): boolean {
    const flow = this.settings?.flow;
    const cap = flow?.maxBufferedAmount ?? 0;
    if (cap > 0 && flow?.slowConsumer === 'close' && this.bufferedAmount >= cap) {
      this.drop(CloseCode.TryAgainLater, `slow consumer: more than ${cap} bytes buffered`);
      return false;
    }
    if (!this.socket?.writableNeedDrain) return true;
    this.heldPong = Buffer.from(payload); // the payload is a view into a received chunk
    return false;
  }

  protected override onWritable(): void {
    this.sendHeldPong();
    this.maybeDrain();
  }

  private sendHeldPong(): void {
    const payload = this.heldPong;
    if (!payload) return;
    this.heldPong = undefined;
    const connection = this.connection;
    if (connection?.state === 'open') this.writeFrames(undefined, () => connection.pong(payload));
  }
}
