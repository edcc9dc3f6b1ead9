import { randomBytes } from 'node:crypto';
import { Connection, type ConnectionOptions } from '../src/protocol/connection.js';
import type { ProtocolError } from '../src/protocol/errors.js';

/**
 * Test helpers. Frames are built and decoded here with straightforward code of
 * their own, independent of the library's codec, so tests never grade the
 * implementation with itself.
 */

export interface RawFrame {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** Raw RSV bits (0-7) placed in bits 6-4 of the first byte. */
  rsv?: number;
  /** Mask the frame (default true: frames from a client). */
  mask?: boolean;
  /** Force a length encoding: 7, 16 or 64 bits (default minimal). */
  lengthBits?: 7 | 16 | 64;
}

export function buildFrame(f: RawFrame): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const mask = f.mask ?? true;
  const bits = f.lengthBits ?? (payload.length < 126 ? 7 : payload.length < 65536 ? 16 : 64);
  const parts: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | f.opcode];
  const maskBit = mask ? 0x80 : 0;
  if (bits === 7) parts.push(maskBit | payload.length);
  else if (bits === 16) parts.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else {
    parts.push(maskBit | 127);
    const big = BigInt(payload.length);
    for (let i = 7; i >= 0; i--) parts.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  const header = Buffer.from(parts);
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ key[i % 4]!;
  return Buffer.concat([header, key, masked]);
}

export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Decode every complete frame in `bytes` (unmasking if needed). */
export function decodeFrames(bytes: Buffer): DecodedFrame[] {
  const out: DecodedFrame[] = [];
  let i = 0;
  while (i + 2 <= bytes.length) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1]!;
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | undefined;
    if (masked) {
      key = bytes.subarray(p, p + 4);
      p += 4;
    }
    if (p + len > bytes.length) break;
    const payload = Buffer.from(bytes.subarray(p, p + len));
    if (key) for (let j = 0; j < len; j++) payload[j] = payload[j]! ^ key[j % 4]!;
    out.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload });
    i = p + len;
  }
  return out;
}

export type Event =
  | { type: 'text'; data: string }
  | { type: 'binary'; data: Buffer }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: number; message: string }
  | { type: 'closeTransport' };

/** A Connection wired to a recorder: what it delivered and what it wrote. */
export function recordingConnection(options: Partial<ConnectionOptions> = {}) {
  const events: Event[] = [];
  const written: Buffer[] = [];
  const connection = new Connection(
    {
      write: (d) => written.push(Buffer.from(d)),
      onText: (data) => events.push({ type: 'text', data }),
      onBinary: (data) => events.push({ type: 'binary', data: Buffer.from(data) }),
      onPing: (data) => events.push({ type: 'ping', data: Buffer.from(data) }),
      onPong: (data) => events.push({ type: 'pong', data: Buffer.from(data) }),
      onCloseFrame: (code, reason) => events.push({ type: 'close', code, reason }),
      onProtocolError: (e: ProtocolError) =>
        events.push({ type: 'error', code: e.closeCode, message: e.message }),
      closeTransport: () => events.push({ type: 'closeTransport' }),
    },
    { role: 'server', ...options },
  );
  return {
    connection,
    events,
    /** Bytes written so far, as sent. */
    raw: () => Buffer.concat(written),
    /** Frames written so far, decoded. */
    sent: () => decodeFrames(Buffer.concat(written)),
    /** Feed bytes in chunks of `chunk` bytes (default: all at once). */
    feed(bytes: Buffer, chunk = bytes.length) {
      for (let i = 0; i < bytes.length; i += chunk) connection.receive(bytes.subarray(i, i + chunk));
    },
    /** The close code of the Close frame this side sent, if any. */
    sentCloseCode(): number | undefined {
      const close = decodeFrames(Buffer.concat(written)).find((f) => f.opcode === 8);
      if (!close) return undefined;
      return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
    },
  };
}

/** Node's CI flag: missing system binaries are failures there, skips elsewhere. */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';
