import { checkBoolean, checkInteger, checkMilliseconds, describe } from '../check-options.js';
import { DEFAULTS, MAX_BUFFER } from './defaults.js';

/**
 * The core's option checks: the generic ones are shared with the other layers
 * (src/check-options.ts); the flow and per-connection options are the core's own.
 */

export {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkObject,
  checkString,
  describe,
} from '../check-options.js';
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

/** What each connection is given: the shared options plus limits and counters. */
export interface ConnectionSettings extends BaseSettings {
  /** Data messages and pings per second before the connection is closed with 1008 (0: no limit). */
  maxMessageRate?: number;
  /** Counters shared by all connections of a server. */
  stats?: { messagesIn: number; messagesOut: number; dropped: number };
  /** Backpressure: send() returns false above highWaterMark; 'drain' at lowWaterMark. */
  flow?: FlowSettings;
}

export const CONNECTION_OPTIONS = ['maxMessageSize', 'maxFrameSize', 'closeTimeout', 'autoPong'] as const;

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

export const HEARTBEAT_OPTIONS = ['heartbeatInterval', 'heartbeatTimeout'] as const;

/** Heartbeat options servers and clients share (only their default interval differs; 0 is off). */
export function checkHeartbeatOptions(
  what: string,
  options: { heartbeatInterval?: number; heartbeatTimeout?: number },
  defaultInterval: number,
): { interval: number; timeout: number } {
  return {
    interval: checkMilliseconds(what, 'heartbeatInterval', options.heartbeatInterval, 0) ?? defaultInterval,
    timeout:
      checkMilliseconds(what, 'heartbeatTimeout', options.heartbeatTimeout) ?? DEFAULTS.heartbeatTimeout,
  };
}
