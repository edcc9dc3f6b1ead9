import type { IncomingMessage } from 'node:http';
import { resolveClient } from '../node/trust-proxy.js';
import type { CheckedProxyOptions } from './config.js';
import { readTarget } from './request-target.js';

/**
 * The rules a handshake must pass at the edge, before any backend is touched:
 * origin allow-list, required header, token, the application's own hook, and
 * the limits (total connections, connections and handshakes per second per IP).
 */

export interface Refusal {
  reason: string;
  status: number;
  message: string;
  headers?: Record<string, string | number>;
}

export class EdgeGuard {
  private connections = 0;
  private readonly perIp = new Map<string, number>();
  private readonly rate = new Map<string, { second: number; count: number }>();

  constructor(private readonly options: CheckedProxyOptions) {}

  /** Whether the direct peer is a trusted proxy (its forwarding headers are kept). */
  trusts(req: IncomingMessage): boolean {
    const trust = this.options.trustProxy;
    if (!trust) return false;
    if (trust === true) return true;
    let peer = req.socket.remoteAddress ?? '';
    if (peer.startsWith('::ffff:') && peer.includes('.')) peer = peer.slice(7);
    return trust.includes(peer);
  }

  clientIp(req: IncomingMessage): string {
    return resolveClient(req, this.options.trustProxy).address;
  }

  /** Undefined when the handshake may proceed; otherwise why not. */
  async admit(req: IncomingMessage): Promise<Refusal | undefined> {
    const o = this.options;
    const origin = req.headers.origin;
    if (o.origins && origin !== undefined && !o.origins.has(origin.toLowerCase())) {
      return { reason: 'origin', status: 403, message: `origin ${origin} is not allowed` };
    }
    if (o.requireHeader) {
      const value = req.headers[o.requireHeader.name];
      const text = Array.isArray(value) ? value.join(',') : value;
      if (text === undefined || (o.requireHeader.values && !o.requireHeader.values.includes(text))) {
        return {
          reason: 'header',
          status: 401,
          message: `header ${o.requireHeader.name} missing or not accepted`,
        };
      }
    }
    if (o.tokens) {
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      const token = readTarget(req.url).query.get(o.tokens.query) ?? bearer;
      if (!token || !o.tokens.values.has(token)) {
        return { reason: 'token', status: 401, message: 'missing or unknown token' };
      }
    }
    const ip = this.clientIp(req);
    if (o.maxConnections > 0 && this.connections >= o.maxConnections) {
      return {
        reason: 'connection-limit',
        status: 503,
        message: 'too many connections',
        headers: { 'Retry-After': 5 },
      };
    }
    if (o.maxConnectionsPerIp > 0 && (this.perIp.get(ip) ?? 0) >= o.maxConnectionsPerIp) {
      return {
        reason: 'ip-limit',
        status: 429,
        message: `too many connections from ${ip}`,
        headers: { 'Retry-After': 5 },
      };
    }
    if (o.handshakesPerSecondPerIp > 0 && !this.takeHandshake(ip)) {
      return {
        reason: 'rate-limit',
        status: 429,
        message: `too many handshakes from ${ip}`,
        headers: { 'Retry-After': 1 },
      };
    }
    if (o.authenticate) {
      try {
        const result = await o.authenticate(req);
        if (result && 'reject' in result) {
          return {
            reason: 'auth-rejected',
            status: result.reject,
            message: result.body ?? 'handshake refused',
            headers: result.headers,
          };
        }
      } catch {
        return { reason: 'auth-error', status: 500, message: 'authentication failed' };
      }
    }
    return undefined;
  }

  /** Count an admitted connection until the returned function is called. */
  hold(req: IncomingMessage): () => void {
    const ip = this.clientIp(req);
    this.connections++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.connections--;
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n === 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    };
  }

  /** A one-second window per address; stale windows are swept as the map grows. */
  private takeHandshake(ip: string): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (this.rate.size > 10_000) {
      for (const [key, window] of this.rate) if (window.second !== second) this.rate.delete(key);
    }
    const window = this.rate.get(ip);
    if (!window || window.second !== second) {
      this.rate.set(ip, { second, count: 1 });
      return true;
    }
    return ++window.count <= this.options.handshakesPerSecondPerIp;
  }
}
