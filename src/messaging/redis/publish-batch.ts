/**
 * Publishes issued in one event-loop turn leave in ONE call of the publish
 * function (functions.ts: it takes several publications, reads the replication
 * id and the time once, and applies each in order as its own atomic step). A
 * busy node sends many publishes per turn (each client's command is handled as
 * it arrives); one FCALL for them all spares Redis and node-redis the per-call
 * work: encoding, dispatch, the INFO and TIME calls, the reply.
 *
 * Order is kept: a batch is sent whole, batches in the order they were made, on
 * the one command connection. A publication that fails in Redis fails alone; a
 * batch that fails as a whole (Redis unreachable, timeout) fails each of its
 * publishes with that error, as separate calls would have failed.
 *
 * On a cluster a call must stay in one hash slot: every publish is a batch of one.
 */

import { ErrorReply } from 'redis';
import { type CommandRunner, toEngineError } from './commands.js';
import { Fn } from './functions.js';

/** Publications per call (bounded work per call on the server). */
const MAX_BATCH = 64;

/** What the publish function answers for one publication. */
export type PublishReply = { epoch: string; offset: number; duplicate: boolean };

interface Pending {
  keys: string[];
  args: string[];
  resolve: (reply: PublishReply) => void;
  reject: (err: Error) => void;
}

export class PublishBatcher {
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(
    private readonly commands: CommandRunner,
    /** One server: several channels per call. False on a cluster. */
    private readonly batched: boolean,
  ) {}

  /** keys: meta, stream, idempotency key; args: the eight of one publication (functions.ts). */
  publish(keys: string[], args: string[]): Promise<PublishReply> {
    // Fail fast: the bound on calls in flight counts the publishes waiting here too.
    if (!this.commands.hasRoomFor(this.#queue.length + 1))
      return Promise.reject(this.commands.tooManyPending());
    return new Promise((resolve, reject) => {
      this.#queue.push({ keys, args, resolve, reject });
      if (!this.batched || this.#queue.length >= MAX_BATCH) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const keys: string[] = [];
    const args: string[] = [];
    for (const item of batch) {
      keys.push(...item.keys);
      args.push(...item.args);
    }
    this.commands.fcall(Fn.publish, keys, args, batch.length).then(
      (reply) => {
        const flat = reply as unknown[];
        for (let i = 0; i < batch.length; i++) {
          const offset = Number(flat[3 * i + 1]);
          if (offset < 0) {
            // This publication failed in Redis (e.g. a key of another type): only it.
            batch[i]!.reject(toEngineError(new ErrorReply(String(flat[3 * i + 2]))));
            continue;
          }
          batch[i]!.resolve({
            epoch: String(flat[3 * i]),
            offset,
            duplicate: Number(flat[3 * i + 2]) === 1,
          });
        }
      },
      (err: Error) => {
        for (const item of batch) item.reject(err);
      },
    );
  }
}
