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
  if (user.includes(':')) {
    throw new SyntaxError(
      'the user name in a WebSocket URL must not contain ":" (%3A) (RFC 7617 section 2); ' +
        'set the Authorization header yourself for such a name',
    );
  }
  return `Basic ${Buffer.from(`${user}:${percentDecode(url.password)}`, 'utf8').toString('base64')}`;
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
  const authorization = basicAuthorization(url);
  if (authorization === undefined || hasAuthorization(headers)) return headers;
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
 * Percent-decode userinfo. The URL parser leaves a "%" that starts no valid
 * escape as it is; such a string (which decodeURIComponent refuses) is taken
 * literally rather than failing the connection.
 */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
