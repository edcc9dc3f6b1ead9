import type { WebSocket } from '../websocket.js';

/**
 * What a server counts: handshakes accepted and refused (by reason), messages
 * and bytes in and out, messages dropped by the slow-consumer policy.
 */

/** Why a handshake was refused; the keys of `stats().refused`. */
export type RefusalReason =
  /** server.close() was called. */
  | 'shutting-down'
  /** The request's path is not the server's `path` (404). */
  | 'unknown-path'
  /** Not a valid RFC 6455 opening handshake (400). */
  | 'bad-handshake'
  /** Sec-WebSocket-Version other than 13 (426). */
  | 'unsupported-version'
  /** handleProtocols chose a subprotocol the client did not offer (500). */
  | 'subprotocol-error'
  /** Origin not in `origins` (403). */
  | 'origin'
  /** maxConnections reached (503). */
  | 'connection-limit'
  /** maxConnectionsPerIp reached (429). */
  | 'ip-limit'
  /** authenticate returned { reject } (its status). */
  | 'auth-rejected'
  /** authenticate threw or returned a bad status (500). */
  | 'auth-error'
  /** Standalone: the request head did not arrive within handshakeTimeout (408). */
  | 'handshake-timeout'
  /** Standalone: the request head exceeded maxHeaderSize (431). */
  | 'headers-too-large'
  /** Standalone: not parseable as HTTP/1.1 (400). */
  | 'malformed-http'
  /** Standalone: an HTTP version other than 1.x (505): WebSocket needs HTTP/1.1. */
  | 'http-version'
  /** Standalone: a plain HTTP request without Upgrade (426). */
  | 'not-websocket';

export interface ServerStats {
  /** Open connections. */
  connections: number;
  handshakesInProgress: number;
  accepted: number;
  /** Refused handshakes by reason (reasons never seen are absent). */
  refused: Partial<Record<RefusalReason, number>>;
  messagesIn: number;
  messagesOut: number;
  /** Messages discarded by slowConsumer: 'drop' (each also a 'drop' event on its socket). */
  dropped: number;
  bytesIn: number;
  bytesOut: number;
}

/** The counters every connection of a server updates as it goes (shared, not per connection). */
export interface MessageCounters {
  messagesIn: number;
  messagesOut: number;
  dropped: number;
}

export class ServerCounters {
  readonly messages: MessageCounters = { messagesIn: 0, messagesOut: 0, dropped: 0 };
  private accepted = 0;
  /** Bytes of connections already closed (open ones are read from their sockets). */
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly refusals: Partial<Record<RefusalReason, number>> = {};

  refused(reason: RefusalReason): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
  }

  acceptedOne(): void {
    this.accepted++;
  }

  /** A connection closed: keep its byte counts. */
  closed(ws: WebSocket): void {
    this.bytesIn += ws.bytesReceived;
    this.bytesOut += ws.bytesSent;
  }

  snapshot(open: Iterable<WebSocket>, openCount: number, handshakesInProgress: number): ServerStats {
    let bytesIn = this.bytesIn;
    let bytesOut = this.bytesOut;
    for (const ws of open) {
      bytesIn += ws.bytesReceived;
      bytesOut += ws.bytesSent;
    }
    return {
      connections: openCount,
      handshakesInProgress,
      accepted: this.accepted,
      refused: { ...this.refusals },
      ...this.messages,
      bytesIn,
      bytesOut,
    };
  }
}
