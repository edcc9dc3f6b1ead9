import { CloseCode } from '../../protocol/constants.js';
import { HeartbeatMonitor, type HeartbeatOptions } from '../heartbeat.js';
import { kCloseUnchecked, kConnectionOwner } from '../internal.js';
import type { ConnectionWatcher } from '../transport-binding.js';
import type { ServerWebSocket } from './server-websocket.js';
import type { ServerCounters } from './stats.js';

/**
 * A server's connections: the OPEN ones (`server.clients`) and those whose
 * closing handshake is under way (server.close() waits for them too). Every
 * connection tells this one object as it starts closing and once it has
 * closed, instead of a listener each. The heartbeat runs while any connection
 * is open.
 */
export class ServerConnections<User> implements ConnectionWatcher<ServerWebSocket<User>> {
  /** OPEN connections only: a socket leaves as soon as it starts closing. */
  readonly open = new Set<ServerWebSocket<User>>();
  private readonly closingHandshakes = new Set<ServerWebSocket<User>>();
  private readonly heartbeat: HeartbeatMonitor;

  constructor(
    heartbeat: HeartbeatOptions,
    private readonly counters: ServerCounters,
  ) {
    this.heartbeat = new HeartbeatMonitor(heartbeat, () => this.open);
  }

  /** Open and closing connections (both still hold a socket). */
  get size(): number {
    return this.open.size + this.closingHandshakes.size;
  }

  /** Every connection that still holds a socket, open or closing. */
  all(): ServerWebSocket<User>[] {
    return [...this.open, ...this.closingHandshakes];
  }

  /** Call before the connection takes its socket: from then on it reports here. */
  watch(ws: ServerWebSocket<User>): void {
    ws[kConnectionOwner] = this;
  }

  /** The connection is open. */
  add(ws: ServerWebSocket<User>): void {
    this.open.add(ws);
    this.heartbeat.start();
  }

  closing(ws: ServerWebSocket<User>): void {
    if (this.open.delete(ws)) this.closingHandshakes.add(ws);
    if (this.open.size === 0) this.heartbeat.stop();
  }

  closed(ws: ServerWebSocket<User>): void {
    this.counters.closed(ws);
    this.open.delete(ws);
    this.closingHandshakes.delete(ws);
    ws.unsubscribeAll();
    if (this.open.size === 0) this.heartbeat.stop();
  }

  /**
   * Server shutdown: close every open connection with 1001 (Going Away);
   * resolves once every connection, the ones already closing included, is gone.
   */
  closeAll(): Promise<unknown> {
    this.heartbeat.stop();
    const open = [...this.open];
    const gone = this.all().map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    for (const ws of open) ws[kCloseUnchecked](CloseCode.GoingAway, 'server shutting down');
    return Promise.all(gone);
  }
}
