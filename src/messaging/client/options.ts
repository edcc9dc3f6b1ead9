import { MAX_TIMER_DELAY } from './liveness.js';
import type { MessagingClientOptions, WebSocketConstructor } from './types.js';

export interface ResolvedOptions {
  WebSocket: WebSocketConstructor;
  timeout: number;
  connectTimeout: number;
  minReconnectDelay: number;
  maxReconnectDelay: number;
  maxQueued: number;
  pingGrace: number;
  random: () => number;
}

const MILLISECOND_OPTIONS = [
  'timeout',
  'connectTimeout',
  'minReconnectDelay',
  'maxReconnectDelay',
  'pingGrace',
] as const;

/** The options that are not milliseconds, by the type they must have (data: anything). */
const TYPED_OPTIONS = {
  WebSocket: 'function',
  token: 'string',
  getToken: 'function',
  data: '',
  name: 'string',
  maxQueued: 'number',
  random: 'function',
} as const;

/** Every option's name: a typo (or another library's name) fails at construction instead of being ignored. */
const KNOWN_OPTIONS = [...Object.keys(TYPED_OPTIONS), ...MILLISECOND_OPTIONS];

/** Checks the options a caller gave, with an error that says what is allowed. */
export function resolveOptions(options: MessagingClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object; got ${options === null ? 'null' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      throw new TypeError(
        `unknown option "${key}"; allowed options are: ${KNOWN_OPTIONS.join(', ')} (and "socket" in Node)`,
      );
    }
  }
  for (const [name, type] of Object.entries(TYPED_OPTIONS)) {
    const value = options[name as keyof typeof TYPED_OPTIONS];
    if (type && value !== undefined && typeof value !== type) {
      throw new TypeError(`options.${name} must be a ${type}; got ${typeof value}`);
    }
  }
  for (const name of MILLISECOND_OPTIONS) checkMilliseconds(`options.${name}`, options[name]);
  const maxQueued = options.maxQueued ?? 1000;
  if (!Number.isInteger(maxQueued) || maxQueued < 0) {
    throw new RangeError(`options.maxQueued must be an integer >= 0; got ${String(options.maxQueued)}`);
  }
  const WebSocket =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? undefined;
  if (typeof WebSocket !== 'function') {
    throw new TypeError(
      'no WebSocket class: pass options.WebSocket (in Node: WhatwgWebSocket from "socketeer", or use "socketeer/messaging/client")',
    );
  }
  const minReconnectDelay = options.minReconnectDelay ?? 500;
  return {
    WebSocket,
    timeout: options.timeout ?? 10_000,
    connectTimeout: options.connectTimeout ?? 10_000,
    minReconnectDelay,
    maxReconnectDelay: options.maxReconnectDelay ?? Math.max(20_000, minReconnectDelay),
    maxQueued,
    pingGrace: options.pingGrace ?? 10_000,
    random: options.random ?? Math.random,
  };
}

/**
 * A delay in ms. Node and browsers fire a timer of more than 2^31 - 1 ms at
 * once, so a larger timeout would time every command (or connect) out at once
 * instead of never: refused, like a negative one.
 */
export function checkMilliseconds(what: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a number of milliseconds >= 0; got ${String(value)}`);
  }
  if (value > MAX_TIMER_DELAY) {
    throw new RangeError(
      `${what} must be at most ${MAX_TIMER_DELAY} ms (about 24.8 days; longer timers fire at once); got ${value}`,
    );
  }
}

/**
 * A random prefix for this client's idempotency keys: keys must not collide
 * with other clients' (the server remembers them for its dedup window), so the
 * prefix comes from crypto.getRandomValues where the host has it (browsers,
 * also on plain http pages; Node >= 20).
 */
export function randomKeyPrefix(random: () => number, injected: boolean): string {
  const bytes = new Uint8Array(12);
  const crypto = (globalThis as { crypto?: { getRandomValues?(array: Uint8Array): Uint8Array } }).crypto;
  if (!injected && crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  let prefix = '';
  for (const byte of bytes) prefix += byte.toString(16).padStart(2, '0');
  return prefix;
}
