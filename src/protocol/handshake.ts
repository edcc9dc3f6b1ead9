import { createHash } from 'node:crypto';
import { WEBSOCKET_GUID, WEBSOCKET_VERSION } from './constants.js';
import {
  type ExtensionOffer,
  type HeaderMap,
  hasToken,
  headerString,
  parseExtensions,
  parseTokenList,
} from './headers.js';
import { defaultRandomFill, type RandomFill } from './mask.js';

/**
 * The opening handshake (RFC 6455 section 4), as pure functions over parsed
 * HTTP requests and responses. The transport does the HTTP parsing and I/O.
 */

export function computeAccept(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (RFC 6455 section 4.1). */
export function generateKey(randomFill: RandomFill = defaultRandomFill): string {
  const nonce = new Uint8Array(16);
  randomFill(nonce);
  return Buffer.from(nonce).toString('base64');
}

/** 16 bytes in base64 are 22 characters and "==" (lenient about the unused low bits, as decoders are). */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

export interface ClientRequest {
  method?: string | undefined;
  httpVersion: string;
  headers: HeaderMap;
}

export type RequestCheck =
  | { ok: true; key: string; protocols: string[]; extensions: ExtensionOffer[] }
  | { ok: false; status: number; reason: string; headers?: Record<string, string> };

function reject(status: number, reason: string, headers?: Record<string, string>): RequestCheck {
  return headers ? { ok: false, status, reason, headers } : { ok: false, status, reason };
}

/** Check a client's opening handshake (RFC 6455 section 4.2.1). */
export function validateClientRequest(request: ClientRequest): RequestCheck {
  const { headers } = request;
  if (request.method !== 'GET') return reject(400, `the method must be GET, not ${request.method ?? 'none'}`);
  const [major, minor] = request.httpVersion.split('.').map(Number);
  if (!(major! > 1 || (major === 1 && minor! >= 1))) {
    return reject(400, `HTTP/1.1 or later is required, not HTTP/${request.httpVersion}`);
  }
  if (!hasToken(headerString(headers, 'upgrade'), 'websocket')) {
    return reject(400, 'the Upgrade header must be "websocket"');
  }
  if (!hasToken(headerString(headers, 'connection'), 'upgrade')) {
    return reject(400, 'the Connection header must include "Upgrade"');
  }
  if (!headerString(headers, 'host')) return reject(400, 'the Host header is missing');
  const key = headerString(headers, 'sec-websocket-key');
  if (key === undefined) return reject(400, 'the Sec-WebSocket-Key header is missing');
  if (!KEY_PATTERN.test(key.trim())) {
    return reject(400, 'Sec-WebSocket-Key must be 16 bytes in base64');
  }
  const version = headerString(headers, 'sec-websocket-version');
  if (version === undefined) return reject(400, 'the Sec-WebSocket-Version header is missing');
  if (version.trim() !== WEBSOCKET_VERSION) {
    return reject(426, `unsupported WebSocket version "${version}"; this server speaks version 13`, {
      'Sec-WebSocket-Version': WEBSOCKET_VERSION,
    });
  }
  const protocolHeader = headerString(headers, 'sec-websocket-protocol');
  const protocols = protocolHeader === undefined ? [] : parseTokenList(protocolHeader);
  if (protocols === null) return reject(400, 'Sec-WebSocket-Protocol must be a list of tokens');
  const extensionHeader = headerString(headers, 'sec-websocket-extensions');
  const extensions = extensionHeader === undefined ? [] : parseExtensions(extensionHeader);
  if (extensions === null) return reject(400, 'the Sec-WebSocket-Extensions header is malformed');
  return { ok: true, key: key.trim(), protocols, extensions };
}

/** Reason phrases (RFC 9110 section 15, RFC 6585) for the statuses a handshake may be refused with. */
const STATUS_TEXT: Record<number, string> = {
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** Statuses without an entry get their class's phrase rather than a made-up one. */
function statusText(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? 'Server Error' : status >= 400 ? 'Client Error' : 'Status');
}

function headerLines(headers: Record<string, string | number> | undefined): string {
  let out = '';
  if (headers) {
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(`${name}${value}`)) throw new TypeError(`header ${name} contains a line break`);
      out += `${name}: ${value}\r\n`;
    }
  }
  return out;
}

/** The 101 response that completes a handshake. */
export function buildAcceptResponse(
  key: string,
  options: { protocol?: string; extensions?: string; headers?: Record<string, string | number> } = {},
): string {
  let head =
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n`;
  if (options.protocol) head += `Sec-WebSocket-Protocol: ${options.protocol}\r\n`;
  if (options.extensions) head += `Sec-WebSocket-Extensions: ${options.extensions}\r\n`;
  return `${head}${headerLines(options.headers)}\r\n`;
}

/** A complete HTTP error response with a short plain-text body; the connection closes after it. */
export function buildRejectResponse(
  status: number,
  body: string,
  headers?: Record<string, string | number>,
): string {
  const text = `${body}\n`;
  return (
    `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
    'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(text)}\r\n${headerLines(headers)}\r\n${text}`
  );
}

/**
 * Request headers the handshake writes itself, and why a caller's value is
 * refused rather than sent. RFC 6455 section 4.1: "The request MUST contain an
 * |Upgrade| header field whose value MUST include the "websocket" keyword", a
 * |Connection| field with "Upgrade", a |Sec-WebSocket-Key| (a fresh nonce the
 * server's Accept is checked against) and "|Sec-WebSocket-Version| ... MUST be
 * 13". Subprotocols and extensions are what the client checks the 101 against
 * (section 4.1, the client's steps 5-6), so they come from the client's own
 * settings. A second copy would be sent next to ours by a raw writer of this
 * map, or silently replace ours (Node's http and ws keep the last of two names
 * that differ in case). Host and Origin are not here: like ws, callers may set
 * them (virtual hosts, a browser's origin); the HTTP layer writes Host otherwise.
 */
const OWNED_REQUEST_HEADERS: Readonly<Record<string, string>> = {
  connection: 'the handshake sends "Connection: Upgrade" (RFC 6455 section 4.1)',
  upgrade: 'the handshake sends "Upgrade: websocket" (RFC 6455 section 4.1)',
  'sec-websocket-key':
    'the handshake sends a fresh random key and checks the answer against it (RFC 6455 section 4.1)',
  'sec-websocket-version': 'the handshake sends version 13, the only one RFC 6455 defines',
  'sec-websocket-protocol':
    "offer subprotocols through the protocols argument (the server's choice is checked against them)",
  'sec-websocket-extensions':
    'extensions are offered by the client itself (option "perMessageDeflate"), which must understand what the server accepts',
};

/**
 * What is wrong with a caller's request headers, or undefined: a header the
 * handshake owns, or one name given twice in different case (field names are
 * case-insensitive, RFC 9110 section 5.1, so both would be one header).
 */
export function requestHeadersProblem(headers: Readonly<Record<string, unknown>>): string | undefined {
  const seen = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (Object.hasOwn(OWNED_REQUEST_HEADERS, lower)) {
      return `header ${JSON.stringify(name)} is set by the opening handshake: ${OWNED_REQUEST_HEADERS[lower]}`;
    }
    const earlier = seen.get(lower);
    if (earlier !== undefined) {
      return `${JSON.stringify(earlier)} and ${JSON.stringify(name)} are one header (names are case-insensitive, RFC 9110 section 5.1); give it once`;
    }
    seen.set(lower, name);
  }
  return undefined;
}

/**
 * Headers a client sends (besides Host, which the HTTP layer writes unless the
 * caller gave one). Throws a TypeError for headers the handshake owns.
 */
export function buildRequestHeaders(
  key: string,
  options: { protocols?: string[]; extensions?: string; headers?: Record<string, string> } = {},
): Record<string, string> {
  const problem = options.headers && requestHeadersProblem(options.headers);
  if (problem) throw new TypeError(problem);
  const out: Record<string, string> = {
    ...options.headers,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': WEBSOCKET_VERSION,
  };
  if (options.protocols && options.protocols.length > 0) {
    out['Sec-WebSocket-Protocol'] = options.protocols.join(', ');
  }
  if (options.extensions) out['Sec-WebSocket-Extensions'] = options.extensions;
  return out;
}

export type ResponseCheck =
  | { ok: true; protocol: string; extensions: ExtensionOffer[] }
  | { ok: false; reason: string };

/** Check a server's 101 response (RFC 6455 section 4.1, the client's checks 1-6). */
export function validateServerResponse(
  headers: HeaderMap,
  key: string,
  offered: { protocols: string[]; extensionNames: string[] },
): ResponseCheck {
  if (!hasToken(headerString(headers, 'upgrade'), 'websocket')) {
    return { ok: false, reason: 'the server did not answer with "Upgrade: websocket"' };
  }
  if (!hasToken(headerString(headers, 'connection'), 'upgrade')) {
    return { ok: false, reason: 'the server did not answer with "Connection: Upgrade"' };
  }
  const accept = headerString(headers, 'sec-websocket-accept');
  if (accept?.trim() !== computeAccept(key)) {
    return { ok: false, reason: 'the server sent a wrong Sec-WebSocket-Accept' };
  }
  const protocol = headerString(headers, 'sec-websocket-protocol')?.trim() ?? '';
  if (protocol !== '' && !offered.protocols.includes(protocol)) {
    return { ok: false, reason: `the server chose subprotocol "${protocol}", which was not offered` };
  }
  const extensionHeader = headerString(headers, 'sec-websocket-extensions');
  const extensions = extensionHeader === undefined ? [] : parseExtensions(extensionHeader);
  if (extensions === null)
    return { ok: false, reason: 'the server sent a malformed Sec-WebSocket-Extensions' };
  for (const e of extensions) {
    if (!offered.extensionNames.includes(e.name)) {
      return { ok: false, reason: `the server accepted extension "${e.name}", which was not offered` };
    }
  }
  return { ok: true, protocol, extensions };
}
