/**
 * Parses one client frame into a Command, trusting nothing: every field is
 * checked, and every refusal says which field and what is allowed. A frame
 * whose id cannot be read is answered with id 0 (docs/protocol.md, Frames).
 */

import { describe } from './options.js';
import { type Command, type ErrorBody, ErrorCodes, type StreamPosition } from './protocol.js';

export type ParsedCommand =
  | { ok: true; command: Command }
  | { ok: false; id: number; error: ErrorBody }
  /** A Pong frame `{"pong":true}` (the answer to a ping push): no reply. */
  | { ok: 'pong' };

const COMMANDS = new Set([
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'history',
  'presence',
  'presence_stats',
  'rpc',
  'refresh',
]);

export const MAX_KEY_LENGTH = 64;
const MAX_EPOCH_LENGTH = 64;
const MAX_METHOD_LENGTH = 128;
const MAX_NAME_LENGTH = 128;
const MAX_TOKEN_LENGTH = 16 * 1024;
/**
 * Objects and arrays nested in one frame. JSON.parse takes any depth, but
 * JSON.stringify recurses: a 64 KiB frame of `[[[[...` would later overflow the
 * stack wherever it is encoded (reply, pub push, history, Redis) — refused here.
 */
export const MAX_NESTING = 100;

/** Whether `value` nests objects/arrays more than `max` levels (iterative: no recursion to overflow). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

export function badRequest(message: string): ErrorBody {
  return { code: ErrorCodes.badRequest, message, temporary: false };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function channelOf(params: Record<string, unknown>): string {
  if (typeof params.channel !== 'string')
    fail(`params.channel must be a string; got ${describe(params.channel)}`);
  return params.channel;
}

function optionalString(
  params: Record<string, unknown>,
  name: string,
  max: number,
  min = 0,
): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    fail(`params.${name} must be a string of ${min} to ${max} characters; got ${describe(value)}`);
  }
  return value;
}

export function parsePosition(value: unknown, where: string): StreamPosition | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) fail(`${where} must be an object {epoch, offset}; got ${describe(value)}`);
  const { epoch, offset } = value;
  if (typeof epoch !== 'string' || epoch.length > MAX_EPOCH_LENGTH) {
    fail(`${where}.epoch must be a string of at most ${MAX_EPOCH_LENGTH} characters; got ${describe(epoch)}`);
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    fail(`${where}.offset must be an integer >= 0; got ${describe(offset)}`);
  }
  return { epoch, offset };
}

function parseParams(cmd: string, params: Record<string, unknown>): Command['params'] {
  switch (cmd) {
    case 'connect': {
      const token = optionalString(params, 'token', MAX_TOKEN_LENGTH);
      const name = optionalString(params, 'name', MAX_NAME_LENGTH);
      let subs: Record<string, { since?: StreamPosition }> | undefined;
      if (params.subs !== undefined) {
        if (!isObject(params.subs))
          fail(`params.subs must be an object channel -> {since}; got ${describe(params.subs)}`);
        subs = {};
        for (const [channel, sub] of Object.entries(params.subs)) {
          if (!isObject(sub))
            fail(`params.subs[${describe(channel)}] must be an object {since?}; got ${describe(sub)}`);
          const since = parsePosition(sub.since, `params.subs[${describe(channel)}].since`);
          subs[channel] = since ? { since } : {};
        }
      }
      return { token, data: params.data, name, subs };
    }
    case 'subscribe':
      return { channel: channelOf(params), since: parsePosition(params.since, 'params.since') };
    case 'unsubscribe':
    case 'presence':
    case 'presence_stats':
      return { channel: channelOf(params) };
    case 'publish': {
      const channel = channelOf(params);
      if (!('data' in params)) fail('params.data is required (any JSON value, null included)');
      const key = optionalString(params, 'key', MAX_KEY_LENGTH, 1);
      return { channel, data: params.data, key };
    }
    case 'history': {
      const channel = channelOf(params);
      const since = parsePosition(params.since, 'params.since');
      const { limit, reverse } = params;
      if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)) {
        fail(`params.limit must be an integer >= 0; got ${describe(limit)}`);
      }
      if (reverse !== undefined && typeof reverse !== 'boolean') {
        fail(`params.reverse must be true or false; got ${describe(reverse)}`);
      }
      return { channel, since, limit, reverse };
    }
    case 'rpc': {
      const method = optionalString(params, 'method', MAX_METHOD_LENGTH, 1);
      if (method === undefined) fail('params.method is required: a string of 1 to 128 characters');
      return { method, data: params.data };
    }
    default: {
      // refresh
      const token = optionalString(params, 'token', MAX_TOKEN_LENGTH);
      if (token === undefined) fail('params.token is required: a string');
      return { token };
    }
  }
}

export function parseCommand(text: string): ParsedCommand {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    return { ok: false, id: 0, error: badRequest(`not JSON: ${(error as Error).message}`) };
  }
  if (!isObject(frame))
    return { ok: false, id: 0, error: badRequest(`a command must be a JSON object; got ${describe(frame)}`) };
  const { id, cmd } = frame;
  if (frame.pong === true && id === undefined && cmd === undefined) return { ok: 'pong' };
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    return { ok: false, id: 0, error: badRequest(`id must be a positive integer; got ${describe(id)}`) };
  }
  if (nestsDeeperThan(frame, MAX_NESTING)) {
    return {
      ok: false,
      id,
      error: badRequest(`a command may nest objects and arrays at most ${MAX_NESTING} levels deep`),
    };
  }
  if (typeof cmd !== 'string')
    return { ok: false, id, error: badRequest(`cmd must be a string; got ${describe(cmd)}`) };
  if (!COMMANDS.has(cmd)) {
    return {
      ok: false,
      id,
      error: {
        code: ErrorCodes.unknownCommand,
        message: `unknown command ${describe(cmd.slice(0, 64))}; known: ${[...COMMANDS].join(', ')}`,
        temporary: false,
      },
    };
  }
  const params = frame.params ?? {};
  if (!isObject(params))
    return { ok: false, id, error: badRequest(`params must be an object; got ${describe(params)}`) };
  try {
    return { ok: true, command: { id, cmd, params: parseParams(cmd, params) } as Command };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, id, error: badRequest(error.message) };
    throw error;
  }
}
