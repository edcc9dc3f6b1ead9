import { CHAT_DEFAULTS, ChatServer } from '../chat/server.js';
import type { Engine } from '../messaging/engine.js';
import {
  listenError,
  onShutdownSignal,
  parseCommand,
  parsePort,
  readTlsFlags,
  StartupError,
  UsageError,
} from './args.js';

export const serveHelp = `Usage: socketeer serve [--port N] [--host H] [--tls-cert FILE --tls-key FILE] [--echo] [limits]

The chat demo: a web page at / and its WebSocket endpoint at /chat, on one
port. Open the page in two browser tabs, pick nicknames, and chat. Rooms are
channels of the messaging hub (in memory): presence, and a history from which
reconnecting pages recover exactly what they missed. The hub itself is open
at /connection (socketeer.v1.json; anonymous, demo:* channels only) with the
browser SDK at /socketeer-messaging.js, for pages of your own (README).

Options:
  --port N          port to listen on (default 8000)
  --host H          address to bind (default: all interfaces)
  --tls-cert FILE   serve https:// and wss:// with this PEM certificate
  --tls-key FILE    PEM private key for --tls-cert
  --echo            also serve an echo endpoint at /echo
  --history N       messages kept per room for recovery (default ${CHAT_DEFAULTS.historySize})
  --history-ttl S   seconds a room keeps its messages (default ${CHAT_DEFAULTS.historyTtl / 1000})
  --redis URL       keep rooms in Redis (>= 7.0) so several serve processes are one chat:
                    redis://host:port, or redis+cluster://h1:p1,h2:p2 for Redis Cluster
                    (default: $SOCKETEER_REDIS_URL, else in memory). Needs the redis
                    package: npm install redis@6
  -h, --help        show this help

Limits (0 turns one off):
  --max-connections N         open connections, /chat and /connection together (default ${CHAT_DEFAULTS.maxConnections}; then 503)
  --max-connections-per-ip N  open connections per client address, /chat and /connection together (default ${CHAT_DEFAULTS.maxConnectionsPerIp}; then 429)
  --max-rooms N               rooms held in memory besides "lobby" (default ${CHAT_DEFAULTS.maxRooms})
  --max-rooms-per-ip N        rooms one address's connections may be in at once,
                              "lobby" not counted (default ${CHAT_DEFAULTS.maxRoomsPerIp})
  --flood-limit N             chat messages one connection may send per window; one
                              more closes it with 1008 (default ${CHAT_DEFAULTS.rateLimit};
                              env SOCKETEER_FLOOD_LIMIT)
  --flood-window S            that window in seconds, 1-3600 (default ${CHAT_DEFAULTS.rateWindow / 1000};
                              env SOCKETEER_FLOOD_WINDOW)

A request head must arrive within ${CHAT_DEFAULTS.headersTimeout / 1000} s (slowloris guard); a page that leaves
${CHAT_DEFAULTS.maxBufferedAmount / 1024} KiB unread is closed with 1013 and reconnects.

GET /healthz answers 200 while the process runs; GET /readyz 200 when the
engine (Redis) is reachable, else 503 (for socketeer proxy --health /readyz).

SIGINT/SIGTERM close every chat connection with 1001 (Going Away) and every
hub client with 4000 (shutdown); both reconnect when the server is back.
`;

export async function runServe(args: string[]): Promise<void> {
  const { values } = parseCommand('serve', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    echo: { type: 'boolean' },
    'max-connections': { type: 'string' },
    'max-connections-per-ip': { type: 'string' },
    'max-rooms': { type: 'string' },
    'max-rooms-per-ip': { type: 'string' },
    'flood-limit': { type: 'string' },
    'flood-window': { type: 'string' },
    history: { type: 'string' },
    'history-ttl': { type: 'string' },
    redis: { type: 'string' },
  });
  const historyTtl = count(values, 'history-ttl', 1, Math.floor((2 ** 31 - 1) / 1000));
  const floodLimit = count(values, 'flood-limit', 0, 1_000_000, 'SOCKETEER_FLOOD_LIMIT');
  const floodWindow = count(values, 'flood-window', 1, 3600, 'SOCKETEER_FLOOD_WINDOW');
  const port = parsePort(values.port as string | undefined, 8000);
  const tls = readTlsFlags(values);
  const engine = await redisEngine((values.redis as string | undefined) ?? process.env.SOCKETEER_REDIS_URL);
  const chat = new ChatServer({
    engine,
    port,
    host: values.host as string | undefined,
    tls,
    echo: values.echo === true,
    maxConnections: count(values, 'max-connections'),
    maxConnectionsPerIp: count(values, 'max-connections-per-ip'),
    maxRooms: count(values, 'max-rooms'),
    maxRoomsPerIp: count(values, 'max-rooms-per-ip'),
    historySize: count(values, 'history', 1, 1_000_000),
    historyTtl: historyTtl === undefined ? undefined : historyTtl * 1000,
    rateLimit: floodLimit,
    rateWindow: floodWindow === undefined ? undefined : floodWindow * 1000,
  });
  const address = await chat.listen().catch((error: NodeJS.ErrnoException) => {
    // Not a usage error: the command was right, Redis was not there (exit 1, as connect's failures).
    if (error.name === 'EngineUnavailableError') throw new StartupError(error.message);
    throw listenError(error, port);
  });
  const host =
    address.family === 'IPv6'
      ? address.address === '::'
        ? 'localhost'
        : `[${address.address}]`
      : address.address === '0.0.0.0'
        ? 'localhost'
        : address.address;
  const web = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
  const ws = `${tls ? 'wss' : 'ws'}://${host}:${address.port}`;
  process.stdout.write(
    `socketeer chat: open ${web}/ (WebSocket endpoint ${ws}/chat${values.echo ? `, echo at ${ws}/echo` : ''}; messaging hub ${ws}/connection, SDK ${web}/socketeer-messaging.js)\n`,
  );
  // An operator reading this node's log sees Redis go and come back, not just /readyz flipping.
  const logReadiness = (ready: boolean) =>
    process.stderr.write(
      ready
        ? `${new Date().toISOString()} socketeer serve: Redis reachable again; GET /readyz answers 200\n`
        : `${new Date().toISOString()} socketeer serve: Redis unreachable: publishes are refused (unavailable) and GET /readyz answers 503 until it is back\n`,
    );
  if (engine) chat.hub.on('readiness', logReadiness);
  onShutdownSignal(() => {
    chat.hub.off('readiness', logReadiness); // the engine's own close is not an outage
    return chat.close();
  });
}

/** The Redis engine, loaded only when asked for (the `redis` package is an optional peer dependency). */
async function redisEngine(url: string | undefined): Promise<Engine | undefined> {
  if (url === undefined || url === '') return undefined;
  let redis: typeof import('../messaging/redis/index.js');
  try {
    redis = await import('../messaging/redis/index.js');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError('--redis needs the redis package (node-redis 6): npm install redis@6');
  }
  try {
    return new redis.RedisEngine(redis.redisOptionsFromUrl(url));
  } catch (error) {
    throw new UsageError(`--redis: ${(error as Error).message}`);
  }
}

/** A whole-number flag (or, when the flag is absent, its environment variable), checked. */
function count(
  values: Record<string, unknown>,
  flag: string,
  min = 0,
  max = 2 ** 31 - 1,
  env?: string,
): number | undefined {
  let value = values[flag] as string | undefined;
  let source = `--${flag}`;
  if (value === undefined && env !== undefined && process.env[env]) {
    value = process.env[env];
    source = `${env} (environment)`;
  }
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${source} must be a whole number from ${min} to ${max}; got "${value}"`);
  }
  return Number(value);
}
