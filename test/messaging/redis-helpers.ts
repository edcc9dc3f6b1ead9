import type { TestContext } from 'node:test';
import { createClient } from 'redis';
import type { EngineHandler } from '../../src/messaging/engine.js';
import type { ClientInfo, Publication } from '../../src/messaging/protocol.js';
import { Fn } from '../../src/messaging/redis/functions.js';
import { RedisEngine } from '../../src/messaging/redis/index.js';
import { channelKeys } from '../../src/messaging/redis/keys.js';
import type { RedisEngineOptions } from '../../src/messaging/redis/options.js';

/** Everything an engine told its hub, with a way to wait for a condition on it. */
export class RecordingHandler implements EngineHandler {
  readonly publications: { channel: string; pub: Publication }[] = [];
  readonly joins: { channel: string; info: ClientInfo }[] = [];
  readonly leaves: { channel: string; info: ClientInfo }[] = [];
  readonly resyncs: string[][] = [];
  readonly readinessChanges: boolean[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  publication(channel: string, pub: Publication): void {
    this.publications.push({ channel, pub });
    this.#wake();
  }
  join(channel: string, info: ClientInfo): void {
    this.joins.push({ channel, info });
    this.#wake();
  }
  leave(channel: string, info: ClientInfo): void {
    this.leaves.push({ channel, info });
    this.#wake();
  }
  resync(channels: readonly string[]): void {
    this.resyncs.push([...channels]);
    this.#wake();
  }
  readiness(ready: boolean): void {
    this.readinessChanges.push(ready);
    this.#wake();
  }

  pubsOf(channel: string): Publication[] {
    return this.publications.filter((p) => p.channel === channel).map((p) => p.pub);
  }

  /** Resolves once `check()` holds (checked now and after every event); rejects after `ms`. */
  until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for: ${what}`));
      }, ms);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  #wake(): void {
    const ready = this.#waiters.filter((w) => w.check());
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** A started engine with a recording handler, closed when the test ends. */
export async function startEngine(
  t: TestContext,
  options: RedisEngineOptions,
): Promise<{ engine: RedisEngine; handler: RecordingHandler }> {
  const engine = new RedisEngine({
    presenceSweepMs: 100,
    connectTimeoutMs: 3000,
    reconnectMaxDelayMs: 200,
    ...options,
  });
  const handler = new RecordingHandler();
  await engine.start(handler);
  t.after(() => engine.close());
  return { engine, handler };
}

export const history = { size: 100, ttlMs: 60_000 };

export function alice(client = 'c-alice'): ClientInfo {
  return { user: 'alice', client, info: { name: 'Alice' } };
}

/** Polls an async condition (for state with no event: expiry inside Redis). Bounded. */
export async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Kills every pub/sub connection and publishes `data` to `channel` in one MULTI:
 * Redis drops what it would have sent to the killed connections, so the live
 * feed certainly misses this publication (only a resync from history finds it).
 */
export async function killFeedsAndPublish(url: string, channel: string, data: unknown): Promise<void> {
  const keys = channelKeys('socketeer:', channel);
  const raw = createClient({ url });
  raw.on('error', () => {});
  await raw.connect();
  try {
    // Fn.publish's arguments: candidate epoch, data JSON, publisher info, history size and ttl,
    // idempotency ttl (0: no key), then the pub/sub channel and whether it is sharded.
    const args = ['x', JSON.stringify(data), '', '100', '60000', '0', keys.pubsub, '0'];
    await raw
      .multi()
      .addCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      .addCommand(['FCALL', Fn.publish, '3', keys.meta, keys.stream, keys.meta, ...args])
      .exec();
  } finally {
    raw.destroy();
  }
}
