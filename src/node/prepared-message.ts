import { encodeFrame, encodeTextFrame } from '../protocol/frame-encoder.js';
import { JOIN_BATCH_BELOW, JOIN_BROADCAST_BELOW } from './defaults.js';
import { type SendData, toBuffer } from './send-queue.js';

/** The frame bytes of a PreparedMessage (symbol-keyed: for WebSocket.sendPrepared only). */
export const kPreparedFrame = Symbol('preparedFrame');

/**
 * One message framed once, to be sent to many connections with
 * `ws.sendPrepared(message)`: for fan-outs that pick their recipients one by
 * one (per-connection checks, ordering) and so cannot use server.broadcast or
 * topics. Every connection is written the same bytes; the frame goes
 * uncompressed, which RFC 7692 section 6 allows on compressed connections too.
 * A server's frames are never masked (RFC 6455 section 5.1), so one encoding
 * fits all; client connections mask every frame and cannot use it.
 */
export class PreparedMessage {
  /** Whether it goes as a binary message (default: binary unless `data` is a string). */
  readonly binary: boolean;
  /** Length of the framed message in bytes (header included). */
  readonly byteLength: number;
  /** How many WebSocket messages it carries (1, or more for PreparedMessage.concat). */
  readonly messageCount: number = 1;
  readonly [kPreparedFrame]: Buffer[];

  /**
   * Several prepared messages back to back, sent with ONE sendPrepared: one
   * socket write (one syscall) for all of them, received as separate messages
   * in this order. For a connection that has several messages waiting at once
   * (a fan-out that outpaces the network): the per-write cost is most of what
   * a small message costs. Frames up to 64 KiB in all are copied into one
   * buffer; larger ones are written as a list (no copy).
   */
  static concat(messages: readonly PreparedMessage[]): PreparedMessage {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new TypeError('PreparedMessage.concat takes a non-empty array of PreparedMessages');
    }
    let byteLength = 0;
    let messageCount = 0;
    let binary = true;
    const frames: Buffer[] = [];
    for (const message of messages) {
      if (!(message instanceof PreparedMessage)) {
        throw new TypeError('PreparedMessage.concat takes a non-empty array of PreparedMessages');
      }
      byteLength += message.byteLength;
      messageCount += message.messageCount;
      binary &&= message.binary;
      for (const frame of message[kPreparedFrame]) frames.push(frame);
    }
    if (messages.length === 1) return messages[0]!;
    const batch: Mutable = Object.create(PreparedMessage.prototype);
    batch.binary = binary;
    batch.byteLength = byteLength;
    batch.messageCount = messageCount;
    batch[kPreparedFrame] = byteLength <= JOIN_BATCH_BELOW ? [Buffer.concat(frames, byteLength)] : frames;
    return batch as PreparedMessage;
  }

  constructor(data: SendData, options: { binary?: boolean } = {}) {
    if (options.binary !== undefined && typeof options.binary !== 'boolean') {
      throw new TypeError(`PreparedMessage: binary must be true or false; got ${String(options.binary)}`);
    }
    this.binary = options.binary ?? typeof data !== 'string';
    const unmasked = { fin: true, rsv1: false, maskKeys: undefined };
    const frame =
      typeof data === 'string' && !this.binary
        ? encodeTextFrame(data, unmasked)
        : encodeFrame(this.binary ? 0x2 : 0x1, toBuffer(data), unmasked);
    // Small frames as one buffer: one write per connection instead of two.
    const [header, payload] = frame;
    const joined = header && payload && header.length + payload.length < JOIN_BROADCAST_BELOW;
    this[kPreparedFrame] = joined ? [Buffer.concat(frame)] : frame;
    this.byteLength = frame.reduce((sum, b) => sum + b.length, 0);
  }
}

type Mutable = { -readonly [K in keyof PreparedMessage]: PreparedMessage[K] };
