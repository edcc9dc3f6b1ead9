import { CloseCode, MAX_CLOSE_REASON_BYTES } from './constants.js';
import { ProtocolError } from './errors.js';
import { isValidUtf8 } from './utf8.js';

/**
 * May this code appear in a Close frame on the wire? (RFC 6455 section 7.4.)
 * 1004, 1005, 1006 and 1015 are reserved for reporting and never sent; 1016-2999
 * are reserved for future RFCs; 3000-4999 belong to libraries and applications.
 * 1012-1014 are registered with IANA after the RFC and are in common use.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 1000 && code <= 1014) {
    return code !== 1004 && code !== 1005 && code !== 1006;
  }
  return code >= 3000 && code <= 4999;
}

/**
 * Codes an application may pass to close(): 1000 and the private range 3000-4999,
 * as the WHATWG WebSocket API allows. Servers and libraries use the others.
 */
export function assertUserCloseCode(code: unknown): asserts code is number {
  if (!Number.isInteger(code) || (code !== 1000 && ((code as number) < 3000 || (code as number) > 4999))) {
    throw new RangeError(`close code must be 1000 or an integer in 3000-4999; got ${String(code)}`);
  }
}

/** Reasons are limited to 123 UTF-8 bytes so that code + reason fit a control frame. */
export function assertCloseReason(reason: unknown): asserts reason is string {
  if (typeof reason !== 'string') {
    throw new TypeError(`close reason must be a string; got ${typeof reason}`);
  }
  const bytes = Buffer.byteLength(reason);
  if (bytes > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason must be at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes; got ${bytes}`);
  }
}

export interface ClosePayload {
  code: number;
  reason: string;
}

/** Parse a received Close payload; throws ProtocolError with the code to fail with. */
export function parseClosePayload(payload: Buffer): ClosePayload {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: '' };
  if (payload.length === 1) {
    throw new ProtocolError(CloseCode.ProtocolError, 'close frame payload of 1 byte (a code needs 2)');
  }
  const code = payload.readUInt16BE(0);
  if (!isValidWireCloseCode(code)) {
    throw new ProtocolError(CloseCode.ProtocolError, `invalid close code ${code}`);
  }
  const reasonBytes = payload.subarray(2);
  if (!isValidUtf8(reasonBytes)) {
    throw new ProtocolError(CloseCode.InvalidPayload, 'close reason is not valid UTF-8');
  }
  return { code, reason: reasonBytes.toString('utf8') };
}

/** Build a Close payload. 1005 ("no status") is sent as an empty payload. */
export function encodeClosePayload(code: number, reason = ''): Buffer {
  if (code === CloseCode.NoStatus) return Buffer.alloc(0);
  const reasonLength = Buffer.byteLength(reason);
  const payload = Buffer.allocUnsafe(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/**
 * Shorten a reason to at most 123 bytes without splitting a code point, for reasons
 * built from error messages (the protocol layer's own, never the user's).
 */
export function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > MAX_CLOSE_REASON_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}
