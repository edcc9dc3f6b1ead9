import type { CommandName, ErrorBody } from '../protocol.js';
import { NotSentError, ReplyError, TimeoutError } from './errors.js';

/**
 * Commands waiting for their reply, and those waiting for a connection to be
 * sent at all (the offline queue). One place owns the correlation ids, the
 * timeouts and the re-sending after a reconnect, so that every command the
 * application started ends exactly once: resolved with its result, or
 * rejected with a reason it can act on.
 *
 * Repeatable commands (publishes carrying an idempotency key, and reads) go
 * back to the queue when the connection drops before their reply and are sent
 * again once connected, and are retried after a temporary error reply: a
 * publish is delivered once because the server answers a repeated key with the
 * first result. Others (rpc) are rejected, since running them twice may not be
 * safe.
 */

export type Send = (frame: string) => void;

export interface RequestOptions {
  /** ms from the call until the command fails with TimeoutError. */
  timeout: number;
  /** May be sent again after a reconnect (see above). */
  repeatable: boolean;
  /** How errors describe the command, e.g. 'publish to "chat:lobby" (key k1)'. */
  label: string;
}

interface Entry {
  cmd: CommandName;
  params: unknown;
  options: RequestOptions;
  /** Id of the current send; undefined while waiting for a connection. */
  id: number | undefined;
  sentOnce: boolean;
  timer: ReturnType<typeof setTimeout>;
  /** Set while waiting to resend after a temporary error. */
  retry: ReturnType<typeof setTimeout> | undefined;
  retries: number;
  lastError: ErrorBody | undefined;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export class Outbox {
  readonly #maxQueued: number;
  readonly #random: () => number;
  /** Every pending command in the order it was made: flushes keep that order. */
  readonly #entries = new Set<Entry>();
  readonly #byId = new Map<number, Entry>();
  #queued = 0;
  #nextId = 1;
  #send: Send | undefined;

  constructor(maxQueued: number, random: () => number = Math.random) {
    this.#maxQueued = maxQueued;
    this.#random = random;
  }

  /** Commands waiting for a connection. */
  get queued(): number {
    return this.#queued;
  }

  /** Commands sent and not yet answered. */
  get inFlight(): number {
    return this.#byId.size;
  }

  /**
   * Sends the command now when online, else keeps it for the next connection
   * (bounded: beyond `maxQueued` waiting commands it is rejected at once).
   */
  request<R>(cmd: CommandName, params: unknown, options: RequestOptions): Promise<R> {
    if (!this.#send && this.#queued >= this.#maxQueued) {
      return Promise.reject(
        new NotSentError(
          `${options.label} not sent: the offline queue is full (${this.#maxQueued} commands wait for a connection)`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const entry = this.#create(cmd, params, options, resolve as (result: unknown) => void, reject);
      if (this.#send) this.#transmit(entry, this.#send);
      else this.#queued++;
    });
  }

  /**
   * Sends one command on this connection only, bypassing the queue: for the
   * client's own commands (connect, subscribe, ...), which are rebuilt from
   * state on every connection rather than replayed.
   */
  direct<R>(send: Send, cmd: CommandName, params: unknown, label: string, timeout: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const options = { timeout, repeatable: false, label };
      this.#transmit(this.#create(cmd, params, options, resolve as (result: unknown) => void, reject), send);
    });
  }

  /** The session is connected: send everything that waited, oldest first. */
  online(send: Send): void {
    this.#send = send;
    for (const entry of this.#entries) {
      if (entry.id === undefined && entry.retry === undefined) {
        this.#queued--;
        this.#transmit(entry, send);
      }
    }
  }

  /** The connection is gone: repeatable commands wait for the next one, the others fail. */
  offline(reason: string): void {
    this.#send = undefined;
    for (const entry of this.#entries) {
      if (entry.id === undefined) continue;
      this.#byId.delete(entry.id);
      entry.id = undefined;
      if (entry.options.repeatable) {
        this.#queued++;
      } else {
        this.#settle(entry);
        entry.reject(
          new NotSentError(`${entry.options.label}: connection lost before the reply (${reason})`),
        );
      }
    }
  }

  /** Routes a reply to its command; false when no pending command has that id. */
  reply(id: number, result: unknown, error: ErrorBody | undefined): boolean {
    const entry = this.#byId.get(id);
    if (!entry) return false;
    if (error?.temporary === true && entry.options.repeatable) {
      this.#retryLater(entry, error);
      return true;
    }
    this.#settle(entry);
    if (error) entry.reject(new ReplyError(error, entry.options.label));
    else entry.resolve(result);
    return true;
  }

  /** Rejects every pending command (client closed, or told not to reconnect). */
  failAll(reason: string): void {
    this.#send = undefined;
    this.#queued = 0;
    for (const entry of [...this.#entries]) {
      this.#settle(entry);
      entry.reject(new NotSentError(`${entry.options.label} not completed: ${reason}`));
    }
  }

  #create(
    cmd: CommandName,
    params: unknown,
    options: RequestOptions,
    resolve: (result: unknown) => void,
    reject: (error: Error) => void,
  ): Entry {
    const entry: Entry = {
      cmd,
      params,
      options,
      id: undefined,
      sentOnce: false,
      timer: setTimeout(() => this.#expire(entry), options.timeout),
      retry: undefined,
      retries: 0,
      lastError: undefined,
      resolve,
      reject,
    };
    this.#entries.add(entry);
    return entry;
  }

  /**
   * A temporary refusal (too-many-requests, unavailable, internal) of a
   * repeatable command: send it again after a growing delay, until its
   * timeout. "Equal jitter" (half fixed, half random) so that a client
   * throttled by the server's rate limit does not retry at once.
   */
  #retryLater(entry: Entry, error: ErrorBody): void {
    this.#byId.delete(entry.id!);
    entry.id = undefined;
    entry.lastError = error;
    const window = Math.min(5000, 100 * 2 ** entry.retries++);
    entry.retry = setTimeout(
      () => {
        entry.retry = undefined;
        if (!this.#entries.has(entry)) return;
        if (this.#send) this.#transmit(entry, this.#send);
        else this.#queued++;
      },
      window / 2 + this.#random() * (window / 2),
    );
  }

  #transmit(entry: Entry, send: Send): void {
    const id = this.#nextId++;
    entry.id = id;
    entry.sentOnce = true;
    this.#byId.set(id, entry);
    // A socket that is closing may throw; its close event re-queues or fails the entry.
    try {
      send(JSON.stringify({ id, cmd: entry.cmd, params: entry.params }));
    } catch {}
  }

  #expire(entry: Entry): void {
    if (entry.id === undefined && entry.retry === undefined) this.#queued--;
    this.#settle(entry);
    const { label, timeout } = entry.options;
    const why = entry.lastError
      ? `still refused: ${entry.lastError.code}: ${entry.lastError.message}`
      : entry.sentOnce
        ? entry.cmd === 'publish'
          ? 'no reply; it may have been accepted: publish again with the same key to learn its position'
          : 'no reply'
        : 'no connection to send it on';
    entry.reject(new TimeoutError(`${label} timed out after ${timeout} ms: ${why}`));
  }

  #settle(entry: Entry): void {
    clearTimeout(entry.timer);
    clearTimeout(entry.retry);
    this.#entries.delete(entry);
    if (entry.id !== undefined) this.#byId.delete(entry.id);
  }
}
