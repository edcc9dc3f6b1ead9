/**
 * Parsers for the comma-separated header values of the opening handshake
 * (RFC 6455 section 4.3, RFC 7230 section 3.2.6). They return null on syntax
 * errors so callers can answer 400 with a precise reason.
 */

export type HeaderValue = string | string[] | undefined;
export type HeaderMap = Record<string, HeaderValue>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/** One header's value as a string, joining repeated headers with ", " as HTTP allows. */
export function headerString(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Split "a, b,c" into tokens; null if any element is not a token. Empty elements are skipped (RFC 7230 7). */
export function parseTokenList(value: string): string[] | null {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    if (!isToken(item)) return null;
    out.push(item);
  }
  return out;
}

/** Does a comma-separated header contain `token`, compared case-insensitively? */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  return value.split(',').some((part) => part.trim().toLowerCase() === wanted);
}

export interface ExtensionOffer {
  name: string;
  /** Parameters in order; a parameter without a value maps to true. */
  params: Array<[string, string | true]>;
}

/**
 * Parse Sec-WebSocket-Extensions (RFC 6455 section 9.1):
 *   extension-list = 1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const readToken = (): string | null => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i]!)) i++;
    return i > start ? value.slice(start, i) : null;
  };
  while (i < n) {
    skipSpace();
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (i >= n) break;
    const name = readToken();
    if (name === null) return null;
    const offer: ExtensionOffer = { name, params: [] };
    skipSpace();
    while (value[i] === ';') {
      i++;
      skipSpace();
      const key = readToken();
      if (key === null) return null;
      skipSpace();
      let paramValue: string | true = true;
      if (value[i] === '=') {
        i++;
        skipSpace();
        if (value[i] === '"') {
          i++;
          let text = '';
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\') i++;
            if (i < n) text += value[i++];
          }
          if (value[i] !== '"') return null;
          i++;
          // A quoted value must still be a token (RFC 6455 section 9.1).
          if (!isToken(text)) return null;
          paramValue = text;
        } else {
          const token = readToken();
          if (token === null) return null;
          paramValue = token;
        }
        skipSpace();
      }
      offer.params.push([key, paramValue]);
    }
    out.push(offer);
    skipSpace();
    if (i < n && value[i] !== ',') return null;
  }
  return out;
}

export function formatExtensions(extensions: ExtensionOffer[]): string {
  return extensions
    .map((e) => [e.name, ...e.params.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join('; '))
    .join(', ');
}
