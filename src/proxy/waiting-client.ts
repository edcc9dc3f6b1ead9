import type { Duplex } from 'node:stream';

/**
 * A client whose upgrade request is waiting (for the auth hook, for the
 * backend's 101). Node hands the socket over paused, and a paused socket's FIN
 * is never read: a client that left would go unnoticed until the backend
 * answered or backendTimeout ran out, holding a backend connection all along.
 * So the socket is read while it waits: its end, close or error is reported at
 * once (`onGone`, after which nothing may be written to it), and any bytes it
 * sends are kept for the session (they are its first frames).
 *
 * RFC 6455 section 4.1: a client waits for the server's answer before sending
 * data, so an honest client sends nothing here. A client sending more than
 * MAX_EARLY_BYTES is no longer read (backpressure), which puts it back where it
 * was before: it waits out the deadline like any other, holding nothing more.
 */

const MAX_EARLY_BYTES = 64 * 1024;

export interface WaitingClient {
  /**
   * Stop watching. Returns the bytes the client sent meanwhile. The socket is left
   * flowing: whoever takes it over attaches its 'data' listener in the same tick
   * (a paused socket would not be resumed by that listener).
   */
  release(): Buffer;
  /** The client left (ended, closed or failed). */
  readonly gone: boolean;
}

export function watchWaitingClient(socket: Duplex, onGone: () => void): WaitingClient {
  const early: Buffer[] = [];
  let earlyBytes = 0;
  let gone = false;
  let watching = true;
  const onData = (chunk: Buffer) => {
    early.push(chunk);
    earlyBytes += chunk.length;
    if (earlyBytes > MAX_EARLY_BYTES) socket.pause();
  };
  const leave = () => {
    if (gone || !watching) return;
    gone = true;
    stop();
    // A half-closed client cannot send its Close frame any more; nothing is
    // left to do for it, and nothing may be written to it.
    socket.destroy();
    onGone();
  };
  const stop = () => {
    watching = false;
    socket.off('data', onData);
    socket.off('end', leave);
    socket.off('close', leave);
    socket.off('error', leave);
    if (earlyBytes > MAX_EARLY_BYTES) socket.resume();
  };
  socket.on('data', onData);
  socket.on('end', leave);
  socket.on('close', leave);
  socket.on('error', leave);
  if (socket.destroyed || socket.readableEnded) queueMicrotask(leave);
  else socket.resume();
  return {
    release() {
      stop();
      return early.length === 1 ? early[0]! : Buffer.concat(early);
    },
    get gone() {
      return gone;
    },
  };
}
