import type * as http from 'node:http';
import type * as https from 'node:https';
import { checkListenOptions } from '../../check-options.js';
import { DEFAULTS, MAX_INT32 } from '../defaults.js';
import { checkDeflateOption, type DeflateOptions } from '../deflate.js';
import type { HeartbeatOptions } from '../heartbeat.js';
import {
  type BaseSettings,
  CONNECTION_OPTIONS,
  checkConnectionOptions,
  checkFlowOptions,
  checkFunction,
  checkHeartbeatOptions,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  FLOW_OPTIONS,
  type FlowSettings,
  HEARTBEAT_OPTIONS,
} from '../options.js';
import type { TrustProxy } from '../trust-proxy.js';

/** The server's options, checked once and turned into one frozen ServerConfig. */

export type ProtocolSelector = (
  offered: string[],
  request: http.IncomingMessage,
) => string | false | undefined;

/**
 * The result of `authenticate`: accept (optionally attaching `user` to the
 * WebSocket), or refuse with an HTTP status, a short body and headers.
 */
export type AuthResult<User = unknown> =
  | undefined
  | { user?: User }
  | { reject: number; body?: string; headers?: Record<string, string> };

export type Authenticator<User = unknown> = (
  request: http.IncomingMessage,
) => AuthResult<User> | Promise<AuthResult<User>>;

export interface ServerOptions<User = unknown> {
  /** Listen on this port (0 picks a free one). */
  port?: number;
  host?: string;
  /** Serve wss://: options for https.createServer (cert, key, ca, ...). Standalone only. */
  tls?: https.ServerOptions;
  /** Attach to an existing http or https server instead of listening. */
  server?: http.Server | https.Server;
  /** Neither listen nor attach: the application calls handleUpgrade(). */
  noServer?: boolean;
  /** Serve only this exact path (query strings ignored); others get 404. Default: every path. */
  path?: string;
  /** Subprotocols this server speaks, in preference order of the client's offer. */
  protocols?: string[];
  /** Custom subprotocol choice; return the one to use, or false/undefined for none. */
  handleProtocols?: ProtocolSelector;
  /** Largest message accepted, in bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest frame accepted, in bytes (default: maxMessageSize). */
  maxFrameSize?: number;
  /** Milliseconds to wait for the closing handshake before dropping TCP (default 30000). */
  closeTimeout?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /**
   * permessage-deflate (RFC 7692): true, or options (context takeover, window
   * bits, threshold, level, memLevel). Default false: compression costs memory
   * per connection (see the README). When on, serverNoContextTakeover defaults
   * to true (the server's deflate context is freed after each message).
   */
  perMessageDeflate?: boolean | DeflateOptions;
  /**
   * Decide on each handshake before it completes: sees the request (headers,
   * URL, `request.socket.remoteAddress`, and on TLS `getPeerCertificate()`).
   * May be async. Throwing answers 500. What it returns as `user` is `ws.user`.
   */
  authenticate?: Authenticator<User>;
  /** Standalone servers: ms a client has to send its request headers (slowloris guard; default 10000). */
  handshakeTimeout?: number;
  /** Standalone servers: largest request head in bytes; larger ones get 431 (default 16384). */
  maxHeaderSize?: number;
  /** Close (1008) a connection that sends more data messages and pings than this per second (0: no limit). */
  maxMessageRate?: number;
  /**
   * Behind reverse proxies: take the client's address and scheme from Forwarded /
   * X-Forwarded-For / X-Forwarded-Proto, believing only these proxy addresses
   * (or every hop with true). Sets ws.clientAddress / ws.clientSecure and the
   * address the per-IP limit counts. Default false: the socket's peer.
   */
  trustProxy?: TrustProxy;
  /** send() returns false once this many bytes are buffered (default 64 KiB). */
  highWaterMark?: number;
  /** 'drain' fires when the buffer falls to this many bytes (default 16 KiB). */
  lowWaterMark?: number;
  /** Once this many bytes are buffered for a connection, the slowConsumer policy applies to further sends (default 16 MiB; 0: no cap). */
  maxBufferedAmount?: number;
  /** At the cap: 'close' the connection (1013) or 'drop' the message ('drop' event). Default 'close'. */
  slowConsumer?: 'close' | 'drop';
  /** Most open connections (0: no limit); beyond it handshakes get 503. */
  maxConnections?: number;
  /** Most open connections per remote address (0: no limit); beyond it handshakes get 429. */
  maxConnectionsPerIp?: number;
  /** Allowed Origin values (e.g. "https://example.com"); others get 403. Requests without Origin (non-browsers) pass. */
  origins?: string[];
  /** Ping connections quiet for this many ms (default 30000; 0 turns heartbeats off). */
  heartbeatInterval?: number;
  /** Terminate (1006) a peer that sends nothing within this many ms of a ping (default 10000). */
  heartbeatTimeout?: number;
  /** Close (1001) connections without a data message for this many ms (default 0: never). */
  idleTimeout?: number;
}

const SERVER_OPTIONS = [
  'port',
  'host',
  'tls',
  'server',
  'noServer',
  'path',
  'protocols',
  'handleProtocols',
  ...CONNECTION_OPTIONS,
  'perMessageDeflate',
  ...HEARTBEAT_OPTIONS,
  'idleTimeout',
  'authenticate',
  'origins',
  'maxConnections',
  'maxConnectionsPerIp',
  'handshakeTimeout',
  'maxHeaderSize',
  'maxMessageRate',
  'trustProxy',
  ...FLOW_OPTIONS,
] as const;

/** ws's server options, and what to write instead. */
const WS_SERVER_OPTIONS: Readonly<Record<string, string>> = {
  verifyClient:
    'use "authenticate" (may be async; return { reject: status } to refuse, { user } to accept), and "origins" for Origin checks',
  maxPayload: 'use "maxMessageSize" (and "maxFrameSize")',
  clientTracking: 'socketeer always keeps open connections in server.clients',
  skipUTF8Validation: 'socketeer always validates text (RFC 6455 section 8.1)',
  backlog: 'attach to your own server ("server") to choose its listen backlog',
  allowSynchronousEvents: 'socketeer emits messages synchronously as they are parsed',
};

export const WHAT = 'WebSocketServer';

/** Where connections come from. */
export type ServerMode =
  | { kind: 'standalone'; port: number; host: string | undefined; tls: https.ServerOptions | undefined }
  | { kind: 'attached'; server: http.Server | https.Server }
  | { kind: 'noServer' };

/** Everything a connection of this server is created with. */
export interface ConnectionConfig extends BaseSettings {
  maxMessageRate: number;
  flow: FlowSettings;
}

export interface ServerConfig<User = unknown> {
  readonly mode: ServerMode;
  readonly path: string | undefined;
  readonly protocols: readonly string[] | undefined;
  readonly selectProtocol: ProtocolSelector | undefined;
  readonly connection: Readonly<ConnectionConfig>;
  /** permessage-deflate as offered to clients; null when off. */
  readonly deflate: Readonly<DeflateOptions> | null;
  readonly authenticate: Authenticator<User> | undefined;
  readonly origins: ReadonlySet<string> | undefined;
  readonly trustProxy: TrustProxy | undefined;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly heartbeat: Readonly<HeartbeatOptions>;
  /** Standalone servers: how the request head is read. */
  readonly requestHead: Readonly<{ timeout: number; maxHeaderSize: number }>;
}

/** Check every option (each error names it, what was given and what is allowed); apply the defaults. */
export function resolveServerConfig<User>(options: ServerOptions<User>): ServerConfig<User> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${WHAT}: options must be an object with port, server or noServer`);
  }
  checkKnownKeys(WHAT, options, SERVER_OPTIONS, WS_SERVER_OPTIONS);
  checkListenOptions(WHAT, options);
  const path = options.path;
  if (options.protocols !== undefined && !isStringArray(options.protocols)) {
    throw new TypeError(`${WHAT}: option "protocols" must be an array of strings`);
  }
  const handshakeTimeout = checkMilliseconds(WHAT, 'handshakeTimeout', options.handshakeTimeout);
  const maxHeaderSize = checkInteger(
    WHAT,
    'maxHeaderSize',
    options.maxHeaderSize,
    1024,
    1024 * 1024,
    'bytes',
  );
  if ((handshakeTimeout !== undefined || maxHeaderSize !== undefined) && options.port === undefined) {
    throw new TypeError(
      `${WHAT}: "handshakeTimeout" and "maxHeaderSize" apply to standalone servers; set headersTimeout and maxHeaderSize on your own HTTP server`,
    );
  }
  const deflate = checkDeflateOption(WHAT, options.perMessageDeflate ?? DEFAULTS.serverPerMessageDeflate);
  const trust = options.trustProxy;
  if (trust !== undefined && typeof trust !== 'boolean' && !isStringArray(trust)) {
    throw new TypeError(`${WHAT}: option "trustProxy" must be true, false or an array of proxy addresses`);
  }
  if (options.origins !== undefined && !isStringArray(options.origins)) {
    throw new TypeError(
      `${WHAT}: option "origins" must be an array of strings such as "https://example.com"`,
    );
  }
  const mode: ServerMode = options.noServer
    ? { kind: 'noServer' }
    : options.server !== undefined
      ? { kind: 'attached', server: options.server }
      : { kind: 'standalone', port: options.port!, host: options.host, tls: options.tls };
  return Object.freeze({
    mode: Object.freeze(mode),
    path,
    protocols: options.protocols && Object.freeze([...options.protocols]),
    selectProtocol: checkFunction<ProtocolSelector>(WHAT, 'handleProtocols', options.handleProtocols),
    connection: Object.freeze({
      ...checkConnectionOptions(WHAT, options, DEFAULTS.maxMessageSize),
      flow: Object.freeze(checkFlowOptions(WHAT, options, DEFAULTS.serverMaxBufferedAmount)),
      maxMessageRate:
        checkInteger(WHAT, 'maxMessageRate', options.maxMessageRate, 0, MAX_INT32, 'per second') ??
        DEFAULTS.maxMessageRate,
    }),
    // A deflate context costs ~256 KiB; held for the life of every connection it
    // dominates memory. The server may always decline its own context takeover,
    // so by default it does, and frees the context after each message.
    deflate: deflate && Object.freeze({ serverNoContextTakeover: true, ...deflate }),
    authenticate: checkFunction<Authenticator<User>>(WHAT, 'authenticate', options.authenticate),
    origins: options.origins && new Set(options.origins.map((o) => o.toLowerCase())),
    trustProxy: trust,
    maxConnections:
      checkInteger(WHAT, 'maxConnections', options.maxConnections, 0, MAX_INT32) ?? DEFAULTS.maxConnections,
    maxConnectionsPerIp:
      checkInteger(WHAT, 'maxConnectionsPerIp', options.maxConnectionsPerIp, 0, MAX_INT32) ??
      DEFAULTS.maxConnectionsPerIp,
    heartbeat: Object.freeze({
      ...checkHeartbeatOptions(WHAT, options, DEFAULTS.serverHeartbeatInterval),
      idleTimeout: checkMilliseconds(WHAT, 'idleTimeout', options.idleTimeout, 0) ?? DEFAULTS.idleTimeout,
    }),
    requestHead: Object.freeze({
      timeout: handshakeTimeout ?? DEFAULTS.requestHeadTimeout,
      maxHeaderSize: maxHeaderSize ?? DEFAULTS.maxHeaderSize,
    }),
  });
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
