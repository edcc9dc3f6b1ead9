/**
 * How the Redis engine sends commands: fail fast and bounded, errors mapped to
 * what the hub understands, and the function library reloaded when Redis lost it.
 */

import { ErrorReply } from 'redis';
import { EngineUnavailableError } from '../engine.js';
import type { RedisConnection } from './connection.js';
import { LIBRARY_CODE } from './functions.js';

/** Redis error replies that mean "not now" rather than "wrong request". */
const TEMPORARY_REPLY = /^(READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|MOVED|ASK)\b/;
const MISSING_FUNCTION = /Function not found/i;

/** Connection-level failures and temporary replies become EngineUnavailableError; other replies stay (bugs). */
export function toEngineError(err: unknown): Error {
  if (err instanceof EngineUnavailableError) return err;
  if (err instanceof ErrorReply && !TEMPORARY_REPLY.test(err.message)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineUnavailableError(`Redis unavailable: ${message}`, { cause: err });
}

/** A command waiting for its answer, with the moment its caller stops waiting. */
interface Waiter {
  deadline: number;
  done: boolean;
  reject: (err: Error) => void;
}

export class CommandRunner {
  #pending = 0;
  /**
   * Commands whose caller still waits, oldest first. Every command gets the same
   * timeout, so the head always expires first: ONE timer for all of them instead of
   * a timer (and a node-redis AbortSignal) per command, which cost more CPU than the
   * rest of a publish's client side.
   */
  #waiters: (Waiter | undefined)[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `connection()` returns the live connection or throws EngineUnavailableError (not started, closed). */
  constructor(
    private readonly connection: () => RedisConnection,
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * FCALL of one library function; keys[0] routes it on a cluster (all keys share one
   * slot). `weight`: how many calls it stands for against maxPending (a batch of publishes).
   */
  fcall(fn: string, keys: string[], args: string[], weight = 1): Promise<unknown> {
    const command = ['FCALL', fn, String(keys.length), ...keys, ...args];
    return this.#send(keys[0]!, command, weight).catch((err) =>
      this.#retryLoaded(err, keys[0]!, command, weight),
    );
  }

  /** Any other command, routed by `key`. */
  call(key: string, command: string[]): Promise<unknown> {
    return this.#send(key, command).catch((err) => {
      throw toEngineError(err);
    });
  }

  /** Redis restarted with its memory gone (functions too), or a new cluster node: load and retry once. */
  async #retryLoaded(err: unknown, key: string, command: string[], weight: number): Promise<unknown> {
    if (!(err instanceof ErrorReply) || !MISSING_FUNCTION.test(err.message)) throw toEngineError(err);
    try {
      await this.connection().loadLibrary(LIBRARY_CODE);
      return await this.#send(key, command, weight);
    } catch (again) {
      throw toEngineError(again);
    }
  }

  #send(key: string, command: string[], weight = 1): Promise<unknown> {
    let connection: RedisConnection;
    try {
      connection = this.connection();
    } catch (err) {
      return Promise.reject(err);
    }
    // node-redis would reject too (disableOfflineQueue); checking first keeps the message plain.
    if (!connection.commandsReady())
      return Promise.reject(new EngineUnavailableError('Redis is not reachable'));
    // (A batch heavier than the whole bound still goes when nothing else is pending.)
    if (this.#pending + weight > this.maxPending && this.#pending > 0) {
      return Promise.reject(this.tooManyPending());
    }
    // A written command waits for its reply however long a hung server takes (node-redis
    // times out only commands not yet written). So the caller gets its answer (an error)
    // after timeoutMs, while the command counts as pending until Redis really answers: the
    // bound on pending commands is the bound on what node-redis holds.
    let reply: Promise<unknown>;
    try {
      reply = connection.call(key, command);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#pending += weight;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { deadline: Date.now() + this.timeoutMs, done: false, reject };
      this.#wait(waiter);
      reply.then(
        (value) => {
          this.#pending -= weight;
          if (this.#settle(waiter)) resolve(value);
        },
        (err) => {
          this.#pending -= weight;
          if (this.#settle(waiter)) reject(err);
        },
      );
    });
  }

  /** Marks an answered command; false when its caller was already told it timed out. */
  #settle(waiter: Waiter): boolean {
    if (waiter.done) return false;
    waiter.done = true;
    // Replies mostly come in the order sent: drop the answered prefix at once, so the
    // queue holds about as many entries as there are commands in flight.
    const waiters = this.#waiters;
    let head = this.#head;
    if (waiters[head] !== waiter) return true;
    while (head < waiters.length && waiters[head]!.done) waiters[head++] = undefined;
    if (head === waiters.length) {
      this.#waiters = [];
      head = 0;
    } else if (head > 1024 && head * 2 > waiters.length) {
      this.#waiters = waiters.slice(head);
      head = 0;
    }
    this.#head = head;
    return true;
  }

  /** Whether `count` more calls fit under maxPending now. */
  hasRoomFor(count: number): boolean {
    return this.#pending + count <= this.maxPending;
  }

  /** The error of a call refused because maxPending calls are in flight. */
  tooManyPending(): EngineUnavailableError {
    return new EngineUnavailableError(`more than ${this.maxPending} Redis commands in flight`);
  }

  /** Calls whose caller still waits or that are answered but not yet dropped (for tests). */
  waitingCalls(): number {
    return this.#waiters.length - this.#head;
  }

  #wait(waiter: Waiter): void {
    this.#waiters.push(waiter);
    if (!this.#timer) this.#arm(this.timeoutMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, ms));
    // A waiting call has a live socket keeping the process up; the timer alone need not.
    this.#timer.unref();
  }

  /** Rejects the waiters past their deadline (the answered ones are skipped). */
  #expire(): void {
    this.#timer = undefined;
    const now = Date.now();
    const waiters = this.#waiters;
    let head = this.#head;
    for (; head < waiters.length; head++) {
      const waiter = waiters[head]!;
      if (!waiter.done) {
        if (waiter.deadline > now) break;
        waiter.done = true;
        waiter.reject(
          new EngineUnavailableError(`Redis did not answer within ${this.timeoutMs} ms (timeout)`),
        );
      }
      waiters[head] = undefined;
    }
    if (head === waiters.length) {
      this.#waiters = [];
      this.#head = 0;
      return;
    }
    this.#waiters = waiters.slice(head);
    this.#head = 0;
    this.#arm(this.#waiters[0]!.deadline - now);
  }
}

/** `promise`, or EngineUnavailableError once `ms` pass without it settling. */
export async function answerWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new EngineUnavailableError(`Redis did not answer within ${ms} ms (timeout)`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
