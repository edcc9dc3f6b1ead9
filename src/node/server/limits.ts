import type { Duplex } from 'node:stream';
import type { Refusal } from './admission.js';

/**
 * maxConnections and maxConnectionsPerIp. A handshake counts from the moment
 * it is admitted, not when it completes, so that many slow handshakes at once
 * (an authenticate hook waiting on a database) cannot overshoot the limits.
 */
export class ConnectionLimits {
  /** Handshakes admitted and not yet completed or refused. */
  pending = 0;
  /** Open connections and handshakes in progress, per remote address (only with a per-IP limit). */
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxConnectionsPerIp: number,
  ) {}

  /** The refusal for one more connection from `ip` with `open` connections open, if any. */
  check(ip: string, open: number): Refusal | undefined {
    if (this.maxConnections > 0 && open + this.pending >= this.maxConnections) {
      return {
        ok: false,
        reason: 'connection-limit',
        status: 503,
        body: 'too many connections; try again later',
        headers: { 'Retry-After': 5 },
      };
    }
    if (this.maxConnectionsPerIp > 0 && (this.perIp.get(ip) ?? 0) >= this.maxConnectionsPerIp) {
      return {
        ok: false,
        reason: 'ip-limit',
        status: 429,
        body: `too many connections from ${ip}`,
        headers: { 'Retry-After': 5 },
      };
    }
    return undefined;
  }

  /** Count an admitted handshake (and its address, until its socket closes). */
  hold(socket: Duplex, ip: string): void {
    this.pending++;
    if (this.maxConnectionsPerIp === 0) return; // nothing to enforce: no listener per socket
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    // A method of its own, so the listener's closure holds the address and not
    // the handshake's scope (the request would otherwise live as long as the socket).
    socket.once('close', () => this.release(ip));
  }

  /** The handshake completed or was refused. */
  settled(): void {
    this.pending--;
  }

  private release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n === 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }
}
