import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidStateError } from '../protocol/errors.js';
import { JOIN_BATCH_BELOW } from './defaults.js';

/**
 * Fewer, larger writes.
 *
 * While one connection processes a received chunk, everything it writes (echoes,
 * pongs, replies from 'message' handlers) gathers here and leaves in one write
 * when the chunk is done: one syscall and, for small frames, one contiguous
 * buffer instead of a writev of many tiny ones. There is one batch for the whole
 * process, owned by the connection whose chunk is being processed: chunks are
 * processed one at a time (each from its own 'data' event), so nothing is kept
 * per connection. Writes by other connections meanwhile (a chat message sent on
 * to others) go straight to their sockets.
 *
 * Broadcasts are the other burst: sockets written by one are corked until the
 * end of the tick, so that many broadcasts in a row leave as one write each.
 */

export type WriteCallback = (error?: Error | null) => void;

let owner: object | null = null;
let buffers: Buffer[] = [];
let bytes = 0;
let callbacks: WriteCallback[] = [];

/** Start gathering `who`'s writes. */
export function beginBatch(who: object): void {
  owner = who;
}

/** Whether `who`'s writes are being gathered now. */
export function batching(who: object): boolean {
  return owner === who;
}

/** Bytes gathered for `who` and not yet handed to its socket. */
export function batchedBytes(who: object): number {
  return owner === who ? bytes : 0;
}

/** Write for `who`: gathered while its batch is open, otherwise at once. Returns false when the caller should wait for 'drain'. */
export function batchWrite(who: object, socket: Duplex, data: Buffer, callback?: WriteCallback): boolean {
  if (owner !== who) return callback ? socket.write(data, callback) : socket.write(data);
  buffers.push(data);
  bytes += data.length;
  if (callback) callbacks.push(callback);
  return socket.writableLength + bytes < socket.writableHighWaterMark;
}

/** Hand `who`'s gathered writes to its socket and close the batch. */
export function endBatch(who: object, socket: Duplex): void {
  if (owner !== who) return;
  const list = buffers;
  const total = bytes;
  const pending = callbacks;
  owner = null;
  buffers = [];
  bytes = 0;
  callbacks = [];
  if (list.length === 0) return;
  if (socket.destroyed) {
    for (const callback of pending)
      callback(new InvalidStateError('the connection closed before this message was sent'));
    return;
  }
  const done =
    pending.length > 0
      ? (error?: Error | null) => {
          for (const callback of pending) callback(error);
        }
      : undefined;
  if (list.length === 1) socket.write(list[0]!, done);
  else if (total <= JOIN_BATCH_BELOW) socket.write(Buffer.concat(list, total), done);
  else {
    (socket as Socket).cork?.();
    for (let i = 0; i < list.length; i++) socket.write(list[i]!, i === list.length - 1 ? done : undefined);
    (socket as Socket).uncork?.();
  }
}

const tickCorked = new Set<Socket>();

function uncorkAll(): void {
  for (const socket of tickCorked) socket.uncork();
  tickCorked.clear();
}

/** Hold this socket's writes until the current tick ends (then they leave in one writev). */
export function corkUntilTickEnd(socket: Socket): void {
  if (tickCorked.has(socket) || typeof socket.cork !== 'function') return;
  if (tickCorked.size === 0) process.nextTick(uncorkAll);
  tickCorked.add(socket);
  socket.cork();
}
