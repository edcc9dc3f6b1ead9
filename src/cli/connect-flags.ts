import type { ClientOptions } from '../node/client/options.js';
import { type Options, readFlagFile, UsageError } from './args.js';

/**
 * `socketeer connect`'s flags. Where wscat has a flag for the same thing, the
 * names (long and short) are wscat's, so its users' fingers work here.
 */
export const connectFlags: Options = {
  connect: { type: 'string', short: 'c' },
  execute: { type: 'string', short: 'x', multiple: true },
  wait: { type: 'string', short: 'w' },
  echo: { type: 'boolean' },
  header: { type: 'string', short: 'H', multiple: true },
  origin: { type: 'string', short: 'o' },
  host: { type: 'string' },
  protocol: { type: 'string', short: 'p' },
  auth: { type: 'string' },
  subprotocol: { type: 'string', short: 's', multiple: true },
  'show-ping-pong': { type: 'boolean', short: 'P' },
  timeout: { type: 'string', short: 't' },
  location: { type: 'boolean', short: 'L' },
  'max-redirects': { type: 'string' },
  proxy: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'no-check': { type: 'boolean', short: 'n' },
  insecure: { type: 'boolean' },
  'binary-format': { type: 'string' },
  json: { type: 'boolean' },
  'max-message': { type: 'string' },
  'no-deflate': { type: 'boolean' },
  'no-color': { type: 'boolean' },
  // wscat needs --slash to turn slash commands on; here they are always on.
  slash: { type: 'boolean' },
};

/** What the session does with the connection once it is open. */
export interface SessionFlags {
  echo: boolean;
  execute: string[] | undefined;
  json: boolean;
  binaryFormat: 'hex' | 'base64';
  /** Seconds to wait after the end of input (pipe) or after sending -x messages. */
  waitSeconds: number;
  showPingPong: boolean;
}

/**
 * The URL as a wscat user types it: without a scheme it is ws:// (wscat does
 * the same), and http(s):// become ws(s):// as in the WHATWG WebSocket API.
 */
export function normalizeUrl(input: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return `ws://${input}`;
  if (/^http:\/\//i.test(input)) return `ws://${input.slice('http://'.length)}`;
  if (/^https:\/\//i.test(input)) return `wss://${input.slice('https://'.length)}`;
  return input;
}

/** The URL as shown to the user: a password in it is masked (terminals and logs keep what they show). */
export function shownUrl(href: string): string {
  try {
    const url = new URL(href);
    if (url.password === '') return href;
    url.password = '***';
    return url.href;
  } catch {
    return href;
  }
}

function seconds(flag: string, value: unknown, fallback: number, allowZero: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    !Number.isFinite(n) ||
    n < 0 ||
    (!allowZero && n === 0)
  ) {
    throw new UsageError(
      `--${flag} must be a number of seconds ${allowZero ? '(0 or more)' : 'above 0'}; got "${value}"`,
    );
  }
  return n;
}

function positiveInteger(flag: string, value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${flag} must be a positive ${what}; got "${value}"`);
  return n;
}

export function sessionFlags(values: Record<string, unknown>): SessionFlags {
  const binaryFormat = (values['binary-format'] as string | undefined) ?? 'hex';
  if (binaryFormat !== 'hex' && binaryFormat !== 'base64') {
    throw new UsageError(`--binary-format must be hex or base64; got "${binaryFormat}"`);
  }
  const execute = values.execute as string[] | undefined;
  if (execute && values.echo) throw new UsageError('--execute and --echo do not go together');
  return {
    echo: values.echo === true,
    execute,
    json: values.json === true,
    binaryFormat,
    // wscat waits 2 s for replies after --execute; a pipe closes at once by default.
    waitSeconds: seconds('wait', values.wait, execute ? 2 : 0, true),
    showPingPong: values['show-ping-pong'] === true,
  };
}

export function clientOptions(values: Record<string, unknown>): ClientOptions {
  const options: ClientOptions = {};
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must look like "Name: value"; got "${h}"`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (values.origin !== undefined) headers.Origin = values.origin as string;
  if (values.host !== undefined) headers.Host = values.host as string;
  // wscat's -p picks the protocol version (8 or 13); RFC 6455 defines 13 alone, the only one spoken here.
  if (values.protocol !== undefined && values.protocol !== '13') {
    throw new UsageError(
      `--protocol must be 13 (the version RFC 6455 defines; the only one spoken); got "${values.protocol}"`,
    );
  }
  if (values.auth !== undefined) {
    const auth = values.auth as string;
    // RFC 7617 §2: the user-id cannot contain a colon; the password can.
    if (auth.indexOf(':') <= 0) throw new UsageError(`--auth must look like user:password; got "${auth}"`);
    headers.Authorization = `Basic ${Buffer.from(auth, 'utf8').toString('base64')}`;
  }
  if (Object.keys(headers).length > 0) options.headers = headers;
  if (values.timeout !== undefined) {
    options.handshakeTimeout = Math.ceil(seconds('timeout', values.timeout, 0, false) * 1000);
  }
  const maxRedirects = positiveInteger('max-redirects', values['max-redirects'], 'number of redirects');
  if (values.location || maxRedirects !== undefined) options.followRedirects = maxRedirects ?? 10;
  if (values.proxy !== undefined) options.proxy = values.proxy as string;
  if (values.ca !== undefined) options.ca = readFlagFile(values.ca as string);
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError('--cert and --key go together');
  }
  if (values.cert !== undefined) options.cert = readFlagFile(values.cert as string);
  if (values.key !== undefined) options.key = readFlagFile(values.key as string);
  if (values.insecure || values['no-check']) options.rejectUnauthorized = false;
  options.perMessageDeflate = values['no-deflate'] !== true;
  const maxMessage = positiveInteger('max-message', values['max-message'], 'number of bytes');
  if (maxMessage !== undefined) options.maxMessageSize = maxMessage;
  return options;
}
