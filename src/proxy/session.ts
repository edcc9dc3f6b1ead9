import type { Duplex } from 'node:stream';
import type { Backend } from './backend.js';
import { closeFrame, FrameWatch, type WatchViolation } from './frame-watch.js';

/**
 * One proxied WebSocket connection after the backend's 101: bytes flow both ways
 * with backpressure (a full socket pauses the other side). In 'splice' mode that
 * is all, apart from following frame boundaries; in 'inspect' mode messages are
 * counted and the size limit enforced.
 *
 * The proxy speaks for itself only at frame boundaries: 1012 (Service Restart)
 * to the client when the backend vanishes without a Close frame, so reconnecting
 * clients move to a healthy backend; 1001 (Going Away) on shutdown, and to the
 * backend when a client leaves without a Close frame; 1009 when a client message
 * exceeds an inspected route's limit; 1002 for a frame header no endpoint may send.
 *
 * Once either side ends (FIN, Close frame, error), the whole connection gets
 * CLOSE_TIMEOUT_MS to finish; then both sockets are destroyed. Nothing a peer
 * does (half-closing, not reading) holds a connection longer.
 */

export type DataMode = 'splice' | 'inspect';

/** How long a closing connection may take to finish (our Close answered, buffers flushed). */
const CLOSE_TIMEOUT_MS = 5000;

export interface SessionCounters {
  messagesIn: number;
  messagesOut: number;
}

export class ProxySession {
  /** Frames from the backend to the client, and from the client to the backend. */
  private readonly down: FrameWatch;
  private readonly up: FrameWatch;
  private closing = false;
  private open = 2;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    readonly backend: Backend,
    mode: DataMode,
    maxMessageSize: number,
    counters: SessionCounters,
    private readonly onDone: (session: ProxySession) => void,
  ) {
    const inspect = mode === 'inspect';
    this.down = new FrameWatch(inspect ? { onMessage: () => counters.messagesOut++ } : {});
    this.up = new FrameWatch(
      inspect ? { onMessage: () => counters.messagesIn++ } : {},
      inspect ? maxMessageSize : 0,
    );
    backend.active++;
    backend.total++;
    upstream.on('data', (chunk: Buffer) => this.fromBackend(chunk));
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    upstream.on('drain', () => client.resume());
    client.on('drain', () => upstream.resume());
    upstream.on('error', () => upstream.destroy());
    client.on('error', () => client.destroy());
    // The client's socket stays half-open after its FIN (the HTTP server's allowHalfOpen):
    // it has nothing more to send, so the backend is told, and the connection finishes.
    client.on('end', () => this.clientFinished());
    upstream.on('close', () => this.backendGone());
    client.on('close', () => this.clientGone());
  }

  /**
   * Start relaying. `fromBackendEarly`: bytes the backend sent with its 101;
   * `fromClientEarly`: frames the client sent with its request (in the same
   * packet). Both are already part of the WebSocket streams and go through the
   * frame watchers like everything after them.
   */
  begin(fromBackendEarly: Buffer, fromClientEarly: Buffer = Buffer.alloc(0)): void {
    if (fromBackendEarly.length > 0) this.fromBackend(fromBackendEarly);
    if (fromClientEarly.length > 0) this.fromClient(fromClientEarly);
  }

  private fromBackend(chunk: Buffer): void {
    this.backend.bytesIn += chunk.length;
    if (this.closing) return; // after our own Close to the client, nothing more may follow it
    const violation = this.down.push(chunk);
    if (violation) return this.closeBoth(violation);
    if (!this.client.write(chunk)) this.upstream.pause();
  }

  private fromClient(chunk: Buffer): void {
    if (this.closing) {
      // Our Close went out: wait for the client's, then finish the TCP connection.
      this.up.push(chunk);
      if (this.up.closeSeen) this.client.end();
      return;
    }
    const violation = this.up.push(chunk);
    if (violation) {
      // Whole frames before the offending header still go; then the backend is at a boundary.
      if (violation.offset > 0) this.upstream.write(chunk.subarray(0, violation.offset));
      return this.closeBoth(violation, violation.offset >= 0);
    }
    this.backend.bytesOut += chunk.length;
    if (!this.upstream.write(chunk)) this.client.pause();
  }

  /** The client sent FIN (with or without a Close frame before it). */
  private clientFinished(): void {
    this.armCloseTimer();
    if (this.upstream.destroyed || this.upstream.writableEnded) return;
    if (!this.up.closeSeen && this.up.atBoundary && !this.closing) {
      this.upstream.end(closeFrame(1001, 'client went away', true));
    } else {
      this.upstream.end();
    }
  }

  /** The backend's socket closed. */
  private backendGone(): void {
    this.finishOne();
    if (this.client.destroyed || this.client.writableEnded) return;
    this.armCloseTimer();
    if (this.down.closeSeen || this.closing) {
      this.client.end();
    } else if (this.down.atBoundary) {
      // Died without a Close frame: tell the client to come back (to a healthy backend).
      this.client.end(closeFrame(1012, 'backend went away; reconnect', false));
    } else {
      this.client.destroy(); // mid-frame: nothing valid can be said any more
    }
  }

  private clientGone(): void {
    this.finishOne();
    if (this.upstream.destroyed || this.upstream.writableEnded) return;
    this.armCloseTimer();
    if (!this.up.closeSeen && this.up.atBoundary && !this.closing) {
      this.upstream.end(closeFrame(1001, 'client went away', true));
    } else {
      this.upstream.end();
    }
  }

  /** From now on the connection has CLOSE_TIMEOUT_MS to finish. */
  private armCloseTimer(): void {
    if (this.closeTimer) return;
    this.closeTimer = setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  /**
   * Close both sides with our own Close frames (where the streams allow it).
   * `upstreamAtBoundary`: what was passed to the backend ends with a whole frame.
   */
  closeBoth({ code, reason }: Omit<WatchViolation, 'offset'>, upstreamAtBoundary = this.up.atBoundary): void {
    if (this.closing) return;
    this.closing = true;
    this.armCloseTimer();
    if (this.down.atBoundary && !this.down.closeSeen) this.client.write(closeFrame(code, reason, false));
    else this.client.destroy();
    // The backend hears 1001: the client is leaving; 1009 and 1002 were the client's doing.
    if (upstreamAtBoundary && !this.up.closeSeen) {
      this.upstream.end(closeFrame(code === 1009 || code === 1002 ? 1001 : code, reason, true));
    } else {
      this.upstream.destroy();
    }
    this.client.resume();
  }

  /** Shutdown: 1001 to the client, and drop whatever does not finish in time. */
  shutdown(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.open === 0) return resolve();
      const timer = setTimeout(() => {
        this.client.destroy();
        this.upstream.destroy();
      }, timeoutMs);
      timer.unref();
      const done = () => {
        if (this.client.destroyed && this.upstream.destroyed) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.client.once('close', () => {
        this.upstream.destroy();
        done();
      });
      this.upstream.once('close', done);
      this.closeBoth({ code: 1001, reason: 'proxy shutting down' });
    });
  }

  private finishOne(): void {
    if (--this.open === 0) {
      clearTimeout(this.closeTimer);
      this.backend.active--;
      this.onDone(this);
    }
  }
}
