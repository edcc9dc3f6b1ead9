import type { WebSocketServer } from '../index.js';

/**
 * Presence deltas of a busy room, gathered for a few milliseconds and written
 * together: with N members every join or leave is N small frames, and one
 * write system call per frame was most of what a burst of joins cost (issue 11
 * item 7). Each connection subscribes to a topic of its own; a flush publishes
 * its gathered frames in one tick, where the core corks the socket, so they
 * leave in one write. A connection's other messages flush its deltas first, so
 * order is kept.
 */
export class Coalescer {
  private readonly pending = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: WebSocketServer,
    private readonly delayMs = 20,
  ) {}

  add(topic: string, frame: string): void {
    let frames = this.pending.get(topic);
    if (!frames) this.pending.set(topic, (frames = []));
    frames.push(frame);
    this.timer ??= setTimeout(() => this.flushAll(), this.delayMs);
  }

  /** Write what is gathered for `topic` now (before another message to it). */
  flush(topic: string): void {
    const frames = this.pending.get(topic);
    if (!frames) return;
    this.pending.delete(topic);
    for (const frame of frames) this.server.publish(topic, frame);
  }

  /** Drop what is gathered for a connection that went away. */
  forget(topic: string): void {
    this.pending.delete(topic);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private flushAll(): void {
    this.timer = undefined;
    for (const topic of [...this.pending.keys()]) this.flush(topic);
  }
}
