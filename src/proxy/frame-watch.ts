import { encodeClosePayload } from '../protocol/close.js';
import { CloseCode, Opcode } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/frame-encoder.js';
import { frameHeaderLength, INVALID_LENGTH, readPayloadLength } from '../protocol/frame-header.js';
import { MaskKeyPool } from '../protocol/mask.js';

/**
 * Follows the frame boundaries of one direction of a WebSocket byte stream by
 * reading frame headers only (payloads are skipped, never copied), with the
 * protocol core's header reader. The proxy needs this even when it splices: it
 * may inject a Close frame of its own (1012 when a backend dies, 1001 on
 * shutdown) only between two frames, and it must know whether a Close frame
 * already went by.
 *
 * In inspect mode the same walk yields per-message sizes and counts, and
 * enforces a message size limit.
 */

export interface FrameWatchEvents {
  /** A complete data message passed: its size in bytes (all fragments). */
  onMessage?(size: number): void;
}

/** Why the stream cannot be followed or passed on: the close code and reason to use. */
export interface WatchViolation {
  code: number;
  reason: string;
  /**
   * Where in the pushed chunk the offending frame's header starts: the bytes
   * before it are whole frames that may still be passed on. -1 when the header
   * began in an earlier chunk.
   */
  offset: number;
}

export class FrameWatch {
  /** Payload bytes of the current frame still to pass. */
  private remaining = 0;
  /** A header split across chunks (at most 13 bytes). */
  private partial: Buffer | null = null;
  private messageSize = 0;
  /** Set once the stream broke a rule: nothing after it can be followed. */
  private failed = false;
  /** True once a Close frame's header has passed. */
  closeSeen = false;

  constructor(
    private readonly events: FrameWatchEvents = {},
    private readonly maxMessageSize = 0,
  ) {}

  /** True when the stream is between frames: a frame may be inserted here. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.partial === null && !this.failed;
  }

  /** Observe a chunk; returns a violation when the stream must be closed. */
  push(chunk: Buffer): WatchViolation | undefined {
    if (this.failed) return undefined;
    let data = chunk;
    const carried = this.partial?.length ?? 0;
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
      if (data.length - offset < 2 || data.length - offset < frameHeaderLength(data[offset + 1]!)) {
        this.partial = Buffer.from(data.subarray(offset));
        return undefined;
      }
      const b0 = data[offset]!;
      const length = readPayloadLength(data, offset);
      /** Where this header starts in the caller's chunk. */
      const at = offset - carried;
      if (length === INVALID_LENGTH) {
        return this.fail(
          CloseCode.ProtocolError,
          '64-bit payload length with the most significant bit set',
          at,
        );
      }
      if (length > Number.MAX_SAFE_INTEGER) return this.fail(CloseCode.MessageTooBig, 'frame too big', at);
      offset += frameHeaderLength(data[offset + 1]!);
      this.remaining = length;
      const opcode = b0 & 0x0f;
      if (opcode === Opcode.Close) this.closeSeen = true;
      if (opcode < Opcode.Close) {
        this.messageSize += length;
        if (this.maxMessageSize > 0 && this.messageSize > this.maxMessageSize) {
          return this.fail(CloseCode.MessageTooBig, 'message too big for this route', at);
        }
        if (b0 & 0x80) {
          this.events.onMessage?.(this.messageSize);
          this.messageSize = 0;
        }
      }
    }
    return undefined;
  }

  private fail(code: number, reason: string, at: number): WatchViolation {
    this.failed = true;
    return { code, reason, offset: at >= 0 ? at : -1 };
  }
}

const maskKeys = new MaskKeyPool();

/**
 * A Close frame of the proxy's own, built by the core's encoder: masked when it
 * goes to a backend on a client's behalf (RFC 6455 section 5.3), unmasked to a client.
 */
export function closeFrame(code: number, reason: string, toBackend: boolean): Buffer {
  const parts = encodeFrame(Opcode.Close, encodeClosePayload(code, reason), {
    fin: true,
    rsv1: false,
    maskKeys: toBackend ? maskKeys : undefined,
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
