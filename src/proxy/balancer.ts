/**
 * Choosing a backend for a new client: round-robin, least-connections, or
 * consistent hashing of a key (client IP, a header, a cookie) for sticky sessions.
 *
 * The hash ring places VNODES points per backend; a key goes to the first point
 * clockwise from its hash whose backend can take clients. Adding or removing a
 * backend therefore moves only the keys on the arcs that backend gains or loses
 * (about 1/n of them), and a backend that is down or draining hands its keys to
 * its ring neighbours without disturbing anyone else's.
 */

export type Algorithm = 'round-robin' | 'least-connections' | 'hash';

/** What a balancer needs to know of a backend. */
export interface Candidate {
  readonly id: string;
  /** Up and not draining. */
  readonly available: boolean;
  /** Connections open through this backend now. */
  readonly active: number;
}

const VNODES = 160;

/** FNV-1a, 32 bits: fast, well spread for short keys, no dependencies. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche: FNV alone clusters keys that differ only at the end.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export class Balancer<T extends Candidate> {
  private next = 0;
  private ring: { point: number; backend: T }[] = [];

  constructor(
    readonly algorithm: Algorithm,
    private backends: T[],
  ) {
    this.buildRing();
  }

  /** Replace the backend list (membership changes); the ring is rebuilt. */
  setBackends(backends: T[]): void {
    this.backends = backends;
    this.buildRing();
  }

  /** The backend for a new client, or undefined when none can take one. `key` is used by 'hash'. */
  pick(key?: string): T | undefined {
    if (this.algorithm === 'hash' && key !== undefined) return this.pickByHash(key);
    if (this.algorithm === 'least-connections') return this.pickLeastConnections();
    return this.pickRoundRobin();
  }

  private pickRoundRobin(): T | undefined {
    const n = this.backends.length;
    for (let i = 0; i < n; i++) {
      const backend = this.backends[(this.next + i) % n]!;
      if (backend.available) {
        this.next = (this.next + i + 1) % n;
        return backend;
      }
    }
    return undefined;
  }

  private pickLeastConnections(): T | undefined {
    let best: T | undefined;
    // Ties go round-robin, so equal backends share new clients evenly.
    const n = this.backends.length;
    for (let i = 0; i < n; i++) {
      const backend = this.backends[(this.next + i) % n]!;
      if (backend.available && (!best || backend.active < best.active)) best = backend;
    }
    if (best) this.next = (this.backends.indexOf(best) + 1) % n;
    return best;
  }

  private pickByHash(key: string): T | undefined {
    const ring = this.ring;
    if (ring.length === 0) return undefined;
    const h = hash32(key);
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]!.point < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < ring.length; i++) {
      const backend = ring[(lo + i) % ring.length]!.backend;
      if (backend.available) return backend;
    }
    return undefined;
  }

  private buildRing(): void {
    const ring: { point: number; backend: T }[] = [];
    for (const backend of this.backends) {
      for (let v = 0; v < VNODES; v++) ring.push({ point: hash32(`${backend.id}#${v}`), backend });
    }
    ring.sort((a, b) => a.point - b.point);
    this.ring = ring;
  }
}
