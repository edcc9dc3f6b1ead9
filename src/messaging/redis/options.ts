/**
 * Options of the Redis engine, validated up front: a bad option fails at
 * construction with a message saying what is allowed.
 */

export interface RedisEngineOptions {
  /** One Redis server, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS; user/password in the URL). */
  url?: string;
  /** Redis Cluster: seed node URLs (any subset of the cluster's nodes). */
  cluster?: string[];
  /** Prefix of every key and pub/sub channel (default `socketeer:`): several apps can share one Redis. */
  prefix?: string;
  /** Sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis >= 7.0): on a cluster a message only
   *  crosses the shard that owns the channel instead of the whole cluster bus. Default false. */
  sharded?: boolean;
  /** A command without an answer for this long fails with EngineUnavailableError (default 5000). */
  commandTimeoutMs?: number;
  /** Connecting at start() gives up after this long (default 5000). */
  connectTimeoutMs?: number;
  /** Upper bound of the jittered reconnect backoff (default 2000). */
  reconnectMaxDelayMs?: number;
  /** Commands in flight beyond this fail at once with EngineUnavailableError (default 10000). */
  maxPendingCommands?: number;
  /** How often this node removes expired presence leases of its channels (default 1000). */
  presenceSweepMs?: number;
  /** Connection errors (Redis down, reconnect attempts), for logs. Default: ignored (readiness reports them). */
  onError?: (err: Error) => void;
}

export interface ResolvedOptions {
  urls: string[];
  cluster: boolean;
  prefix: string;
  sharded: boolean;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectMaxDelayMs: number;
  maxPendingCommands: number;
  presenceSweepMs: number;
  onError: (err: Error) => void;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new TypeError(`RedisEngine: ${name} must be a positive integer (got ${value})`);
  return value;
}

function checkUrl(url: unknown): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^/]/.test(url)) {
    throw new TypeError(`RedisEngine: expected a redis:// or rediss:// URL (got ${JSON.stringify(url)})`);
  }
  return url;
}

export function resolveOptions(options: RedisEngineOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('RedisEngine: options object required');
  const hasUrl = options.url !== undefined;
  const hasCluster = options.cluster !== undefined;
  if (hasUrl === hasCluster)
    throw new TypeError('RedisEngine: give exactly one of `url` (one server) or `cluster` (seed node URLs)');
  if (hasCluster && (!Array.isArray(options.cluster) || options.cluster.length === 0)) {
    throw new TypeError('RedisEngine: `cluster` must be a non-empty array of redis:// URLs');
  }
  const urls = hasCluster ? (options.cluster as unknown[]).map(checkUrl) : [checkUrl(options.url)];
  const prefix = options.prefix ?? 'socketeer:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new TypeError(
      'RedisEngine: `prefix` must be a string without { or } (they would change the hash tag)',
    );
  }
  return {
    urls,
    cluster: hasCluster,
    prefix,
    sharded: options.sharded === true,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs, 5000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    reconnectMaxDelayMs: positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs, 2000),
    maxPendingCommands: positive('maxPendingCommands', options.maxPendingCommands, 10_000),
    presenceSweepMs: positive('presenceSweepMs', options.presenceSweepMs, 1000),
    onError: options.onError ?? (() => {}),
  };
}

/**
 * Options from one string, as `socketeer serve --redis URL` or SOCKETEER_REDIS_URL give it:
 * `redis://host:port` (one server) or `redis+cluster://host1:port1,host2:port2` (a cluster;
 * `rediss+cluster://` for TLS).
 */
export function redisOptionsFromUrl(text: string): RedisEngineOptions {
  const cluster = /^(rediss?)\+cluster:\/\/(.+)$/.exec(text.trim());
  if (!cluster) return { url: checkUrl(text.trim()) };
  const [, scheme, rest] = cluster;
  const slash = rest!.indexOf('/');
  const hosts = slash < 0 ? rest! : rest!.slice(0, slash);
  const tail = slash < 0 ? '' : rest!.slice(slash);
  const at = hosts.lastIndexOf('@');
  const auth = at < 0 ? '' : hosts.slice(0, at + 1);
  const list = (at < 0 ? hosts : hosts.slice(at + 1)).split(',').filter((h) => h !== '');
  if (list.length === 0) throw new TypeError(`RedisEngine: no hosts in ${JSON.stringify(text)}`);
  return { cluster: list.map((h) => checkUrl(`${scheme}://${auth}${h}${tail}`)) };
}
