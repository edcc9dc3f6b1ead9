import type { Duplex } from 'node:stream';

/**
 * Reading from a connection's socket stops for several independent reasons;
 * it resumes only when none is left. Without this, one reason ending (an
 * inflated message delivered) would resume a socket another still holds (the
 * message iterator falling behind), and the bytes would pile up in memory
 * instead of staying in the peer's TCP buffers.
 */
export const PauseReason = {
  /** Bytes that came with the handshake wait for the application's listeners. */
  Head: 1,
  /** `for await` fell behind. */
  Iterator: 2,
  /** A compressed message is being inflated (issue 11, item 5: TCP backpressure reaches the sender). */
  Inflate: 4,
  /** The application called pause(). */
  User: 8,
} as const;

const kPausedBy = Symbol('pausedBy');
type GatedSocket = Duplex & { [kPausedBy]?: number };

export function pauseReading(socket: Duplex, reason: number): void {
  const gated = socket as GatedSocket;
  const before = gated[kPausedBy] ?? 0;
  gated[kPausedBy] = before | reason;
  if (before === 0) socket.pause();
}

export function isPausedFor(socket: Duplex, reason: number): boolean {
  return (((socket as GatedSocket)[kPausedBy] ?? 0) & reason) !== 0;
}

export function resumeReading(socket: Duplex, reason: number): void {
  const gated = socket as GatedSocket;
  const before = gated[kPausedBy] ?? 0;
  if ((before & reason) === 0) return;
  gated[kPausedBy] = before & ~reason;
  if (gated[kPausedBy] === 0) socket.resume();
}
