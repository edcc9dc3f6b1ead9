import { assertCloseReason, isValidWireCloseCode } from '../protocol/close.js';
import { CloseCode } from '../protocol/constants.js';
import { BackpressurePolicy } from './backpressure.js';
import {
  kCloseUnchecked,
  kCloseWithoutStatus,
  kHeartbeatTimeout,
  kIdleTimeout,
  kPeerClose,
} from './internal.js';
import { PauseReason, resumeReading } from './read-gate.js';
import { ReadyState } from './transport-binding.js';

/**
 * How this side ends a connection: close() with its checks, the closes the
 * library starts itself (1001 on shutdown and idle timeout, 1008 over the
 * message rate, 1006 on a missed heartbeat), terminate(), and how it ended,
 * for the WHATWG API's CloseEvent. The Close frame always goes out after the
 * messages sent before it (outgoing-path.ts keeps that order).
 */
export abstract class ClosingPolicy extends BackpressurePolicy {
  /** Cancels a client handshake in progress (closing while CONNECTING aborts it). */
  protected abortHandshake: ((reason: string) => void) | undefined;

  /**
   * Start the closing handshake with any code an endpoint may send (RFC 6455
   * section 7.4: 1000-1003, 1007-1011, the IANA-registered 1012-1014, and
   * 3000-4999; 1004-1006 and 1015 are for reporting only) and a reason of at
   * most 123 UTF-8 bytes. Closing while connecting aborts the handshake.
   * (The WHATWG class keeps the browser's narrower rule: 1000 or 3000-4999.)
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !(Number.isInteger(code) && isValidWireCloseCode(code))) {
      throw new RangeError(
        `close code must be 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 section 7.4); got ${String(code)}`,
      );
    }
    if (reason !== undefined) assertCloseReason(reason);
    this[kCloseUnchecked](code ?? CloseCode.Normal, reason ?? '');
  }

  /** A Close frame without a status code, as the WHATWG close() sends when given no code (the peer sees 1005). */
  [kCloseWithoutStatus](): void {
    this[kCloseUnchecked](CloseCode.NoStatus, '');
  }

  /** Drop the connection at once, without a closing handshake (reported as 1006). */
  terminate(): void {
    if (this.readyState === ReadyState.CONNECTING) {
      this.abortHandshake?.('terminated before the connection was established');
    } else if (this.socket && this.readyState !== ReadyState.CLOSED) {
      this.startClosing();
      this.socket.destroy();
    }
  }

  /** Close with any code valid on the wire (for the library itself: 1001 on shutdown, ...). */
  [kCloseUnchecked](code: number, reason: string): void {
    if (this.readyState === ReadyState.CONNECTING) {
      this.abortHandshake?.('closed before the connection was established');
      return;
    }
    const connection = this.connection;
    if (!connection || connection.closeSent || connection.state === 'closed') return;
    if (this.readyState === ReadyState.CLOSING && this.queueBusy) return; // a Close is already queued
    this.startClosing();
    // Read the peer's Close even if iteration paused us.
    if (this.socket) {
      resumeReading(this.socket, PauseReason.Iterator);
      resumeReading(this.socket, PauseReason.User);
    }
    // Messages sent before close() go out before the Close frame.
    this.afterQueuedSends(() => {
      connection.close(code, reason);
      this.armCloseTimer();
    });
  }

  /**
   * How the connection ended, for the WHATWG API: the peer's Close frame if one
   * arrived (its code, undefined for none, and reason), and whether this side
   * failed the connection (a bad handshake or a protocol error from the peer).
   */
  [kPeerClose](): { peer: { code: number | undefined; reason: string } | undefined; failed: boolean } {
    const connection = this.connection;
    if (!connection) return { peer: undefined, failed: true }; // never opened
    const peer = connection.closeReceived
      ? { code: connection.peerCloseCode, reason: connection.peerCloseReason }
      : undefined;
    return { peer, failed: connection.failure !== undefined };
  }

  /** The peer did not answer a ping: drop it, reported as 1006 with the reason. */
  [kHeartbeatTimeout](reason: string): void {
    this.drop(CloseCode.Abnormal, reason);
  }

  [kIdleTimeout](reason: string): void {
    this[kCloseUnchecked](CloseCode.GoingAway, reason);
  }
}
