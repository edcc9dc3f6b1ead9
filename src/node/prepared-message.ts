import { encodeFrame, encodeTextFrame } from '../protocol/frame-encoder.js';
import { JOIN_BROADCAST_BELOW } from './defaults.js';
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
  readonly [kPreparedFrame]: Buffer[];

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
