import type { ErrorBody, Push } from '../protocol.js';

/**
 * One frame from the server, checked before the client acts on it: a server
 * bug or a proxy mangling frames must produce an 'error' event, never a
 * TypeError thrown inside a WebSocket handler with the client's state half
 * updated.
 */
export type ServerFrame =
  | { kind: 'reply'; id: number; result: unknown; error: ErrorBody | undefined }
  | { kind: 'push'; push: Push }
  /** A push kind this client does not know (a newer server): ignored. */
  | { kind: 'unknown' }
  | { kind: 'invalid'; problem: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function isPublication(value: unknown): boolean {
  return (
    isObject(value) &&
    Number.isSafeInteger(value.offset) &&
    (value.offset as number) > 0 &&
    typeof value.epoch === 'string'
  );
}

function isErrorBody(value: unknown): value is ErrorBody {
  return isObject(value) && typeof value.code === 'string' && typeof value.message === 'string';
}

function pushProblem(frame: Record<string, unknown>): string | undefined {
  switch (frame.push) {
    case 'pub':
      return typeof frame.channel === 'string' && isPublication(frame.pub) ? undefined : 'malformed pub push';
    case 'join':
    case 'leave':
      return typeof frame.channel === 'string' && isObject(frame.info)
        ? undefined
        : `malformed ${frame.push} push`;
    case 'unsubscribed':
      return typeof frame.channel === 'string' && typeof frame.code === 'number'
        ? undefined
        : 'malformed unsubscribed push';
    case 'disconnect':
      return typeof frame.code === 'number' && typeof frame.reconnect === 'boolean'
        ? undefined
        : 'malformed disconnect push';
    default:
      return undefined;
  }
}

const KNOWN_PUSHES = new Set(['pub', 'join', 'leave', 'unsubscribed', 'disconnect', 'message', 'ping']);

export function parseServerFrame(data: unknown): ServerFrame {
  if (typeof data !== 'string') return { kind: 'invalid', problem: 'the server sent a binary frame' };
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch {
    return { kind: 'invalid', problem: `the server sent a frame that is not JSON: ${data.slice(0, 80)}` };
  }
  if (!isObject(frame))
    return { kind: 'invalid', problem: 'the server sent a frame that is not a JSON object' };
  if (frame.id !== undefined) {
    if (!Number.isSafeInteger(frame.id)) return { kind: 'invalid', problem: 'reply with an invalid id' };
    if (frame.error !== undefined && !isErrorBody(frame.error)) {
      return { kind: 'invalid', problem: `reply ${frame.id} has a malformed error` };
    }
    return { kind: 'reply', id: frame.id as number, result: frame.result, error: frame.error as ErrorBody };
  }
  if (typeof frame.push !== 'string') return { kind: 'invalid', problem: 'frame with neither id nor push' };
  if (!KNOWN_PUSHES.has(frame.push)) return { kind: 'unknown' };
  const problem = pushProblem(frame);
  if (problem) return { kind: 'invalid', problem };
  if (frame.push === 'disconnect' && typeof frame.reason !== 'string') frame.reason = '';
  return { kind: 'push', push: frame as unknown as Push };
}
