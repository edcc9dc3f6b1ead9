// Pre-built client frames and handshakes for the load generator: everything the
// generator sends is computed once, so its per-message cost is a slice and a write.
import { createHash, randomBytes } from 'node:crypto';
import { deflateRawSync, constants as zlibConstants } from 'node:zlib';

/** A masked client frame (FIN set) carrying `payload`. */
export function maskedFrame(opcode, payload, { rsv1 = false } = {}) {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (lengthBytes === 0) header[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const key = randomBytes(4);
  key.copy(header, 2 + lengthBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([header, body]);
}

/**
 * A compressed message as permessage-deflate sends it with no context takeover:
 * deflate-raw with a sync flush, the trailing 00 00 ff ff removed (RFC 7692 7.2.1).
 */
export function compressedFrame(opcode, payload) {
  const deflated = deflateRawSync(payload, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return maskedFrame(opcode, deflated.subarray(0, deflated.length - 4), { rsv1: true });
}

export function handshakeRequest(path, { deflate = false } = {}) {
  const key = randomBytes(16).toString('base64');
  const extension = deflate
    ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n'
    : '';
  return {
    request: Buffer.from(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extension}\r\n`,
    ),
    accept: createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'),
  };
}

export const CLOSE_FRAME = maskedFrame(0x8, Buffer.from([0x03, 0xe8]));
