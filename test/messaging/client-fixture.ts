import type { AddressInfo } from 'node:net';
import type { Emitter } from '../../src/messaging/client/emitter.js';
import { Hub, type HubOptions } from '../../src/messaging/index.js';
import { MessagingClient, type NodeMessagingClientOptions } from '../../src/messaging/node-client.js';

/**
 * A real hub (memory engine) on a loopback port for client tests, with a gate
 * in its authenticate hook: while held, connection attempts wait there, so a
 * test decides exactly when a reconnecting client gets back (no sleeps).
 */

export const NAMESPACES = {
  '': { historySize: 1000, clientPublish: true },
  chat: { historySize: 1000, presence: true, joinLeave: true, clientPublish: true },
  /** History of 3: a client away for longer cannot recover. */
  short: { historySize: 3, clientPublish: true },
  /** Only the server publishes. */
  news: { historySize: 100 },
};

export class Gate {
  #held: { promise: Promise<void>; release(): void } | undefined;
  #arrivals: Array<() => void> = [];

  hold(): void {
    if (this.#held) return;
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#held = { promise, release };
  }

  release(): void {
    this.#held?.release();
    this.#held = undefined;
  }

  /** Resolves when the next connection attempt reaches the (held) gate. */
  arrival(): Promise<void> {
    return new Promise((resolve) => this.#arrivals.push(resolve));
  }

  async pass(): Promise<void> {
    for (const arrived of this.#arrivals.splice(0)) arrived();
    if (this.#held) await this.#held.promise;
  }
}

export interface TestHub {
  hub: Hub;
  url: string;
  gate: Gate;
  /** Drop a client's TCP connection from the server side, without a close frame. */
  terminate(clientId: string): void;
  /** Close the hub and every client made with client(). */
  close(): Promise<void>;
  client(options?: NodeMessagingClientOptions): MessagingClient;
}

/** A hub on its own loopback port, or (with `server` and `path`) on a test's http server. */
export async function startHub(options: Partial<HubOptions> = {}): Promise<TestHub> {
  const gate = new Gate();
  const hub = new Hub({
    ...(options.server ? {} : { port: 0, host: '127.0.0.1' }),
    namespaces: NAMESPACES,
    authenticate: async ({ token }) => {
      await gate.pass();
      if (token === 'bad') return null;
      return token ? { user: token, info: { name: token } } : { user: '' };
    },
    ...options,
  });
  await hub.listening();
  const url = `ws://127.0.0.1:${(hub.address() as AddressInfo).port}${options.path ?? '/'}`;
  const clients: MessagingClient[] = [];
  return {
    hub,
    url,
    gate,
    terminate(clientId) {
      const session = hub.sessions.get(clientId);
      if (!session) throw new Error(`no session ${clientId}`);
      session.ws.terminate();
    },
    async close() {
      for (const client of clients) client.close();
      gate.release();
      await hub.close();
    },
    client(clientOptions = {}) {
      const client = new MessagingClient(url, {
        minReconnectDelay: 5,
        maxReconnectDelay: 50,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
  };
}

/** The next event `name` from a client or subscription that satisfies `test`. */
export function nextEvent<E extends object, K extends keyof E & string>(
  source: Emitter<E>,
  name: K,
  test: (event: E[K]) => boolean = () => true,
): Promise<E[K]> {
  return new Promise((resolve) => {
    const off = source.on(name, (event) => {
      if (!test(event)) return;
      off();
      resolve(event);
    });
  });
}

/** Collects a subscription's or client's publications (data only). */
export function collect<T = unknown>(source: {
  on(name: 'publication', listener: (event: { data: unknown; offset: number }) => void): () => void;
}): { data: T[]; offsets: number[]; until(count: number): Promise<void> } {
  const data: T[] = [];
  const offsets: number[] = [];
  let waiting: { count: number; resolve(): void } | undefined;
  source.on('publication', (pub) => {
    data.push(pub.data as T);
    offsets.push(pub.offset);
    if (waiting && data.length >= waiting.count) waiting.resolve();
  });
  return {
    data,
    offsets,
    until(count) {
      if (data.length >= count) return Promise.resolve();
      return new Promise((resolve) => (waiting = { count, resolve }));
    },
  };
}
