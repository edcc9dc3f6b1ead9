import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { DEFAULTS } from './defaults.js';
import { PauseReason, pauseReading, resumeReading } from './read-gate.js';

/**
 * The for-await adapter: `for await (const { data, isBinary } of ws)`. When
 * the loop falls behind, reading from the socket pauses (TCP backpressure
 * reaches the peer) and resumes as the loop catches up. Ends when the
 * connection closes or the loop breaks.
 */

/** A message as yielded by `for await (const message of ws)`. */
export interface WebSocketMessage {
  data: string | Buffer;
  isBinary: boolean;
}

/** The WebSocket's 'message' and 'close' events. */
export type MessageEvents = Pick<EventEmitter, 'on' | 'off'>;

/**
 * `closed`: the connection is already over (the loop ends at once); `socket`:
 * the socket to pause while the loop is behind (null before it opens).
 */
export function iterateMessages(
  source: MessageEvents,
  closed: boolean,
  socket: () => Duplex | null,
): AsyncIterableIterator<WebSocketMessage> {
  const queue: WebSocketMessage[] = [];
  let waiting: ((result: IteratorResult<WebSocketMessage>) => void) | null = null;
  let finished = closed;
  let pausedSocket: Duplex | null = null;
  const resume = () => {
    if (pausedSocket) resumeReading(pausedSocket, PauseReason.Iterator);
    pausedSocket = null;
  };
  const onMessage = (data: string | Buffer, isBinary: boolean) => {
    if (waiting) {
      const deliver = waiting;
      waiting = null;
      deliver({ value: { data, isBinary }, done: false });
      return;
    }
    queue.push({ data, isBinary });
    const current = socket();
    if (!pausedSocket && queue.length >= DEFAULTS.iteratorPauseAt && current) {
      pauseReading(current, PauseReason.Iterator);
      pausedSocket = current;
    }
  };
  const stop = () => {
    finished = true;
    source.off('message', onMessage);
    source.off('close', stop);
    resume();
    waiting?.({ value: undefined, done: true });
    waiting = null;
  };
  source.on('message', onMessage);
  source.on('close', stop);
  const iterator: AsyncIterableIterator<WebSocketMessage> = {
    next: () => {
      const value = queue.shift();
      if (value) {
        if (pausedSocket && queue.length <= DEFAULTS.iteratorResumeAt) resume();
        return Promise.resolve({ value, done: false });
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return: () => {
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
