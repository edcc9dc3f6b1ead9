/**
 * User information in a WebSocket URL (`ws://user:pass@host/`) becomes HTTP
 * Basic authentication on the opening handshake, as browsers do (Fetch's
 * "HTTP-network-or-cache fetch" uses the URL's credentials when no
 * Authorization header was set; web-platform-tests websockets/basic-auth) and
 * as ws does. The URL keeps userinfo percent-encoded (RFC 3986 section 3.2.1);
 * RFC 7617 section 2 sends the decoded user-id and password, UTF-8, joined by a
 * colon and base64-encoded.
 */

/** The Authorization value the URL's userinfo stands for, or undefined when it has none. */
export function basicAuthorization(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const user = percentDecode(url.username);
  // RFC 7617 section 2: "a user-id containing a colon character is invalid" (the
  // server would split at it and read another user).
  if (user.includes(COLON)) {
    throw new SyntaxError(
      'the user name in a WebSocket URL must not contain ":" (%3A) (RFC 7617 section 2); ' +
        'set the Authorization header yourself for such a name',
    );
  }
  const userPass = Buffer.concat([user, Buffer.of(COLON), percentDecode(url.password)]);
  return `Basic ${userPass.toString('base64')}`;
}

/** Whether `headers` already has an Authorization field (names are case-insensitive). */
export function hasAuthorization(headers: Record<string, string> | undefined): boolean {
  return headers !== undefined && Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
}

/**
 * `headers` with the URL's credentials added as Authorization, unless the
 * caller set that header explicitly (theirs wins, as in Fetch and ws).
 */
export function withUrlCredentials(
  url: URL,
  headers: Record<string, string> | undefined,
): Record<string, string> | undefined {
  // The caller's header wins, and then the userinfo is not used at all (not even checked).
  if (hasAuthorization(headers)) return headers;
  const authorization = basicAuthorization(url);
  if (authorization === undefined) return headers;
  return { ...headers, Authorization: authorization };
}

/** A URL with its userinfo removed (for what is shown, and for URLs taken elsewhere). */
export function withoutCredentials(url: URL): URL {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy;
}

/**
 * Text that may hold a URL (a Location header, a user's input) as it may be shown
 * in an error: a password in it is masked, because errors end up in logs.
 */
export function withPasswordMasked(text: string): string {
  return text.replace(/(\/\/[^/?#@:]*:)[^/?#@]*@/, '$1***@');
}

const COLON = 0x3a;

/**
 * Percent-decode userinfo into the bytes it stands for (the URL Standard's
 * "percent-decode": each valid %XX is one byte). The URL parser leaves a "%"
 * that starts no valid escape as it is; it is kept literally, without
 * disturbing the escapes around it ("p%40ss%" is "p@ss%"). Bytes, not a
 * string: "%FF" is the byte 0xFF the URL means, not "%FF" or U+FFFD.
 */
function percentDecode(text: string): Buffer {
  const input = Buffer.from(text, 'utf8');
  const output = Buffer.allocUnsafe(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    if (byte === 0x25 && i + 2 < input.length && isHex(input[i + 1]!) && isHex(input[i + 2]!)) {
      output[length++] = Number.parseInt(String.fromCharCode(input[i + 1]!, input[i + 2]!), 16);
      i += 2;
    } else {
      output[length++] = byte;
    }
  }
  return output.subarray(0, length);
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}
