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

export class CommandRunner {
  #pending = 0;

  /** `connection()` returns the live connection or throws EngineUnavailableError (not started, closed). */
  constructor(
    private readonly connection: () => RedisConnection,
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  /** FCALL of one library function; keys[0] routes it on a cluster (all keys share one slot). */
  async fcall(fn: string, keys: string[], args: string[]): Promise<unknown> {
    const command = ['FCALL', fn, String(keys.length), ...keys, ...args];
    try {
      return await this.#send(keys[0]!, command);
    } catch (err) {
      // Redis restarted with its memory gone (functions too), or a new cluster node: load and retry once.
      if (!(err instanceof ErrorReply) || !MISSING_FUNCTION.test(err.message)) throw toEngineError(err);
      try {
        await this.connection().loadLibrary(LIBRARY_CODE);
        return await this.#send(keys[0]!, command);
      } catch (again) {
        throw toEngineError(again);
      }
    }
  }

  /** Any other command, routed by `key`. */
  async call(key: string, command: string[]): Promise<unknown> {
    try {
      return await this.#send(key, command);
    } catch (err) {
      throw toEngineError(err);
    }
  }

  async #send(key: string, command: string[]): Promise<unknown> {
    const connection = this.connection();
    // node-redis would reject too (disableOfflineQueue); checking first keeps the message plain.
    if (!connection.commandsReady()) throw new EngineUnavailableError('Redis is not reachable');
    if (this.#pending >= this.maxPending) {
      throw new EngineUnavailableError(`more than ${this.maxPending} Redis commands in flight`);
    }
    // node-redis's own timeout only covers commands not yet written; a written command waits
    // for its reply however long a hung server takes. So the caller gets its answer (an error)
    // after timeoutMs, while the command counts as pending until Redis really answers: the
    // bound on pending commands is the bound on what node-redis holds.
    this.#pending++;
    let reply: Promise<unknown>;
    try {
      reply = connection.call(key, command);
    } catch (err) {
      this.#pending--;
      throw err;
    }
    reply.then(
      () => this.#pending--,
      () => this.#pending--,
    );
    return answerWithin(reply, this.timeoutMs);
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
