import type * as zlib from 'node:zlib';
import { DEFAULTS } from './defaults.js';

/**
 * What zlib streams share across connections: a pool of reset contexts and a
 * process-wide limit on concurrent jobs (each holds a window and working memory
 * in the thread pool), which keeps a burst on many connections from
 * fragmenting the heap. Streams enter the pool only from their owner (see
 * PerMessageDeflate), idle and healthy.
 */

/**
 * zlib contexts of connections without context takeover, reset and kept for the
 * next message of any connection (keyed by their parameters). Creating a context
 * per message (a ~256 KiB allocation and its initialisation) cost more than the
 * compression of a small message itself; the pool holds at most MAX_CONCURRENT
 * contexts per parameter set, since no more than that are ever in use at once.
 */
const pools = new Map<string, Array<zlib.DeflateRaw | zlib.InflateRaw>>();

export function fromPool<T extends zlib.DeflateRaw | zlib.InflateRaw>(key: string): T | undefined {
  return pools.get(key)?.pop() as T | undefined;
}

/** Only an idle, healthy stream may be pooled: reset() on a closed one is a fatal assertion in Node. */
export function toPool(key: string, stream: zlib.DeflateRaw | zlib.InflateRaw): void {
  let list = pools.get(key);
  if (!list) pools.set(key, (list = []));
  if (list.length >= MAX_CONCURRENT || !usable(stream)) {
    stream.close();
    return;
  }
  stream.reset();
  list.push(stream);
}

/**
 * Whether a stream can take another message. An inflater whose input held a
 * final block (BFINAL, what zlib's Z_FINISH produces) has ended its readable
 * side: Node refuses any later output from it ("stream.push() after EOF"), and
 * reset() does not undo that. `_readableState.ended` is set synchronously by
 * that end, unlike the public `readableEnded` (set when 'end' is emitted).
 */
export function usable(stream: zlib.DeflateRaw | zlib.InflateRaw): boolean {
  const readable = (stream as unknown as { _readableState?: { ended?: boolean } })._readableState;
  return !stream.destroyed && readable?.ended !== true;
}

const MAX_CONCURRENT = DEFAULTS.maxConcurrentZlib;
let running = 0;
const waiting: Array<() => void> = [];

export function schedule(job: (done: () => void) => void): void {
  const start = () => {
    running++;
    let released = false;
    job(() => {
      if (released) return; // a slot is given back once, whatever happens to the job
      released = true;
      running--;
      waiting.shift()?.();
    });
  };
  if (running < MAX_CONCURRENT) start();
  else waiting.push(start);
}
