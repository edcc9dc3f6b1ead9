import { applyMask, type MaskKeyPool } from './mask.js';

/**
 * Frame serialisation (RFC 6455 section 5.2). Lengths are always written in the
 * minimal form. Client frames get a fresh masking key per frame; the payload is
 * masked into a new buffer so the caller's data is never modified.
 */

/** Unmasked payloads above this size are written as [header, payload] (no copy). */
const COPY_THRESHOLD = 16 * 1024;
/** ASCII texts up to this length are copied byte by byte (see encodeTextFrame). */
const ASCII_LOOP_MAX = 64;

export interface EncodeOptions {
  fin: boolean;
  rsv1: boolean;
  /** Present on the client side: each frame draws a new key from it. */
  maskKeys: MaskKeyPool | undefined;
}

export function headerSize(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/** Write the header at target[0..]; returns the offset where the payload starts. */
function writeHeader(target: Buffer, opcode: number, payloadLength: number, options: EncodeOptions): number {
  target[0] = (options.fin ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | opcode;
  const maskBit = options.maskKeys ? 0x80 : 0;
  let offset: number;
  if (payloadLength < 126) {
    target[1] = maskBit | payloadLength;
    offset = 2;
  } else if (payloadLength < 65536) {
    target[1] = maskBit | 126;
    target.writeUInt16BE(payloadLength, 2);
    offset = 4;
  } else {
    target[1] = maskBit | 127;
    // Two 32-bit halves: payloads are below 2^53, so the split is exact.
    target.writeUInt32BE(Math.floor(payloadLength / 0x100000000), 2);
    target.writeUInt32BE(payloadLength >>> 0, 6);
    offset = 10;
  }
  if (options.maskKeys) {
    options.maskKeys.writeKey(target, offset);
    offset += 4;
  }
  return offset;
}

/**
 * Encode one frame. Returns the buffers to write, in order (one or two), so
 * large server-side payloads go to the socket without being copied.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, options: EncodeOptions): Buffer[] {
  const length = payload.length;
  const size = headerSize(length, options.maskKeys !== undefined);
  if (!options.maskKeys && length > COPY_THRESHOLD) {
    const header = Buffer.allocUnsafe(size);
    writeHeader(header, opcode, length, options);
    return [
      header,
      Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, length),
    ];
  }
  const frame = Buffer.allocUnsafe(size + length);
  const start = writeHeader(frame, opcode, length, options);
  frame.set(payload, start);
  if (options.maskKeys) applyMask(frame, start, frame.length, frame, start - 4, 0);
  return [frame];
}

/** Encode a text frame straight from a string, without an intermediate Buffer for small texts. */
export function encodeTextFrame(text: string, options: EncodeOptions): Buffer[] {
  // Cheap upper bound first: UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (text.length * 3 <= COPY_THRESHOLD) {
    const length = Buffer.byteLength(text);
    const size = headerSize(length, options.maskKeys !== undefined);
    const frame = Buffer.allocUnsafe(size + length);
    const start = writeHeader(frame, 0x1, length, options);
    // As many bytes as UTF-16 units means pure ASCII: short texts are copied by a
    // plain loop, cheaper than the call into the native UTF-8 encoder.
    if (length === text.length && length <= ASCII_LOOP_MAX) {
      for (let i = 0; i < length; i++) frame[start + i] = text.charCodeAt(i);
    } else {
      frame.write(text, start);
    }
    if (options.maskKeys) applyMask(frame, start, frame.length, frame, start - 4, 0);
    return [frame];
  }
  return encodeFrame(0x1, Buffer.from(text), options);
}
