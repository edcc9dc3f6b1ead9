// A minimal WebSocket client for the fan-out load generator: a TCP socket, a
// pre-built handshake, masked text frames out, unmasked frames in, parsed in
// place. Sockets read into one shared buffer (net's `onread`: no allocation and
// no stream machinery per read) and payloads are views into it, so one
// generator core can take the deliveries of 10,000 subscribers. onMessage must
// therefore use its payload before returning (copy what it keeps).
import { connect } from 'node:net';
import { handshakeRequest, maskedFrame } from './frames.mjs';

const HEADER_END = Buffer.from('\r\n\r\n');
// Every socket reads into this: reads are handled one at a time, each before the next.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Open a WebSocket to 127.0.0.1:port at `path`; resolves once the 101 arrived.
 * onMessage(payload: Buffer, client) is called for every data frame; onClose() once.
 */
export function openRaw(port, path, { protocol, onMessage, onClose }) {
  return new Promise((resolve, reject) => {
    const { request } = handshakeRequest(path);
    let head = request;
    if (protocol) {
      const text = request.toString().replace(/\r\n\r\n$/, `\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
      head = Buffer.from(text);
    }
    const socket = connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (nread, buffer) => onChunk(buffer.subarray(0, nread)) },
    });
    let buffered = null;
    let open = false;
    let closed = false;
    const client = {
      socket,
      sendText(text) {
        if (!closed) socket.write(maskedFrame(0x1, Buffer.from(text)));
      },
      close() {
        closed = true;
        socket.destroy();
      },
    };
    const finish = () => {
      if (closed && !open) return;
      const wasOpen = open;
      open = false;
      closed = true;
      if (wasOpen) onClose?.();
      else reject(new Error('connection closed during the handshake'));
    };
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', () => socket.write(head));
    function onChunk(chunk) {
      let data = buffered ? Buffer.concat([buffered, chunk]) : chunk;
      buffered = null;
      if (!open) {
        const end = data.indexOf(HEADER_END);
        if (end < 0) {
          buffered = Buffer.from(data); // a copy: `chunk` is the shared read buffer
          return;
        }
        if (!data.subarray(0, 12).toString().includes(' 101')) {
          socket.destroy();
          reject(new Error(`handshake refused: ${data.subarray(0, end).toString().split('\r\n')[0]}`));
          return;
        }
        open = true;
        data = data.subarray(end + 4);
        resolve(client);
      }
      let at = 0;
      while (data.length - at >= 2) {
        const opcode = data[at] & 0x0f;
        let length = data[at + 1] & 0x7f;
        let start = at + 2;
        if (length === 126) {
          if (data.length - at < 4) break;
          length = data.readUInt16BE(at + 2);
          start = at + 4;
        } else if (length === 127) {
          if (data.length - at < 10) break;
          length = Number(data.readBigUInt64BE(at + 2));
          start = at + 10;
        }
        if (data.length < start + length) break;
        const payload = data.subarray(start, start + length);
        at = start + length;
        if (opcode === 0x9) socket.write(maskedFrame(0xa, payload));
        else if (opcode === 0x8) socket.destroy();
        else if (opcode === 0x1 || opcode === 0x2) onMessage(payload, client);
      }
      if (at < data.length) buffered = Buffer.from(data.subarray(at));
    }
  });
}

/** The integer following `key` (a Buffer such as '"offset":') in `payload`, or -1. */
export function intAfter(payload, key, from = 0) {
  let i = payload.indexOf(key, from);
  if (i < 0) return -1;
  i += key.length;
  let n = 0;
  for (let c = payload[i]; c >= 48 && c <= 57; c = payload[++i]) n = n * 10 + (c - 48);
  return n;
}

/** The number (integer or decimal) following `key` in `payload`, or NaN. */
export function numberAfter(payload, key, from = 0) {
  let i = payload.indexOf(key, from);
  if (i < 0) return Number.NaN;
  i += key.length;
  let end = i;
  for (let c = payload[end]; (c >= 48 && c <= 57) || c === 46 || c === 45; c = payload[++end]);
  return Number(payload.latin1Slice(i, end));
}
