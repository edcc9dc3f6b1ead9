/**
 * Reading a frame header (RFC 6455 section 5.2), shared by the core's parser
 * and by code that follows frames without decoding them (the proxy's frame
 * watcher), so both agree on every length and on what a malformed header is.
 * Pure functions over bytes already received.
 *
 *   byte 0: FIN, RSV1-3, opcode; byte 1: MASK, 7-bit length
 *   7-bit length 126: a 16-bit length follows; 127: a 64-bit length follows
 *   then the 4-byte masking key when MASK is set
 */

/** Bytes the whole header takes (2 to 14), known from its second byte alone. */
export function frameHeaderLength(secondByte: number): number {
  const len7 = secondByte & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (secondByte & 0x80 ? 4 : 0);
}

/** Returned by readPayloadLength for a 64-bit length with its most significant bit set. */
export const INVALID_LENGTH = -1;

/**
 * The payload length of the header starting at `bytes[at]`, whose first
 * frameHeaderLength() bytes must be present. RFC 6455 section 5.2: "the most
 * significant bit MUST be 0" in a 64-bit length; such a header gives
 * INVALID_LENGTH (the caller fails the connection with 1002). Lengths above
 * 2^53 are not exact as numbers: callers limit the size before trusting them.
 */
export function readPayloadLength(bytes: Buffer, at: number): number {
  const len7 = bytes[at + 1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return bytes.readUInt16BE(at + 2);
  const high = bytes.readUInt32BE(at + 2);
  if (high >= 0x80000000) return INVALID_LENGTH;
  return high * 0x100000000 + bytes.readUInt32BE(at + 6);
}
