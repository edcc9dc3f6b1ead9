import { DEFAULTS, MAX_BUFFER, MAX_INT32 } from './defaults.js';

/**
 * Option checking shared by the server and the client. Every error names the
 * option, what was given and what is allowed, so a typo fails at construction
 * instead of being silently ignored.
 */

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
  for (const key of Object.keys(options)) {
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    if (hint !== undefined && !allowed.includes(key)) {
      throw new TypeError(`${what}: option "${key}" is ws's; ${hint}`);
    }
    if (!allowed.includes(key)) {
      throw new TypeError(`${what}: unknown option "${key}"; allowed options are: ${allowed.join(', ')}`);
    }
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

/** A duration option in ms (at most 2^31-1, what timers accept). */
export function checkMilliseconds(what: string, name: string, value: unknown, min = 1): number | undefined {
  return checkInteger(what, name, value, min, MAX_INT32, 'ms');
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

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export { MAX_BUFFER } from './defaults.js';

export interface FlowSettings {
  highWaterMark: number;
  lowWaterMark: number;
  maxBufferedAmount: number;
  slowConsumer: 'close' | 'drop';
}

export const FLOW_OPTIONS = ['highWaterMark', 'lowWaterMark', 'maxBufferedAmount', 'slowConsumer'] as const;

/** Backpressure options shared by server and client, with their defaults. */
export function checkFlowOptions(
  what: string,
  options: {
    highWaterMark?: number;
    lowWaterMark?: number;
    maxBufferedAmount?: number;
    slowConsumer?: string;
  },
  defaultCap: number,
): FlowSettings {
  const highWaterMark =
    checkInteger(what, 'highWaterMark', options.highWaterMark, 1, MAX_BUFFER, 'bytes') ??
    DEFAULTS.highWaterMark;
  const lowWaterMark =
    checkInteger(what, 'lowWaterMark', options.lowWaterMark, 0, MAX_BUFFER, 'bytes') ??
    Math.min(DEFAULTS.lowWaterMark, highWaterMark);
  if (lowWaterMark > highWaterMark) {
    throw new RangeError(
      `${what}: "lowWaterMark" (${lowWaterMark}) must not exceed "highWaterMark" (${highWaterMark})`,
    );
  }
  const maxBufferedAmount =
    checkInteger(what, 'maxBufferedAmount', options.maxBufferedAmount, 0, MAX_BUFFER, 'bytes') ?? defaultCap;
  const slowConsumer = options.slowConsumer ?? DEFAULTS.slowConsumer;
  if (slowConsumer !== 'close' && slowConsumer !== 'drop') {
    throw new TypeError(
      `${what}: option "slowConsumer" must be "close" or "drop"; got ${describe(slowConsumer)}`,
    );
  }
  return { highWaterMark, lowWaterMark, maxBufferedAmount, slowConsumer };
}

export interface BaseSettings {
  maxMessageSize: number;
  maxFrameSize: number;
  closeTimeout: number;
  autoPong: boolean;
}

/** The per-connection options servers and clients share, checked, with their defaults. */
export function checkConnectionOptions(
  what: string,
  options: { maxMessageSize?: number; maxFrameSize?: number; closeTimeout?: number; autoPong?: boolean },
  defaultMaxMessageSize: number,
): BaseSettings {
  const maxMessageSize = checkInteger(what, 'maxMessageSize', options.maxMessageSize, 1, MAX_BUFFER, 'bytes');
  const maxFrameSize = checkInteger(what, 'maxFrameSize', options.maxFrameSize, 1, MAX_BUFFER, 'bytes');
  return {
    maxMessageSize: maxMessageSize ?? defaultMaxMessageSize,
    maxFrameSize: maxFrameSize ?? maxMessageSize ?? defaultMaxMessageSize,
    closeTimeout: checkMilliseconds(what, 'closeTimeout', options.closeTimeout) ?? DEFAULTS.closeTimeout,
    autoPong: checkBoolean(what, 'autoPong', options.autoPong) ?? DEFAULTS.autoPong,
  };
}
