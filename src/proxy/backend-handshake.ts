import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Backend } from './backend.js';

/**
 * One attempt to open a WebSocket through one backend: connect, send the
 * client's request head, read the backend's answer head. The whole attempt has
 * a deadline (not an idle timeout): a backend that drips its 101 one byte at a
 * time must not hold a client longer than the deadline.
 */

export type HandshakeOutcome =
  | {
      kind: 'answered';
      /** The status code of the answer (NaN when the status line is not HTTP). */
      status: number;
      /** The answer head, up to and including the blank line. */
      head: Buffer;
      /** Bytes after the head: the first frames (after a 101) or the body (otherwise). */
      rest: Buffer;
      upstream: Duplex;
    }
  | { kind: 'failed'; why: string; timedOut: boolean };

/** Most bytes of a backend's handshake answer kept before giving up (502). */
const MAX_RESPONSE_HEAD = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

export interface HandshakeAttempt {
  /** The client left: stop, and report nothing. */
  abandon(): void;
}

export function requestUpgrade(
  backend: Backend,
  requestHead: string,
  deadlineMs: number,
  done: (outcome: HandshakeOutcome) => void,
): HandshakeAttempt {
  const upstream = backend.secure
    ? tls.connect({
        host: backend.host,
        port: backend.port,
        servername: backend.tlsOptions.servername ?? (net.isIP(backend.host) ? undefined : backend.host),
        ca: backend.tlsOptions.ca,
        rejectUnauthorized: backend.tlsOptions.rejectUnauthorized ?? true,
        ALPNProtocols: ['http/1.1'],
      })
    : net.connect({ host: backend.host, port: backend.port });
  upstream.setNoDelay(true);
  let finished = false;
  const finish = (outcome: HandshakeOutcome | null) => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    upstream.off('data', onData);
    upstream.off('error', onError);
    upstream.off('close', onClose);
    if (outcome?.kind === 'answered') upstream.on('error', () => upstream.destroy());
    else upstream.destroy();
    if (outcome) done(outcome);
  };
  const deadline = setTimeout(
    () => finish({ kind: 'failed', why: `no answer within ${deadlineMs} ms`, timedOut: true }),
    deadlineMs,
  );
  const onError = (error: Error) => finish({ kind: 'failed', why: error.message, timedOut: false });
  const onClose = () =>
    finish({ kind: 'failed', why: 'the backend closed the connection before answering', timedOut: false });
  let response: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    const searchFrom = Math.max(0, response.length - 3);
    response = response.length ? Buffer.concat([response, chunk]) : chunk;
    const end = response.indexOf(HEAD_END, searchFrom);
    if (end === -1) {
      if (response.length > MAX_RESPONSE_HEAD)
        finish({ kind: 'failed', why: 'handshake answer too large', timedOut: false });
      return;
    }
    const head = response.subarray(0, end + 4);
    const statusLine = /^HTTP\/1\.[01] (\d{3})[ \r]/.exec(head.toString('latin1', 0, 16));
    finish({
      kind: 'answered',
      status: statusLine ? Number(statusLine[1]) : Number.NaN,
      head,
      rest: response.subarray(end + 4),
      upstream,
    });
  };
  upstream.on('error', onError);
  upstream.on('close', onClose);
  upstream.on('data', onData);
  upstream.once(backend.secure ? 'secureConnect' : 'connect', () => upstream.write(requestHead));
  return { abandon: () => finish(null) };
}
