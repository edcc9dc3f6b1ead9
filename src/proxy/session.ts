import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Backend } from './backend.js';
import { clientCloseFrame, FrameWatch, serverCloseFrame } from './frame-watch.js';

/**
 * One proxied WebSocket connection after the backend's 101: bytes flow both ways
 * with backpressure (a full socket pauses the other side). In 'splice' mode that
 * is all, apart from following frame boundaries; in 'inspect' mode messages are
 * counted and the size limit enforced.
 *
 * The proxy speaks for itself only at frame boundaries: 1012 (Service Restart)
 * to the client when the backend vanishes without a Close frame, so reconnecting
 * clients move to a healthy backend; 1001 (Going Away) on shutdown; 1009 when a
 * client message exceeds an inspected route's limit.
 */

export type DataMode = 'splice' | 'inspect';

/** How long the proxy waits for a client to answer its own Close frame. */
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
    upstream.on('close', () => this.backendGone());
    client.on('close', () => this.clientGone());
  }

  /** Bytes the backend sent with its 101, already part of the WebSocket stream. */
  begin(early: Buffer): void {
    if (early.length > 0) this.fromBackend(early);
  }

  private fromBackend(chunk: Buffer): void {
    this.backend.bytesIn += chunk.length;
    if (this.closing) return; // after our own Close to the client, nothing more may follow it
    this.down.push(chunk);
    if (!this.client.write(chunk)) this.upstream.pause();
  }

  private fromClient(chunk: Buffer): void {
    if (this.closing) {
      // Shutting down: wait for the client's Close, then finish the TCP connection.
      this.up.push(chunk);
      if (this.up.closeSeen) this.client.end();
      return;
    }
    if (!this.up.push(chunk)) {
      this.closeBoth(1009, 'message too big for this route');
      return;
    }
    this.backend.bytesOut += chunk.length;
    if (!this.upstream.write(chunk)) this.client.pause();
  }

  /** The backend's socket closed. */
  private backendGone(): void {
    this.finishOne();
    if (this.client.destroyed || this.client.writableEnded) return;
    if (this.down.closeSeen || this.closing) {
      this.client.end();
    } else if (this.down.atBoundary) {
      // Died without a Close frame: tell the client to come back (to a healthy backend).
      this.client.end(serverCloseFrame(1012, 'backend went away; reconnect'));
    } else {
      this.client.destroy(); // mid-frame: nothing valid can be said any more
    }
  }

  private clientGone(): void {
    this.finishOne();
    if (this.upstream.destroyed || this.upstream.writableEnded) return;
    if (!this.up.closeSeen && this.up.atBoundary && !this.closing) {
      this.upstream.end(clientCloseFrame(1001, 'client went away', randomBytes(4)));
    } else {
      this.upstream.end();
    }
  }

  /** Close both sides with our own Close frames (where the streams allow it). */
  closeBoth(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    // A client that never answers our Close is dropped after a while.
    setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, CLOSE_TIMEOUT_MS).unref();
    if (this.down.atBoundary && !this.down.closeSeen) this.client.write(serverCloseFrame(code, reason));
    else this.client.destroy();
    if (this.up.atBoundary && !this.up.closeSeen) {
      this.upstream.end(clientCloseFrame(code === 1009 ? 1001 : code, reason, randomBytes(4)));
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
      this.closeBoth(1001, 'proxy shutting down');
    });
  }

  private finishOne(): void {
    if (--this.open === 0) {
      this.backend.active--;
      this.onDone(this);
    } else if (this.open === 1) {
      // The other side's close event comes soon; nothing else to do.
    }
  }
}
