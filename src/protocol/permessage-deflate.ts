import type { ExtensionOffer } from './headers.js';

/**
 * permessage-deflate negotiation (RFC 7692 section 7.1), as pure functions.
 * The compression itself needs zlib and lives in the Node transport.
 */

export const EXTENSION_NAME = 'permessage-deflate';

/** What an endpoint is willing to do (configuration). */
export interface DeflateConfig {
  /** Ask (client) or require (server) that the server resets its context per message. */
  serverNoContextTakeover?: boolean;
  /** Ask (client) or require (server) that the client resets its context per message. */
  clientNoContextTakeover?: boolean;
  /** Largest window the server may compress with, 8-15. */
  serverMaxWindowBits?: number;
  /** Largest window the client may compress with, 8-15. */
  clientMaxWindowBits?: number;
}

/** What was agreed for one connection. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

interface ParsedParams {
  server_no_context_takeover?: true;
  client_no_context_takeover?: true;
  server_max_window_bits?: number;
  /** true: offered without a value. */
  client_max_window_bits?: number | true;
}

const WINDOW_BITS = /^(8|9|1[0-5])$/;

/** Check an offer's or a response's parameters; a string says what is wrong. */
function parseParams(offer: ExtensionOffer, isResponse: boolean): ParsedParams | string {
  const out: ParsedParams = {};
  for (const [name, value] of offer.params) {
    if (name in out) return `parameter ${name} repeated`;
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return `${name} takes no value`;
        out[name] = true;
        break;
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS.test(value)) return `${name} must be 8-15`;
        out.server_max_window_bits = Number(value);
        break;
      case 'client_max_window_bits':
        if (value === true) {
          if (isResponse) return `${name} needs a value in a response`;
          out.client_max_window_bits = true;
        } else if (!WINDOW_BITS.test(value)) {
          return `${name} must be 8-15`;
        } else {
          out.client_max_window_bits = Number(value);
        }
        break;
      default:
        return `unknown parameter ${name}`;
    }
  }
  return out;
}

function format(params: Array<[string, string | number | true]>): string {
  return [EXTENSION_NAME, ...params.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join('; ');
}

/**
 * Server side: accept the first acceptable permessage-deflate offer (offers may
 * list alternatives). Offers with unknown, repeated or out-of-range parameters
 * are declined; null means the connection goes on uncompressed.
 */
export function acceptOffer(
  offers: ExtensionOffer[],
  config: DeflateConfig,
): { params: DeflateParams; response: string } | null {
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const p = parseParams(offer, false);
    if (typeof p === 'string') continue;
    const response: Array<[string, string | number | true]> = [];
    const serverNoContextTakeover =
      p.server_no_context_takeover === true || config.serverNoContextTakeover === true;
    if (serverNoContextTakeover) response.push(['server_no_context_takeover', true]);
    const clientNoContextTakeover =
      p.client_no_context_takeover === true || config.clientNoContextTakeover === true;
    if (clientNoContextTakeover) response.push(['client_no_context_takeover', true]);
    const serverMaxWindowBits = Math.min(p.server_max_window_bits ?? 15, config.serverMaxWindowBits ?? 15);
    if (p.server_max_window_bits !== undefined || serverMaxWindowBits < 15) {
      response.push(['server_max_window_bits', serverMaxWindowBits]);
    }
    let clientMaxWindowBits = 15;
    if (p.client_max_window_bits !== undefined) {
      const offered = p.client_max_window_bits === true ? 15 : p.client_max_window_bits;
      clientMaxWindowBits = Math.min(offered, config.clientMaxWindowBits ?? 15);
      if (clientMaxWindowBits < 15 || p.client_max_window_bits !== true) {
        response.push(['client_max_window_bits', clientMaxWindowBits]);
      }
    } else if ((config.clientMaxWindowBits ?? 15) < 15) {
      // We would need to limit the client but it cannot be told: try the next offer.
      continue;
    }
    return {
      params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
      response: format(response),
    };
  }
  return null;
}

/** Client side: the offer to send in Sec-WebSocket-Extensions. */
export function buildOffer(config: DeflateConfig): string {
  const params: Array<[string, string | number | true]> = [];
  if (config.serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
  if (config.clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
  if (config.serverMaxWindowBits !== undefined)
    params.push(['server_max_window_bits', config.serverMaxWindowBits]);
  params.push(['client_max_window_bits', config.clientMaxWindowBits ?? true]);
  return format(params);
}

/** Client side: check the server's answer against what we offered. */
export function acceptResponse(
  extensions: ExtensionOffer[],
  config: DeflateConfig,
): DeflateParams | string | null {
  const mine = extensions.filter((e) => e.name === EXTENSION_NAME);
  if (mine.length === 0) return null;
  if (mine.length > 1) return 'the server answered permessage-deflate more than once';
  const p = parseParams(mine[0]!, true);
  if (typeof p === 'string') return `invalid permessage-deflate response: ${p}`;
  if (config.serverNoContextTakeover && !p.server_no_context_takeover) {
    return 'the server did not agree to server_no_context_takeover';
  }
  if (
    config.serverMaxWindowBits !== undefined &&
    (p.server_max_window_bits === undefined || p.server_max_window_bits > config.serverMaxWindowBits)
  ) {
    return `the server did not limit server_max_window_bits to ${config.serverMaxWindowBits}`;
  }
  const clientLimit = config.clientMaxWindowBits ?? 15;
  if (typeof p.client_max_window_bits === 'number' && p.client_max_window_bits > clientLimit) {
    return `the server raised client_max_window_bits above the offered ${clientLimit}`;
  }
  return {
    serverNoContextTakeover: p.server_no_context_takeover === true,
    clientNoContextTakeover: p.client_no_context_takeover === true || config.clientNoContextTakeover === true,
    serverMaxWindowBits: p.server_max_window_bits ?? 15,
    clientMaxWindowBits:
      typeof p.client_max_window_bits === 'number' ? p.client_max_window_bits : clientLimit,
  };
}
