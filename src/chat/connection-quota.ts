/**
 * The connection limits of `socketeer serve`, shared by its two WebSocket
 * endpoints: /chat and the anonymous messaging hub at /connection. Each
 * WebSocketServer's own maxConnections / maxConnectionsPerIp counts only its
 * own connections, so with those one address could hold the per-address
 * limit on each endpoint, and the server twice its total. Here one count per
 * address and one total cover both; a handshake counts from the moment it is
 * admitted until its socket closes (as the servers' own limits do), so many
 * handshakes at once cannot overshoot.
 */

import type * as http from 'node:http';

/** What an authenticate hook returns to refuse a handshake. */
export interface QuotaRefusal {
  reject: number;
  body: string;
  headers: Record<string, string>;
}

export class ConnectionQuota {
  private open = 0;
  private readonly perIp = new Map<string, number>();

  /** 0 turns a limit off. */
  constructor(
    private readonly maxConnections: number,
    private readonly maxConnectionsPerIp: number,
  ) {}

  /**
   * For an authenticate hook: a refusal (503 over the total, 429 over the
   * address's count, with Retry-After as the servers' own limits answer), or
   * undefined after counting the connection until its socket closes.
   */
  admit(request: http.IncomingMessage): QuotaRefusal | undefined {
    // The client left already: nothing to count (the server drops the handshake), no 'close' to come.
    if (request.socket.destroyed) return undefined;
    const ip = request.socket.remoteAddress ?? '';
    if (this.maxConnections > 0 && this.open >= this.maxConnections) {
      return { reject: 503, body: 'too many connections; try again later', headers: { 'Retry-After': '5' } };
    }
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.maxConnectionsPerIp > 0 && fromIp >= this.maxConnectionsPerIp) {
      return { reject: 429, body: `too many connections from ${ip}`, headers: { 'Retry-After': '5' } };
    }
    this.open++;
    this.perIp.set(ip, fromIp + 1);
    request.socket.once('close', () => this.release(ip));
    return undefined;
  }

  private release(ip: string): void {
    this.open--;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n === 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }
}
