import type * as http from 'node:http';
import type * as tls from 'node:tls';
import type { AuthResult } from '../index.js';
import { checkFunction, checkInteger, checkKnownKeys, checkMilliseconds } from '../node/options.js';
import type { TrustProxy } from '../node/trust-proxy.js';
import type { BackendTls, HealthCheckOptions } from './backend.js';
import type { Algorithm } from './balancer.js';
import type { DataMode } from './session.js';

/**
 * The proxy's options, and their validation: every error names the key (as a
 * path such as routes[1].balance), what it got and what is allowed.
 */

export type Balance =
  | 'round-robin'
  | 'least-connections'
  | { hash: 'ip' }
  | { hash: 'header'; name: string }
  | { hash: 'cookie'; name: string };

export interface RouteOptions {
  /** Match the Host header (without port); any host when absent. */
  host?: string;
  /** Match this path prefix (default "/"). */
  path?: string;
  /** Backend URLs: ws://, wss://, http:// or https://. */
  backends: string[];
  balance?: Balance;
  /** 'splice' (default): bytes are relayed; 'inspect': frames are followed, counted and limited. */
  mode?: DataMode;
  /** inspect mode: largest client message in bytes (0: no limit). */
  maxMessageSize?: number;
  /** For wss:// backends: CA, verification, server name. */
  backendTls?: BackendTls;
}

export interface ProxyOptions {
  port?: number;
  host?: string;
  /** Terminate TLS at the edge (wss:// and https:// for clients). */
  tls?: tls.SecureContextOptions;
  routes: RouteOptions[];
  /** Keep X-Forwarded-* / Forwarded from these peers (or every peer with true), and take the client IP from them. */
  trustProxy?: TrustProxy;
  /** Browser origins allowed (others get 403); requests without Origin pass. */
  origins?: string[];
  /** A header that must be present (and, with values, have one of them), else 401. */
  requireHeader?: { name: string; values?: string[] };
  /** Tokens accepted in the ?<query> parameter (default "token") or an Authorization: Bearer header, else 401. */
  tokens?: { query?: string; values: string[] };
  /** Decide on each handshake (same contract as the server's authenticate). */
  authenticate?: (request: http.IncomingMessage) => AuthResult | Promise<AuthResult>;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  handshakesPerSecondPerIp?: number;
  healthCheck?: Partial<HealthCheckOptions>;
  /** How long close() waits for clients to finish their closing handshakes (default 5000 ms). */
  shutdownTimeout?: number;
  /**
   * Deadline for a client to send its whole request head (and TLS handshake), as
   * standalone servers have it (default 10000 ms): slowloris clients get 408.
   */
  handshakeTimeout?: number;
  /**
   * Deadline for a backend to connect and send its answer head (the 101, or an
   * HTTP response's status and headers), default 10000 ms: then 504.
   */
  backendTimeout?: number;
  /**
   * How long a plain HTTP request body may stall (no bytes while the backend is
   * ready for more), default 30000 ms: then 408. Uploads that keep moving have no
   * overall limit; the backendTimeout deadline starts once the request is passed on.
   */
  requestBodyTimeout?: number;
  /** The admin API (handleAdmin) requires `Authorization: Bearer <adminToken>` when set. */
  adminToken?: string;
  /** Host names the admin API answers to, besides IP addresses and localhost (DNS-rebinding guard). */
  adminHosts?: string[];
}

export interface ResolvedRoute {
  host: string | undefined;
  path: string;
  backends: URL[];
  algorithm: Algorithm;
  hashKey: { source: 'ip' } | { source: 'header' | 'cookie'; name: string } | undefined;
  mode: DataMode;
  maxMessageSize: number;
  backendTls: BackendTls;
}

export type CheckedProxyOptions = ReturnType<typeof checkProxyOptions>;

const WHAT = 'proxy config';
const TOP_KEYS = [
  'port',
  'host',
  'tls',
  'routes',
  'trustProxy',
  'origins',
  'requireHeader',
  'tokens',
  'authenticate',
  'maxConnections',
  'maxConnectionsPerIp',
  'handshakesPerSecondPerIp',
  'healthCheck',
  'shutdownTimeout',
  'handshakeTimeout',
  'backendTimeout',
  'requestBodyTimeout',
  'adminToken',
  'adminHosts',
] as const;
const ROUTE_KEYS = ['host', 'path', 'backends', 'balance', 'mode', 'maxMessageSize', 'backendTls'] as const;
const HEALTH_KEYS = [
  'type',
  'path',
  'intervalMs',
  'timeoutMs',
  'unhealthyThreshold',
  'healthyThreshold',
] as const;
const MAX = 2 ** 31 - 1;

function fail(key: string, expected: string, got: unknown): never {
  throw new TypeError(`${WHAT}: "${key}" must be ${expected}; got ${JSON.stringify(got) ?? String(got)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(key: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    fail(key, 'an array of strings', value);
  return value as string[];
}

function checkBackendUrl(key: string, value: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    return fail(key, 'a URL such as ws://127.0.0.1:8001', value);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol))
    fail(key, 'a ws://, wss://, http:// or https:// URL', value);
  return url;
}

function checkBalance(key: string, value: unknown): Pick<ResolvedRoute, 'algorithm' | 'hashKey'> {
  if (value === undefined || value === 'round-robin') return { algorithm: 'round-robin', hashKey: undefined };
  if (value === 'least-connections') return { algorithm: 'least-connections', hashKey: undefined };
  const expected =
    '"round-robin", "least-connections", {"hash": "ip"}, or {"hash": "header"|"cookie", "name": ...}';
  if (!isObject(value)) return fail(key, expected, value);
  checkKnownKeys(`${WHAT}: ${key}`, value, ['hash', 'name']);
  if (value.hash === 'ip') return { algorithm: 'hash', hashKey: { source: 'ip' } };
  if ((value.hash === 'header' || value.hash === 'cookie') && typeof value.name === 'string' && value.name) {
    const name = value.hash === 'header' ? value.name.toLowerCase() : value.name;
    return { algorithm: 'hash', hashKey: { source: value.hash, name } };
  }
  return fail(key, expected, value);
}

function checkRoute(index: number, route: unknown): ResolvedRoute {
  const at = `routes[${index}]`;
  if (!isObject(route)) fail(at, 'an object with "backends"', route);
  checkKnownKeys(`${WHAT}: ${at}`, route, ROUTE_KEYS);
  const backends = route.backends;
  if (!Array.isArray(backends) || backends.length === 0)
    fail(`${at}.backends`, 'a non-empty array of backend URLs', backends);
  const path = route.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/')) fail(`${at}.path`, 'a path starting with "/"', path);
  if (route.host !== undefined && typeof route.host !== 'string')
    fail(`${at}.host`, 'a host name', route.host);
  const mode = route.mode ?? 'splice';
  if (mode !== 'splice' && mode !== 'inspect') fail(`${at}.mode`, '"splice" or "inspect"', mode);
  if (route.backendTls !== undefined && !isObject(route.backendTls))
    fail(`${at}.backendTls`, 'an object', route.backendTls);
  if (route.backendTls)
    checkKnownKeys(`${WHAT}: ${at}.backendTls`, route.backendTls, ['ca', 'rejectUnauthorized', 'servername']);
  return {
    host: (route.host as string | undefined)?.toLowerCase(),
    path,
    backends: backends.map((b, i) => checkBackendUrl(`${at}.backends[${i}]`, b)),
    ...checkBalance(`${at}.balance`, route.balance),
    mode,
    maxMessageSize:
      checkInteger(WHAT, `${at}.maxMessageSize`, route.maxMessageSize, 0, Number.MAX_SAFE_INTEGER) ?? 0,
    backendTls: (route.backendTls as BackendTls | undefined) ?? {},
  };
}

function checkHealth(value: unknown): HealthCheckOptions | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) return fail('healthCheck', 'an object', value);
  checkKnownKeys(`${WHAT}: healthCheck`, value, HEALTH_KEYS);
  const type = value.type ?? 'http';
  if (type !== 'http' && type !== 'websocket') fail('healthCheck.type', '"http" or "websocket"', type);
  const path = value.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/'))
    fail('healthCheck.path', 'a path starting with "/"', path);
  return {
    type,
    path,
    intervalMs: checkMilliseconds(WHAT, 'healthCheck.intervalMs', value.intervalMs, 100) ?? 5000,
    timeoutMs: checkMilliseconds(WHAT, 'healthCheck.timeoutMs', value.timeoutMs, 10) ?? 2000,
    unhealthyThreshold:
      checkInteger(WHAT, 'healthCheck.unhealthyThreshold', value.unhealthyThreshold, 1, 100) ?? 2,
    healthyThreshold: checkInteger(WHAT, 'healthCheck.healthyThreshold', value.healthyThreshold, 1, 100) ?? 2,
  };
}

function checkAdminToken(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // Sent as a Bearer credential: visible ASCII, and long enough not to be guessed.
  if (typeof value !== 'string' || value.length < 16 || !/^[\x21-\x7e]+$/.test(value)) {
    fail('adminToken', 'a string of at least 16 visible ASCII characters', '(not shown)');
  }
  return value;
}

export function checkProxyOptions(options: ProxyOptions) {
  if (!isObject(options)) fail('(options)', 'an object with "routes"', options);
  checkKnownKeys(WHAT, options, TOP_KEYS);
  if (!Array.isArray(options.routes) || options.routes.length === 0)
    fail('routes', 'a non-empty array', options.routes);
  const trustProxy = options.trustProxy ?? false;
  if (typeof trustProxy !== 'boolean' && !stringList('trustProxy', trustProxy))
    fail('trustProxy', 'true, false or addresses', trustProxy);
  const requireHeader = options.requireHeader;
  if (requireHeader !== undefined && (!isObject(requireHeader) || typeof requireHeader.name !== 'string')) {
    fail('requireHeader', 'an object {"name": ..., "values"?: [...]}', requireHeader);
  }
  const tokens = options.tokens;
  if (tokens !== undefined && (!isObject(tokens) || !stringList('tokens.values', tokens.values))) {
    fail('tokens', 'an object {"values": [...], "query"?: "token"}', tokens);
  }
  return {
    port: checkInteger(WHAT, 'port', options.port, 0, 65535) ?? 8080,
    host: options.host,
    tls: options.tls,
    routes: options.routes.map((route, i) => checkRoute(i, route)),
    trustProxy,
    origins: options.origins
      ? new Set(stringList('origins', options.origins)!.map((o) => o.toLowerCase()))
      : undefined,
    requireHeader: requireHeader
      ? {
          name: requireHeader.name.toLowerCase(),
          values: stringList('requireHeader.values', requireHeader.values),
        }
      : undefined,
    tokens: tokens ? { query: tokens.query ?? 'token', values: new Set(tokens.values) } : undefined,
    authenticate: checkFunction<NonNullable<ProxyOptions['authenticate']>>(
      WHAT,
      'authenticate',
      options.authenticate,
    ),
    maxConnections: checkInteger(WHAT, 'maxConnections', options.maxConnections, 0, MAX) ?? 0,
    maxConnectionsPerIp: checkInteger(WHAT, 'maxConnectionsPerIp', options.maxConnectionsPerIp, 0, MAX) ?? 0,
    handshakesPerSecondPerIp:
      checkInteger(WHAT, 'handshakesPerSecondPerIp', options.handshakesPerSecondPerIp, 0, MAX) ?? 0,
    healthCheck: checkHealth(options.healthCheck),
    shutdownTimeout: checkMilliseconds(WHAT, 'shutdownTimeout', options.shutdownTimeout) ?? 5000,
    handshakeTimeout: checkMilliseconds(WHAT, 'handshakeTimeout', options.handshakeTimeout, 10) ?? 10_000,
    backendTimeout: checkMilliseconds(WHAT, 'backendTimeout', options.backendTimeout, 10) ?? 10_000,
    requestBodyTimeout:
      checkMilliseconds(WHAT, 'requestBodyTimeout', options.requestBodyTimeout, 10) ?? 30_000,
    adminToken: checkAdminToken(options.adminToken),
    adminHosts: new Set((stringList('adminHosts', options.adminHosts) ?? []).map((h) => h.toLowerCase())),
  };
}
