import * as http from 'node:http';
import * as https from 'node:https';
import type * as tls from 'node:tls';
import type { Candidate } from './balancer.js';

/**
 * One backend server: where it is, whether it may take new clients, and what
 * went through it. Health comes from two sources: active checks (health.ts)
 * and passive ones (a failed connect counts as a failed check).
 */

export interface HealthCheckOptions {
  /** 'http': GET `path` must answer 2xx/3xx; 'websocket': a handshake on `path` must get 101. */
  type: 'http' | 'websocket';
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures that take a backend out. */
  unhealthyThreshold: number;
  /** Consecutive successes that bring it back. */
  healthyThreshold: number;
}

export interface BackendTls {
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export class Backend implements Candidate {
  readonly id: string;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  healthy = true;
  draining = false;
  active = 0;
  total = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly handshakes = { accepted: 0, refused: 0, failed: 0 };
  private failures = 0;
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Without active checks, a passively ejected backend is tried again after this long. */
  private retryAt = 0;
  /** Told of every ejection and readmission, with the reason. */
  onStateChange: ((healthy: boolean, reason: string) => void) | undefined;

  constructor(
    readonly url: URL,
    readonly tlsOptions: BackendTls = {},
    private readonly unhealthyThreshold = 1,
    private readonly healthyThreshold = 1,
    private readonly passiveRetryMs = 10_000,
  ) {
    this.id = url.href;
    this.secure = url.protocol === 'wss:' || url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port ? Number(url.port) : this.secure ? 443 : 80;
  }

  get available(): boolean {
    if (this.draining) return false;
    if (!this.healthy && this.timer === undefined && Date.now() >= this.retryAt) {
      // No active checks: give a passively ejected backend another chance.
      this.healthy = true;
      this.failures = 0;
      this.onStateChange?.(true, `retried ${this.passiveRetryMs / 1000} s after a failed connection`);
    }
    return this.healthy;
  }

  /** A connect or check failed. */
  recordFailure(reason = 'failed'): void {
    this.successes = 0;
    if (++this.failures >= this.unhealthyThreshold && this.healthy) {
      this.healthy = false;
      this.retryAt = Date.now() + this.passiveRetryMs;
      this.onStateChange?.(
        false,
        `${this.failures} failure${this.failures === 1 ? '' : 's'} in a row, last: ${reason}`,
      );
    }
  }

  recordSuccess(reason = 'answered'): void {
    this.failures = 0;
    if (!this.healthy && ++this.successes >= this.healthyThreshold) {
      this.healthy = true;
      this.successes = 0;
      this.onStateChange?.(true, reason);
    }
  }

  /** Start active health checks. */
  startChecks(options: HealthCheckOptions): void {
    this.stopChecks();
    const run = () => {
      check(this, options).then(
        () =>
          this.recordSuccess(
            `health check ${options.type === 'websocket' ? 'handshake' : 'GET'} ${options.path} passed`,
          ),
        (error: Error) => this.recordFailure(`health check: ${error.message}`),
      );
    };
    this.timer = setInterval(run, options.intervalMs);
    this.timer.unref();
    run();
  }

  stopChecks(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  snapshot() {
    return {
      url: this.id,
      state: this.draining ? 'draining' : this.healthy ? 'up' : 'down',
      active: this.active,
      total: this.total,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      handshakes: { ...this.handshakes },
    };
  }
}

/** One active check: resolves when healthy, rejects otherwise. */
function check(backend: Backend, options: HealthCheckOptions): Promise<void> {
  const websocket = options.type === 'websocket';
  const headers: Record<string, string> = websocket
    ? {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'c29ja2V0ZWVyIGhlYWx0aA==',
      }
    : {};
  // Built inside the executor: anything it throws becomes a failed check, not an uncaught exception.
  return new Promise((resolve, reject) => {
    const request = (backend.secure ? https : http).request({
      host: backend.host,
      port: backend.port,
      path: options.path,
      method: 'GET',
      headers,
      agent: false,
      ...(backend.secure ? (backend.tlsOptions as tls.ConnectionOptions) : {}),
    });
    // A deadline, not an idle timeout: a backend dripping its answer byte by byte is not healthy.
    const deadline = setTimeout(
      () => request.destroy(new Error(`health check timed out after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const settle = (error?: Error) => {
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve();
    };
    request.on('error', settle);
    request.on('upgrade', (_response, socket) => {
      socket.destroy();
      settle();
    });
    request.on('response', (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      if (!websocket && status >= 200 && status < 400) settle();
      else if (!websocket && status === 426) {
        // A plain WebSocket endpoint: it is probably fine, the check is the wrong kind.
        settle(
          new Error(
            `GET ${options.path} got 426 Upgrade Required: the backend expects a WebSocket handshake there; ` +
              'use a WebSocket check (--health-ws PATH, or healthCheck.type "websocket") or an HTTP health path',
          ),
        );
      } else settle(new Error(`${websocket ? 'handshake' : 'GET'} ${options.path} got HTTP ${status}`));
      request.destroy();
    });
    request.end();
  });
}
