/**
 * Follows the frame boundaries of one direction of a WebSocket byte stream by
 * reading frame headers only (payloads are skipped, never copied). The proxy
 * needs this even when it splices: it may inject a Close frame of its own (1012
 * when a backend dies, 1001 on shutdown) only between two frames, and it must
 * know whether a Close frame already went by.
 *
 * In inspect mode the same walk yields per-message sizes and counts, and
 * enforces a message size limit.
 */

export interface FrameWatchEvents {
  /** A complete data message passed: its size in bytes (all fragments). */
  onMessage?(size: number): void;
  /** The message being received exceeds maxMessageSize. */
  onTooBig?(size: number): void;
}

export class FrameWatch {
  /** Payload bytes of the current frame still to pass. */
  private remaining = 0;
  /** A header split across chunks. */
  private partial: Buffer | null = null;
  private messageSize = 0;
  /** True once a Close frame has passed completely. */
  closeSeen = false;

  constructor(
    private readonly events: FrameWatchEvents = {},
    private readonly maxMessageSize = 0,
  ) {}

  /** True when the stream is between frames: a frame may be inserted here. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.partial === null;
  }

  /** Observe a chunk; returns false if a limit was exceeded (the caller closes). */
  push(chunk: Buffer): boolean {
    let data = chunk;
    if (this.partial) {
      data = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let offset = 0;
    while (offset < data.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, data.length - offset);
        this.remaining -= take;
        offset += take;
        continue;
      }
      if (data.length - offset < 2) {
        this.partial = Buffer.from(data.subarray(offset));
        return true;
      }
      const b0 = data[offset]!;
      const b1 = data[offset + 1]!;
      const len7 = b1 & 0x7f;
      const headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (data.length - offset < headerLength) {
        this.partial = Buffer.from(data.subarray(offset));
        return true;
      }
      let length = len7;
      if (len7 === 126) length = data.readUInt16BE(offset + 2);
      else if (len7 === 127)
        length = data.readUInt32BE(offset + 2) * 0x100000000 + data.readUInt32BE(offset + 6);
      offset += headerLength;
      this.remaining = length;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x8) this.closeSeen = true;
      if (opcode < 0x8) {
        this.messageSize += length;
        if (this.maxMessageSize > 0 && this.messageSize > this.maxMessageSize) {
          this.events.onTooBig?.(this.messageSize);
          return false;
        }
        if (fin) {
          this.events.onMessage?.(this.messageSize);
          this.messageSize = 0;
        }
      }
    }
    return true;
  }
}

/** An unmasked (server-to-client) Close frame. */
export function serverCloseFrame(code: number, reason: string): Buffer {
  const reasonBytes = Buffer.from(reason);
  const frame = Buffer.alloc(4 + reasonBytes.length);
  frame[0] = 0x88;
  frame[1] = 2 + reasonBytes.length;
  frame.writeUInt16BE(code, 2);
  reasonBytes.copy(frame, 4);
  return frame;
}

/** A masked (client-to-server) Close frame, for closing a backend on the client's behalf. */
export function clientCloseFrame(code: number, reason: string, key: Buffer): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x88;
  frame[1] = 0x80 | payload.length;
  key.copy(frame, 2, 0, 4);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}
