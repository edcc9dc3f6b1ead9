/**
 * The Redis connections of one engine, standalone or Cluster behind one small
 * interface, so the engine itself never branches on the topology.
 *
 * Standalone: two connections — commands, and one subscriber connection per
 * node carrying only the channels that have local subscribers.
 * Cluster: node-redis's cluster client routes each command by its key's hash
 * slot; SUBSCRIBE runs on one cluster node (PUBLISH is broadcast over the
 * cluster bus), SSUBSCRIBE on the shard that owns the channel's slot.
 *
 * Fail fast: `disableOfflineQueue` makes node-redis reject commands at once
 * while disconnected instead of queueing them without bound, and every
 * command has a timeout (a hung or paused server).
 */

import { createClient, createCluster } from 'redis';

export interface ConnectionSettings {
  /** Standalone: one URL. Cluster: the seed nodes. */
  urls: string[];
  cluster: boolean;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectMaxDelayMs: number;
}

export interface ConnectionEvents {
  /** Readiness may have changed. */
  state(): void;
  /** The live feed was re-established after it was lost (the subscriptions are confirmed again). */
  resubscribed(): void;
  error(err: Error): void;
}

export type FeedListener = (message: string, pubsubChannel: string) => void;

export interface RedisConnection {
  connect(): Promise<void>;
  close(): Promise<void>;
  commandsReady(): boolean;
  feedReady(): boolean;
  /** One command, routed by `key` on a cluster. */
  call(key: string, args: string[]): Promise<unknown>;
  /** FUNCTION LOAD REPLACE on the server (every master on a cluster). */
  loadLibrary(code: string): Promise<void>;
  subscribe(pubsub: string, sharded: boolean, listener: FeedListener): Promise<void>;
  unsubscribe(pubsub: string, sharded: boolean, listener: FeedListener): Promise<void>;
}

/**
 * The engine's calls go without node-redis's per-command timeout (an AbortSignal and a
 * timer per command, a large share of a publish's client-side CPU): the engine's
 * CommandRunner times them all out with one timer. Other commands (PING, SUBSCRIBE,
 * FUNCTION LOAD) keep node-redis's timeout.
 */
const UNTIMED = { timeout: 0 };

/** Exponential backoff with full jitter, capped. */
function reconnectStrategy(maxDelayMs: number) {
  return (retries: number) =>
    Math.floor(Math.random() * Math.min(maxDelayMs, 50 * 2 ** Math.min(retries, 10))) + 10;
}

function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  lastError: () => Error | undefined,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const cause = lastError();
      reject(new Error(`${what}: not connected within ${ms} ms${cause ? ` (${cause.message})` : ''}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createConnection(settings: ConnectionSettings, events: ConnectionEvents): RedisConnection {
  return settings.cluster ? clusterConnection(settings, events) : standaloneConnection(settings, events);
}

function standaloneConnection(settings: ConnectionSettings, events: ConnectionEvents): RedisConnection {
  const url = settings.urls[0];
  const options = {
    url,
    disableOfflineQueue: true,
    pingInterval: 5000,
    commandOptions: { timeout: settings.commandTimeoutMs },
    socket: {
      connectTimeout: settings.connectTimeoutMs,
      reconnectStrategy: reconnectStrategy(settings.reconnectMaxDelayMs),
    },
  };
  const commands = createClient(options);
  const subscriber = createClient(options);
  let feedWasReady = false;
  let lastError: Error | undefined;
  for (const client of [commands, subscriber]) {
    client.on('error', (err: Error) => {
      lastError = err;
      events.error(err);
    });
    for (const name of ['ready', 'end', 'reconnecting', 'connect']) client.on(name, () => events.state());
  }
  // node-redis resubscribes every channel before it emits 'ready' again (its socket
  // initiator awaits the SUBSCRIBE replies), so from here the feed is live again.
  subscriber.on('ready', () => {
    if (feedWasReady) events.resubscribed();
    feedWasReady = true;
  });
  return {
    async connect() {
      try {
        await withTimeout(
          Promise.all([commands.connect(), subscriber.connect()]),
          settings.connectTimeoutMs,
          url ?? 'redis',
          () => lastError,
        );
      } catch (err) {
        commands.destroy();
        subscriber.destroy();
        throw err;
      }
    },
    async close() {
      for (const client of [commands, subscriber]) {
        if (client.isOpen) client.destroy();
      }
    },
    commandsReady: () => commands.isReady,
    feedReady: () => subscriber.isReady,
    call: (_key, args) => commands.sendCommand(args, UNTIMED),
    async loadLibrary(code) {
      await commands.sendCommand(['FUNCTION', 'LOAD', 'REPLACE', code]);
    },
    subscribe: (pubsub, sharded, listener) =>
      sharded ? subscriber.sSubscribe(pubsub, listener) : subscriber.subscribe(pubsub, listener),
    unsubscribe: (pubsub, sharded, listener) =>
      sharded ? subscriber.sUnsubscribe(pubsub, listener) : subscriber.unsubscribe(pubsub, listener),
  };
}

function clusterConnection(settings: ConnectionSettings, events: ConnectionEvents): RedisConnection {
  const cluster = createCluster({
    rootNodes: settings.urls.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      pingInterval: 5000,
      socket: {
        connectTimeout: settings.connectTimeoutMs,
        reconnectStrategy: reconnectStrategy(settings.reconnectMaxDelayMs),
      },
    },
  });
  // Nodes whose connection was lost; when one is back its pub/sub listeners have
  // been resubscribed by node-redis, and the channels must catch up from history.
  const lost = new Set<string>();
  const address = (node: { host: string; port: number }) => `${node.host}:${node.port}`;
  let lastError: Error | undefined;
  const onError = (err: Error) => {
    lastError = err;
    events.error(err);
  };
  cluster.on('error', onError);
  cluster.on('node-error', onError);
  // 'reconnecting' = a connection was lost unexpectedly. It ends either with 'ready' (node-redis
  // resubscribed its channels first) or with the client's end (node-redis moved its listeners to
  // another node after a topology change). Either way the channels must catch up from history.
  // An end without a loss is routine (node-redis closes a pub/sub client whose last channel left).
  cluster.on('node-reconnecting', (node: { host: string; port: number }) => {
    lost.add(address(node));
    events.state();
  });
  const regained = (node: { host: string; port: number }) => {
    const wasLost = lost.delete(address(node));
    events.state();
    if (wasLost) setImmediate(() => events.resubscribed());
  };
  cluster.on('node-ready', regained);
  cluster.on('node-disconnect', regained);
  const ready = () => cluster.isReady && lost.size === 0;
  return {
    async connect() {
      try {
        await withTimeout(
          cluster.connect(),
          settings.connectTimeoutMs,
          settings.urls.join(','),
          () => lastError,
        );
      } catch (err) {
        cluster.destroy();
        throw err;
      }
    },
    async close() {
      if (cluster.isOpen) cluster.destroy();
    },
    commandsReady: ready,
    feedReady: ready,
    call: (key, args) => cluster.sendCommand(key, false, args, UNTIMED),
    async loadLibrary(code) {
      for (const master of cluster.masters) {
        const client = await cluster.nodeClient(master);
        await client.sendCommand(['FUNCTION', 'LOAD', 'REPLACE', code]);
      }
    },
    subscribe: (pubsub, sharded, listener) =>
      sharded ? cluster.sSubscribe(pubsub, listener) : cluster.subscribe(pubsub, listener),
    unsubscribe: (pubsub, sharded, listener) =>
      sharded
        ? cluster.sUnsubscribe(pubsub, listener)
        : cluster.unsubscribe(pubsub, listener as Parameters<typeof cluster.unsubscribe>[1]),
  };
}
