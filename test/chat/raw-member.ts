import { once } from 'node:events';
import * as net from 'node:net';
import { buildFrame, decodeFrames } from '../helpers.js';
import { HANDSHAKE } from '../node/net-helpers.js';

/**
 * A chat member on a raw TCP socket from a chosen loopback address (Linux
 * routes all of 127.0.0.0/8 to lo), so tests can play many client addresses,
 * and clients that never read. Frames are built by the test helpers, not by
 * the library under test.
 */
export interface RawMember {
  socket: net.Socket;
  /** The HTTP status line of the handshake answer. */
  status: string;
  /** Parsed JSON text messages received so far (only when reading). */
  inbox: Array<Record<string, unknown>>;
  send(message: object): void;
  /** Wait for a message matching `predicate` (removes and returns it). */
  next(predicate: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  close(): void;
}

/** A sixth of serve's heartbeat interval (30 s of quiet before it pings). */
const KEEPALIVE_MS = 5000;

export async function rawMember(
  port: number,
  localAddress = '127.0.0.1',
  { read = true }: { read?: boolean } = {},
): Promise<RawMember> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(HANDSHAKE('/chat'));
  let buffer = Buffer.alloc(0);
  let head = '';
  const inbox: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const onData = (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!head) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      head = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 4);
    }
    let used = 0;
    for (const frame of decodeFrames(buffer)) {
      used += frame.payload.length + (frame.payload.length < 126 ? 2 : frame.payload.length < 65536 ? 4 : 10);
      if (frame.opcode === 1) inbox.push(JSON.parse(frame.payload.toString('utf8')));
      // RFC 6455 section 5.5.2: answer a ping with a pong, as every real client does; otherwise the
      // server's heartbeat (30 s quiet + 10 s) ends the member mid-test on a slow, loaded machine.
      if (frame.opcode === 9 && !socket.destroyed)
        socket.write(buildFrame({ opcode: 10, payload: frame.payload }));
    }
    buffer = buffer.subarray(used);
    wake();
  };
  socket.prependListener('data', onData);
  socket.on('close', wake);
  while (!head && !socket.destroyed) {
    await new Promise<void>((resolve) => socket.once('data', resolve).once('close', resolve));
  }
  if (!read) {
    // From now on the member never reads: the server's output piles up in its own buffers.
    socket.off('data', onData);
    socket.pause();
    // It cannot see pings, so it keeps the connection alive the other way RFC 6455 section 5.5.3
    // allows: an unsolicited pong, well within the server's 30 s quiet period. Without it the
    // heartbeat terminated early members of long runs, which freed their per-address slots.
    const keepAlive = setInterval(() => {
      if (!socket.destroyed) socket.write(buildFrame({ opcode: 10 }));
    }, KEEPALIVE_MS);
    keepAlive.unref();
    socket.once('close', () => clearInterval(keepAlive));
  }
  const member: RawMember = {
    socket,
    status: head.split('\r\n')[0] ?? '',
    inbox,
    send: (message) => socket.write(buildFrame({ opcode: 1, payload: JSON.stringify(message) })),
    async next(predicate, what) {
      for (;;) {
        const index = inbox.findIndex(predicate);
        if (index !== -1) return inbox.splice(index, 1)[0]!;
        if (socket.destroyed)
          throw new Error(`connection closed before ${what}; inbox: ${JSON.stringify(inbox)}`);
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            resolve();
          };
          waiters.add(done);
        });
      }
    },
    close: () => socket.destroy(),
  };
  return member;
}

export const ofType = (type: string) => (m: Record<string, unknown>) => m.type === type;
