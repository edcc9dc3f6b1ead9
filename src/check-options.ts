/**
 * Option checking shared by every layer (the core's server and client, the
 * messaging hub and its engines, the proxy, the chat). Every error names the
 * option, what was given and what is allowed, so a typo fails at construction
 * instead of being silently ignored. A neutral module: it imports nothing, so
 * the messaging layer can use it without reaching into src/node's internals.
 */

/** The longest delay timers accept (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A value as an error message shows it: strings quoted, objects by kind (never their contents). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

/**
 * `hints` names the socketeer equivalent of options other libraries (ws) use,
 * so that code ported from them fails with the fix in the message.
 */
export function checkKnownKeys(
  what: string,
  options: object,
  allowed: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    if (hint !== undefined) throw new TypeError(`${what}: option "${key}" is ws's; ${hint}`);
    throw new TypeError(`${what}: unknown option "${key}"; allowed options are: ${allowed.join(', ')}`);
  }
}

export function checkInteger(
  what: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
  unit = '',
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${what}: option "${name}" must be an integer from ${min} to ${max}${unit ? ` ${unit}` : ''}; got ${describe(value)}`,
    );
  }
  return value;
}

/** A duration option in ms (at most MAX_TIMER_MS, what timers accept). */
export function checkMilliseconds(what: string, name: string, value: unknown, min = 1): number | undefined {
  return checkInteger(what, name, value, min, MAX_TIMER_MS, 'ms');
}

export function checkBoolean(what: string, name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${what}: option "${name}" must be true or false; got ${describe(value)}`);
  }
  return value;
}

export function checkString(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new TypeError(`${what}: option "${name}" must be a string; got ${describe(value)}`);
  }
  return value;
}

export function checkFunction<T>(what: string, name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new TypeError(`${what}: option "${name}" must be a function; got ${describe(value)}`);
  }
  return value as T;
}

export function checkObject(what: string, name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what}: option "${name}" must be an object; got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Where a server's connections come from (the core's WebSocketServer and the
 * messaging hub, which takes the same options under its own name): exactly one
 * of its own port, an existing http(s) server, or noServer for upgrades handed
 * over by the caller.
 */
export interface ListenOptions {
  port?: unknown;
  host?: unknown;
  tls?: unknown;
  server?: unknown;
  noServer?: unknown;
  path?: unknown;
}

export function checkListenOptions(what: string, options: ListenOptions): void {
  checkInteger(what, 'port', options.port, 0, 65535);
  checkString(what, 'host', options.host);
  checkBoolean(what, 'noServer', options.noServer);
  const server = options.server as { on?: unknown; listen?: unknown } | undefined;
  if (server !== undefined && (typeof server?.on !== 'function' || typeof server?.listen !== 'function')) {
    throw new TypeError(
      `${what}: option "server" must be an http.Server or https.Server to attach to; got ${describe(server)}`,
    );
  }
  const modes = [options.port !== undefined, server !== undefined, options.noServer === true];
  if (modes.filter(Boolean).length !== 1) {
    throw new TypeError(
      `${what}: give exactly one of "port", "server" or "noServer: true" (listen on a port, attach to an http(s) server, or call handleUpgrade yourself)`,
    );
  }
  const path = checkString(what, 'path', options.path);
  if (path !== undefined && !path.startsWith('/')) {
    throw new TypeError(`${what}: option "path" must start with "/"; got ${JSON.stringify(path)}`);
  }
  if (options.tls !== undefined && options.port === undefined) {
    throw new TypeError(
      `${what}: option "tls" is for standalone servers (with "port"); attach to an https server instead`,
    );
  }
  checkObject(what, 'tls', options.tls);
}
