/** The connection under a session (a WebSocket, or an in-process LocalConnection). */

import type { PreparedMessage } from '../index.js';
import type { Push } from './protocol.js';

/** WebSocket readyState OPEN (the same value for local connections). */
export const OPEN = 1;

/**
 * What a session needs from its connection: socketeer's WebSocket has all of
 * it; in-process connections (hub.connectLocal) provide their own.
 */
export interface SessionSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly clientAddress?: string | undefined;
  /** Bytes sent / received so far (network connections): the heartbeat watches them. */
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  /** Negotiated WebSocket extensions ('' or absent: none). */
  readonly extensions?: string;
  send(data: string | Buffer, options: { binary: boolean }): boolean;
  /** Send bytes framed once for many connections (WebSockets have it; local connections take `send`). */
  sendPrepared?(message: PreparedMessage): boolean;
  /** In-process connections: take a pub/join/leave push as the (frozen) object, without JSON. */
  sendPush?(push: Push): boolean;
  close(code: number, reason: string): void;
  /** Drop the connection without a closing handshake. */
  terminate(): void;
  /** Resolves when the buffer is low again; rejects once the connection closed. */
  drained(): Promise<void>;
}
