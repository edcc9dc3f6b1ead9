/**
 * A session's outbound messages wait here until the end of the event-loop
 * iteration, then leave together: one socket write per connection however
 * many publications, replies and pushes it got meanwhile.
 *
 * Why: a fan-out costs one write syscall per subscriber, and on loopback TCP
 * that syscall (with the receiver's wakeup) is most of the CPU a delivery
 * costs. Messages are cheap to hold (a live publication is one PreparedMessage
 * shared by every subscriber), so holding them until every input read in
 * this iteration was handled lets several publications to one connection
 * share one write.
 *
 * One Flusher per process walks the outboxes that have something, in the
 * order they got it, in slices of about SLICE_MS (write syscalls included):
 * between slices the event loop reads input again, so a fan-out to 10,000
 * connections never stalls the process, and publications that arrive during
 * a long fan-out join the outboxes not written yet. The busier the server,
 * the more each write carries; an idle server writes at the end of the
 * iteration that produced the message (setImmediate), adding no timer delay.
 *
 * Order per connection is kept: everything a session writes goes through its
 * outbox while the outbox holds anything.
 *
 * Replies do not wait for the iteration's end: an outbox holding a command's
 * reply (a publish ack) is written once the work of the current event is
 * done (a microtask), ahead of the fan-out. A publish is acked when the engine
 * stored it, which is also when its fan-out starts, so at the end of the
 * iteration every ack waited behind the fan-out and the input read meanwhile
 * (with the Redis engine: the deliveries of a whole stored batch). The acks
 * of one engine reply still share a write per connection: they all reach
 * their outbox in the same round of microtasks, before the lane runs.
 */

import { performance } from 'node:perf_hooks';
import { PreparedMessage } from '../index.js';

export type OutboundMessage = string | Buffer | PreparedMessage;

/** Where an outbox writes (a session's socket). */
export interface OutboxTarget {
  /** Write one message now. */
  writeNow(message: OutboundMessage): void;
  /**
   * Whether a text message may be framed as a PreparedMessage and so join a
   * batch (false with permessage-deflate: send() may compress it).
   */
  textAsPrepared(): boolean;
}

/** How long one flush slice may write before the event loop gets to read input again. */
const SLICE_MS = 4;
/** Outboxes written between two looks at the clock. */
const GROUP = 64;

class Flusher {
  private queue: Outbox[] = [];
  private head = 0;
  private scheduled = false;
  private deadline = 0;

  schedule(outbox: Outbox): void {
    this.queue.push(outbox);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.deadline = performance.now() + SLICE_MS;
    this.writeGroup();
  };

  private readonly writeGroup = (): void => {
    const queue = this.queue;
    const end = Math.min(queue.length, this.head + GROUP);
    while (this.head < end) {
      const outbox = queue[this.head]!;
      queue[this.head++] = undefined as unknown as Outbox; // let a closed session's outbox go
      outbox.flush();
    }
    if (this.head < queue.length) {
      // The sockets just written are corked until the end of the tick (sendPrepared), so the
      // write syscalls, most of a delivery's cost, happen then: look at the clock only after
      // them (this runs after the uncork, queued earlier), or a 4 ms slice becomes ~30 ms of
      // writes and input (new publications, publish commands) waits that long to be read.
      process.nextTick(this.afterGroup);
      return;
    }
    this.queue = [];
    this.head = 0;
    this.scheduled = false;
  };

  /** After the group's writes: more in this slice, or read input first. */
  private readonly afterGroup = (): void => {
    if (performance.now() < this.deadline) return this.writeGroup();
    // Outboxes scheduled during this slice are behind the head: continue after reading input.
    if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    setImmediate(this.afterInput);
  };

  /**
   * The next slice waits one more turn of the event loop: what reading input
   * just queued with setImmediate (the Redis engine sends the publishes it
   * gathered that way) runs before the slice instead of after it.
   */
  private readonly afterInput = (): void => {
    setImmediate(this.run);
  };
}

const flusher = new Flusher();

/** Outboxes holding a reply, written when the current event's microtasks are done (see the header). */
class ReplyLane {
  private outboxes: Outbox[] = [];

  add(outbox: Outbox): void {
    if (this.outboxes.push(outbox) === 1) queueMicrotask(this.run);
  }

  private readonly run = (): void => {
    const outboxes = this.outboxes;
    this.outboxes = [];
    for (const outbox of outboxes) outbox.flush();
  };
}

const replyLane = new ReplyLane();

export class Outbox {
  private messages: OutboundMessage[] = [];
  /** Bytes waiting here (part of what counts against the slow-consumer bound). */
  bytes = 0;
  private flushedWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private closed = false;
  /** Whether the reply lane holds this outbox. */
  private hasReply = false;

  constructor(private readonly target: OutboxTarget) {}

  get size(): number {
    return this.messages.length;
  }

  /**
   * Queue a message (written with the others at the end of the event-loop iteration).
   * `reply`: a command's reply; this outbox is then written without waiting for the iteration's end.
   */
  push(message: OutboundMessage, reply = false): void {
    if (this.closed) return;
    if (reply && !this.hasReply) {
      this.hasReply = true;
      replyLane.add(this);
    } else if (this.messages.length === 0 && !this.hasReply) flusher.schedule(this);
    this.messages.push(message);
    this.bytes += sizeOf(message);
  }

  /** Write everything queued, in order (the flusher's slice, or a disconnect that must go last). */
  flush(): void {
    this.hasReply = false;
    const messages = this.messages;
    if (messages.length === 0) return;
    this.messages = [];
    this.bytes = 0;
    if (messages.length === 1) this.target.writeNow(messages[0]!);
    else this.writeBatched(messages);
    const waiters = this.flushedWaiters;
    this.flushedWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** Consecutive messages that can be prepared go as one PreparedMessage.concat: one write. */
  private writeBatched(messages: OutboundMessage[]): void {
    if (messages.every((m) => m instanceof PreparedMessage)) {
      return this.target.writeNow(sharedBatch(messages as PreparedMessage[]));
    }
    const textAsPrepared = this.target.textAsPrepared();
    let run: PreparedMessage[] = [];
    for (const message of messages) {
      if (message instanceof PreparedMessage) run.push(message);
      else if (textAsPrepared) run.push(new PreparedMessage(message, { binary: false }));
      else {
        if (run.length > 0) this.target.writeNow(PreparedMessage.concat(run));
        run = [];
        this.target.writeNow(message);
      }
    }
    if (run.length > 0) this.target.writeNow(PreparedMessage.concat(run));
  }

  /** Resolves once what is queued now has been handed to the connection; rejects if it closes first. */
  flushed(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (this.messages.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushedWaiters.push({ resolve, reject }));
  }

  /** The connection closed: drop what waits (the client recovers it from history) and fail waiters. */
  close(): void {
    this.closed = true;
    this.messages = [];
    this.bytes = 0;
    const waiters = this.flushedWaiters;
    this.flushedWaiters = [];
    for (const waiter of waiters) waiter.reject(new Error('connection closed'));
  }
}

/**
 * Publications as one PreparedMessage. A fan-out leaves the same publications
 * waiting for most of its subscribers, in the same order, and the flusher
 * walks those subscribers one after the other: the last batch is reused when
 * the next outbox holds the same messages, so they share one buffer too.
 */
let lastParts: PreparedMessage[] = [];
let lastBatch: PreparedMessage | undefined;

function sharedBatch(messages: PreparedMessage[]): PreparedMessage {
  if (lastBatch && sameMessages(messages, lastParts)) return lastBatch;
  lastParts = messages;
  lastBatch = PreparedMessage.concat(messages);
  return lastBatch;
}

function sameMessages(a: PreparedMessage[], b: PreparedMessage[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sizeOf(message: OutboundMessage): number {
  if (typeof message === 'string') return Buffer.byteLength(message);
  return message.byteLength;
}
