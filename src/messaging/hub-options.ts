/**
 * The hub's options, checked: every refusal names the option and what is allowed.
 */

import type { Server as HttpServer } from 'node:http';
import type { ServerOptions as HttpsOptions, Server as HttpsServer } from 'node:https';
import type { ServerOptions } from '../index.js';
import type { Authenticate, CanPublish, CanSubscribe, HubHooks, HubSettings, RpcHandler } from './context.js';
import type { Engine } from './engine.js';
import { checkNamespaces, type Namespace, type NamespaceOptions } from './namespaces.js';
import {
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkListenOptions,
  checkMs,
  checkObject,
  describe,
} from './options.js';

/**
 * Where the hub's connections come from: checked here under the hub's name
 * (a hub user never wrote a WebSocketServer), then handed to its WebSocketServer.
 */
const LISTEN_OPTIONS = ['port', 'host', 'tls', 'server', 'noServer', 'path'] as const;

/** WebSocketServer options the hub sets itself: given as hub options or not at all, never in "websocket". */
const OWNED_BY_HUB = [...LISTEN_OPTIONS, 'protocols', 'handleProtocols'] as const;

/** Options of the underlying WebSocketServer the hub passes through (the hub owns the rest). */
export type HubWebSocketOptions = Omit<ServerOptions, (typeof OWNED_BY_HUB)[number]>;

export interface HubOptions {
  /** Listen on this port (0 picks a free one). */
  port?: number;
  host?: string;
  /** Serve wss:// (standalone only): options for https.createServer. */
  tls?: HttpsOptions;
  /** Attach to an existing http(s) server (several hubs/servers may share it with different paths). */
  server?: HttpServer | HttpsServer;
  /** Neither listen nor attach: call hub.handleUpgrade() from your 'upgrade' handler. */
  noServer?: boolean;
  /** Serve only this path (default: every path). */
  path?: string;
  /** Further options for the WebSocketServer underneath (origins, heartbeats, maxMessageSize, ...). */
  websocket?: HubWebSocketOptions;
  /** Where channel state lives (default: a new MemoryEngine). The hub starts it and closes it. */
  engine?: Engine;
  /** Namespace name -> options; '' is the default namespace (channels without a colon). */
  namespaces?: Record<string, NamespaceOptions>;
  /** Decide who a connection is from its connect token/data (default: everyone anonymous). */
  authenticate?: Authenticate;
  /** May this client subscribe to (and read history/presence of) this channel? Default: yes. */
  canSubscribe?: CanSubscribe;
  /** May this client publish here? Asked only where the namespace allows client publishes. */
  canPublish?: CanPublish;
  /** RPC methods by name. */
  rpc?: Record<string, RpcHandler>;
  /** ms a new connection has to send `connect` (default 10000); then close 4002. */
  connectTimeout?: number;
  /** Bytes queued for one client before it is disconnected as a slow consumer (4001; default 4 MiB). */
  maxOutboundBytes?: number;
  /** Subscriptions per connection (default 1000). */
  maxSubscriptions?: number;
  /** Commands per second per connection (default 100; 0 = no limit). */
  commandRate?: number;
  /** Commands allowed at once above the rate (default 2 x commandRate). */
  commandBurst?: number;
  /** Commands waiting for their replies per connection (default 256). */
  maxCommandsInFlight?: number;
  /** Malformed/unknown commands before the connection is closed with 4501 (default 10). */
  maxBadCommands?: number;
  /** Default history page for the history command (default 100). */
  historyLimit?: number;
  /** Largest history page, also the recovery page (default 1000). */
  maxHistoryLimit?: number;
  /** How long a publish's idempotency key is remembered, ms (default 300000). */
  idempotencyTtl?: number;
  /**
   * Publishes with an idempotency key one connection may make per idempotency
   * window (default 10000): the engine remembers each key that long, so this
   * bounds the memory one client can fill with keys. Beyond it: too-many-requests (temporary).
   */
  maxIdempotencyKeys?: number;
  /** Presence entries not refreshed within this many ms disappear with a leave (default 15000: a dead node's members leave within 15 s). */
  presenceTtl?: number;
  /** Live publications held per recovering subscription before re-reading them from history (default 1000). */
  recoveryHold?: number;
  /**
   * History pages read and sent for recoveries at once, hub-wide (default 64):
   * in a reconnect storm the rest wait their turn instead of pulling every
   * missed page into memory together. Each page is about a quarter of
   * maxOutboundBytes (at most 1 MiB), and each connection reads one at a time.
   */
  maxConcurrentRecoveries?: number;
  /**
   * Heartbeat, ms (default 25000; 0 = off): each client hears a frame at least
   * this often (a `ping` push when idle) and is closed with 4005 after 2 x this
   * long without a byte from it. Browsers cannot see WebSocket pings: this is
   * how a page learns that its network died. From 20 ms to 1 day.
   */
  pingInterval?: number;
}

const HUB_OPTIONS = [
  ...LISTEN_OPTIONS,
  'websocket',
  'engine',
  'namespaces',
  'authenticate',
  'canSubscribe',
  'canPublish',
  'rpc',
  'connectTimeout',
  'maxOutboundBytes',
  'maxSubscriptions',
  'commandRate',
  'commandBurst',
  'maxCommandsInFlight',
  'maxBadCommands',
  'historyLimit',
  'maxHistoryLimit',
  'idempotencyTtl',
  'maxIdempotencyKeys',
  'presenceTtl',
  'recoveryHold',
  'maxConcurrentRecoveries',
  'pingInterval',
] as const;

export interface CheckedHubOptions {
  settings: HubSettings;
  hooks: HubHooks;
  namespaces: Map<string, Namespace>;
  engine: Engine | undefined;
  websocket: HubWebSocketOptions;
}

/** Longest pingInterval: clients add their grace and arm timers with it (timers max out at 2^31-1 ms, 24.8 days). */
const MAX_PING_INTERVAL = 86_400_000;

/** 0 (off) or 20 ms (the heartbeat ticks every quarter interval) to 1 day. */
function checkPingInterval(what: string, value: unknown): number {
  const interval = checkMs(what, 'pingInterval', value, 0) ?? 25_000;
  if (interval !== 0 && (interval < 20 || interval > MAX_PING_INTERVAL)) {
    throw new RangeError(
      `${what}: option "pingInterval" must be 0 (off) or from 20 to ${MAX_PING_INTERVAL} ms (1 day); got ${interval}`,
    );
  }
  return interval;
}

export function checkHubOptions(what: string, options: HubOptions): CheckedHubOptions {
  checkKnownKeys(what, options, HUB_OPTIONS);
  checkListenOptions(what, options);
  const websocket = (checkObject(what, 'websocket', options.websocket) ?? {}) as HubWebSocketOptions;
  for (const key of OWNED_BY_HUB) {
    if (key in websocket) {
      throw new TypeError(`${what}: give "${key}" as a hub option, not inside "websocket"`);
    }
  }
  const engine = options.engine;
  if (engine !== undefined) {
    for (const method of ['start', 'close', 'publish', 'history', 'subscribe', 'unsubscribe'] as const) {
      if (typeof (engine as unknown as Record<string, unknown>)?.[method] !== 'function') {
        throw new TypeError(
          `${what}: option "engine" must implement the Engine interface (engine.ts); got ${describe(engine)}`,
        );
      }
    }
  }
  const rpcObject = checkObject(what, 'rpc', options.rpc) ?? {};
  const rpc = new Map<string, RpcHandler>();
  for (const [name, handler] of Object.entries(rpcObject)) {
    rpc.set(name, checkFunction<RpcHandler>(what, `rpc.${name}`, handler)!);
  }
  const commandRate =
    checkInteger(what, 'commandRate', options.commandRate, 0, 1_000_000, 'per second') ?? 100;
  const maxHistoryLimit = checkInteger(what, 'maxHistoryLimit', options.maxHistoryLimit, 1, 100_000) ?? 1000;
  const historyLimit =
    checkInteger(what, 'historyLimit', options.historyLimit, 0, maxHistoryLimit) ??
    Math.min(100, maxHistoryLimit);
  const settings: HubSettings = {
    connectTimeout: checkMs(what, 'connectTimeout', options.connectTimeout) ?? 10_000,
    maxOutboundBytes:
      checkInteger(what, 'maxOutboundBytes', options.maxOutboundBytes, 1024, 2 ** 32, 'bytes') ??
      4 * 1024 * 1024,
    maxSubscriptions: checkInteger(what, 'maxSubscriptions', options.maxSubscriptions, 1, 1_000_000) ?? 1000,
    commandRate,
    commandBurst:
      checkInteger(what, 'commandBurst', options.commandBurst, 1, 10_000_000) ?? Math.max(1, 2 * commandRate),
    maxCommandsInFlight:
      checkInteger(what, 'maxCommandsInFlight', options.maxCommandsInFlight, 1, 1_000_000) ?? 256,
    maxBadCommands: checkInteger(what, 'maxBadCommands', options.maxBadCommands, 1, 1_000_000) ?? 10,
    historyLimit,
    maxHistoryLimit,
    idempotencyTtl: checkMs(what, 'idempotencyTtl', options.idempotencyTtl) ?? 300_000,
    maxIdempotencyKeys:
      checkInteger(what, 'maxIdempotencyKeys', options.maxIdempotencyKeys, 1, 100_000_000) ?? 10_000,
    presenceTtl: checkMs(what, 'presenceTtl', options.presenceTtl, 30) ?? 15_000,
    recoveryHold: checkInteger(what, 'recoveryHold', options.recoveryHold, 0, 1_000_000) ?? 1000,
    maxConcurrentRecoveries:
      checkInteger(what, 'maxConcurrentRecoveries', options.maxConcurrentRecoveries, 1, 1_000_000) ?? 64,
    pingInterval: checkPingInterval(what, options.pingInterval),
  };
  const hooks: HubHooks = {
    authenticate: checkFunction<Authenticate>(what, 'authenticate', options.authenticate),
    canSubscribe: checkFunction<CanSubscribe>(what, 'canSubscribe', options.canSubscribe),
    canPublish: checkFunction<CanPublish>(what, 'canPublish', options.canPublish),
    rpc,
  };
  return { settings, hooks, namespaces: checkNamespaces(what, options.namespaces), engine, websocket };
}
