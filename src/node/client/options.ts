import { requestHeadersProblem } from '../../protocol/handshake.js';
import { DEFAULTS } from '../defaults.js';
import { checkDeflateOption, type DeflateOptions } from '../deflate.js';
import type { HeartbeatOptions } from '../heartbeat.js';
import {
  type BaseSettings,
  CONNECTION_OPTIONS,
  checkBoolean,
  checkConnectionOptions,
  checkFlowOptions,
  checkHeartbeatOptions,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkObject,
  checkString,
  describe,
  FLOW_OPTIONS,
  type FlowSettings,
  HEARTBEAT_OPTIONS,
} from '../options.js';

/** The Node client's options, checked once into a ClientConfig. */

export interface ClientOptions {
  /** Extra request headers (e.g. Authorization, Origin, Cookie). */
  headers?: Record<string, string>;
  /** Milliseconds for the TCP/TLS connect and the handshake together (default 30000). */
  handshakeTimeout?: number;
  /** Largest message accepted, in bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest frame accepted, in bytes (default: maxMessageSize). */
  maxFrameSize?: number;
  /** Milliseconds to wait for the closing handshake before dropping TCP (default 30000). */
  closeTimeout?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /** TLS: trusted CA certificates (PEM), replacing the default roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** TLS: client certificate and key (PEM), for servers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** TLS: verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** TLS: SNI server name (default: the URL's host name, unless it is an IP address). */
  servername?: string;
  /**
   * Follow up to this many HTTP redirects (301/302/303/307/308) during the
   * handshake (default 0: a redirect is an error). Custom headers and the
   * client certificate are not carried to another host.
   */
  followRedirects?: number;
  /** Ping the server after this many quiet ms (default 0: off). */
  heartbeatInterval?: number;
  /** With heartbeats: drop (1006) a server that sends nothing within this many ms of a ping (default 10000). */
  heartbeatTimeout?: number;
  /**
   * An http:// proxy to tunnel through (HTTP CONNECT), false for none. Default:
   * HTTPS_PROXY (wss) / HTTP_PROXY (ws) from the environment, honouring NO_PROXY.
   */
  proxy?: string | false;
  /** Offer permessage-deflate (RFC 7692): true (default), false, or options. */
  perMessageDeflate?: boolean | DeflateOptions;
  /** Backpressure, as on the server (but no maxBufferedAmount cap by default). */
  highWaterMark?: number;
  lowWaterMark?: number;
  maxBufferedAmount?: number;
  slowConsumer?: 'close' | 'drop';
}

const CLIENT_OPTIONS = [
  'headers',
  'handshakeTimeout',
  ...CONNECTION_OPTIONS,
  'ca',
  'cert',
  'key',
  'rejectUnauthorized',
  'servername',
  'perMessageDeflate',
  'proxy',
  ...HEARTBEAT_OPTIONS,
  'followRedirects',
  ...FLOW_OPTIONS,
] as const;

/** ws's client options, and what to write instead. */
const WS_CLIENT_OPTIONS: Readonly<Record<string, string>> = {
  origin: 'send it as a header: { headers: { Origin: "https://example.com" } }',
  maxPayload: 'use "maxMessageSize" (and "maxFrameSize")',
  maxRedirects: 'use "followRedirects" with the number of redirects to follow',
  protocolVersion: 'socketeer speaks version 13, the only one RFC 6455 defines',
  skipUTF8Validation: 'socketeer always validates text (RFC 6455 section 8.1)',
  agent: 'use "proxy" for HTTP proxies; connections are never pooled',
  allowSynchronousEvents: 'socketeer emits messages synchronously as they are parsed',
};

export const WHAT = 'WebSocket client';

export interface ClientConfig {
  headers: Record<string, string> | undefined;
  handshakeTimeout: number;
  connection: BaseSettings & { flow: FlowSettings };
  deflate: DeflateOptions | null;
  followRedirects: number;
  heartbeat: HeartbeatOptions;
}

/** Check every option (each error names it and what is allowed); apply the defaults. */
export function resolveClientConfig(options: ClientOptions): ClientConfig {
  checkKnownKeys(WHAT, options, CLIENT_OPTIONS, WS_CLIENT_OPTIONS);
  checkBoolean(WHAT, 'rejectUnauthorized', options.rejectUnauthorized);
  checkString(WHAT, 'servername', options.servername);
  return {
    headers: checkHeaders(options.headers),
    handshakeTimeout:
      checkMilliseconds(WHAT, 'handshakeTimeout', options.handshakeTimeout) ?? DEFAULTS.handshakeTimeout,
    connection: {
      ...checkConnectionOptions(WHAT, options, DEFAULTS.maxMessageSize),
      flow: checkFlowOptions(WHAT, options, DEFAULTS.clientMaxBufferedAmount),
    },
    deflate: checkDeflateOption(WHAT, options.perMessageDeflate ?? DEFAULTS.clientPerMessageDeflate),
    followRedirects:
      checkInteger(WHAT, 'followRedirects', options.followRedirects, 0, 20) ?? DEFAULTS.followRedirects,
    heartbeat: { ...checkHeartbeatOptions(WHAT, options, DEFAULTS.clientHeartbeatInterval), idleTimeout: 0 },
  };
}

/**
 * Check client options without connecting, with the errors a WebSocket's
 * constructor would throw: for layers that build their sockets later (the
 * messaging client connects on connect(), and again on every reconnect).
 */
export function checkClientOptions(options: ClientOptions): void {
  resolveClientConfig(options);
}

/**
 * A string or an array would be spread into headers named "0", "1", ... and
 * an object value sent as "[object Object]": refused here instead. Numbers and
 * arrays of strings are what Node's http accepts besides strings.
 */
function checkHeaders(headers: unknown): Record<string, string> | undefined {
  const checked = checkObject(WHAT, 'headers', headers);
  for (const [name, value] of Object.entries(checked ?? {})) {
    const ok =
      typeof value === 'string' ||
      typeof value === 'number' ||
      (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok) {
      throw new TypeError(
        `${WHAT}: option "headers" maps header names to strings; got ${describe(value)} for ${JSON.stringify(name)}`,
      );
    }
  }
  const problem = checked && requestHeadersProblem(checked);
  if (problem) throw new TypeError(`${WHAT}: option "headers": ${problem}`);
  return checked as Record<string, string> | undefined;
}
