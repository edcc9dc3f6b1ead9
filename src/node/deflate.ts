import * as zlib from 'node:zlib';
import type { Role } from '../protocol/connection.js';
import { CloseCode } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import type { DeflateConfig, DeflateParams } from '../protocol/permessage-deflate.js';
import { DEFAULTS, MAX_BUFFER } from './defaults.js';
import { checkBoolean, checkInteger, checkKnownKeys, describe } from './options.js';
import { fromPool, schedule, toPool, usable } from './zlib-pool.js';

/**
 * permessage-deflate's data path (RFC 7692 section 7.2) over node:zlib.
 *
 * Memory is the point here. zlib contexts are created on first use, and dropped
 * after every message when context takeover is off in that direction. Inflation
 * counts output as zlib produces it and stops at the message size limit, so a
 * small "bomb" never allocates more than the limit. A process-wide queue caps
 * concurrent zlib jobs (each holds a window and working memory in the thread
 * pool), which keeps a burst on many connections from fragmenting the heap.
 */

export interface DeflateOptions extends DeflateConfig {
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
  /** zlib compression level 0-9 (default 1: fastest; most of the gain, little CPU). */
  level?: number;
  /** zlib memLevel 1-9 (default 8). Lower saves memory per context at some ratio cost. */
  memLevel?: number;
}

const DEFLATE_OPTIONS = [
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
  'threshold',
  'level',
  'memLevel',
] as const;

/** Validate the perMessageDeflate option: false, true or an options object. */
export function checkDeflateOption(what: string, value: unknown): DeflateOptions | null {
  if (value === undefined || value === false) return null;
  if (value === true) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `${what}: option "perMessageDeflate" must be true, false or an object; got ${describe(value)}`,
    );
  }
  const o = value as DeflateOptions;
  const name = `${what} perMessageDeflate`;
  checkKnownKeys(name, o, DEFLATE_OPTIONS);
  checkBoolean(name, 'serverNoContextTakeover', o.serverNoContextTakeover);
  checkBoolean(name, 'clientNoContextTakeover', o.clientNoContextTakeover);
  checkInteger(name, 'serverMaxWindowBits', o.serverMaxWindowBits, 8, 15);
  checkInteger(name, 'clientMaxWindowBits', o.clientMaxWindowBits, 8, 15);
  checkInteger(name, 'threshold', o.threshold, 0, MAX_BUFFER, 'bytes');
  checkInteger(name, 'level', o.level, 0, 9);
  checkInteger(name, 'memLevel', o.memLevel, 1, 9);
  return o;
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

interface Turn {
  busy: boolean;
  queue: Array<() => void>;
}

/** The connection closed (close()) before or while a job ran: its result is of no use. */
export class DeflateClosedError extends Error {
  constructor() {
    super('the connection closed during compression');
    this.name = 'DeflateClosedError';
  }
}

/**
 * Lifetimes. Each zlib stream has one owner at a time: the PerMessageDeflate
 * while idle, the running job while one runs. Only the owner may close, reset
 * or pool it. close() (the connection is over) frees idle streams at once and
 * marks busy ones; their job frees them when zlib calls back. So no stream is
 * ever reset or pooled after it was closed, a job that ends after its
 * connection died finds nothing to touch, and its callback still runs once
 * (with DeflateClosedError), so the caller's queue moves on.
 */
export class PerMessageDeflate {
  readonly threshold: number;
  /** zlib cannot deflate with an 8-bit window; RFC 7692 lets us send uncompressed instead. */
  readonly canCompress: boolean;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  /** Jobs of each direction, one at a time; while one runs or waits, it owns that stream. */
  private inflateTurn: Turn | null = null;
  private deflateTurn: Turn | null = null;
  private closed = false;
  private readonly inflateBits: number;
  private readonly deflateBits: number;
  private readonly resetInflate: boolean;
  private readonly resetDeflate: boolean;
  /** Pool keys: contexts are shared only between identical parameters. */
  private readonly inflateKey: string;
  private readonly deflateKey: string;

  constructor(
    readonly params: DeflateParams,
    role: Role,
    private readonly options: DeflateOptions,
    private readonly maxMessageSize: number,
  ) {
    const peerBits = role === 'server' ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    const ownBits = role === 'server' ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    // zlib peers that agreed to 8 really use 9; a larger inflate window decodes both.
    this.inflateBits = Math.max(peerBits, 9);
    this.deflateBits = ownBits;
    this.canCompress = ownBits > 8;
    this.resetInflate = role === 'server' ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.resetDeflate = role === 'server' ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.threshold = options.threshold ?? DEFAULTS.deflateThreshold;
    this.inflateKey = `i${this.inflateBits}`;
    this.deflateKey = `d${this.deflateBits}:${options.level ?? DEFAULTS.deflateLevel}:${options.memLevel ?? DEFAULTS.deflateMemLevel}`;
  }

  /** Inflate one message; fails with 1009 past the size limit, 1007 on corrupt data. */
  inflate(
    data: Buffer,
    callback: (error: ProtocolError | DeflateClosedError | null, result?: Buffer) => void,
  ): void {
    this.inTurn(
      'inflate',
      (done) => {
        const inflater = this.takeInflater();
        const chunks: Buffer[] = [];
        let total = 0;
        let finished = false;
        const finish = (error: ProtocolError | null, result?: Buffer) => {
          if (finished) return;
          finished = true;
          inflater.off('data', onData);
          inflater.off('error', onError);
          this.releaseInflater(inflater, error === null);
          done();
          if (this.closed) callback(new DeflateClosedError());
          else callback(error, result);
        };
        const onData = (chunk: Buffer) => {
          if (this.closed) return; // nobody will read it: keep nothing
          total += chunk.length;
          if (total > this.maxMessageSize) {
            return finish(
              new ProtocolError(
                CloseCode.MessageTooBig,
                `message inflates to more than ${this.maxMessageSize} bytes`,
              ),
            );
          }
          chunks.push(chunk);
        };
        const onError = (error: Error) =>
          finish(new ProtocolError(CloseCode.InvalidPayload, `invalid compressed data: ${error.message}`));
        const complete = () => finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total));
        inflater.on('data', onData);
        inflater.on('error', onError);
        inflater.write(data, (error) => {
          if (finished || error) return; // 'error' reports it
          // RFC 7692 section 7.2.3.4: the message may end with a final (BFINAL)
          // block; zlib then ends the stream, and the 00 00 ff ff tail (section
          // 7.2.2) must not be written after that end.
          if (!usable(inflater)) return complete();
          inflater.write(TAIL);
          inflater.flush((flushError?: Error | null) => {
            if (!flushError) complete();
          });
        });
      },
      callback,
    );
  }

  /** Deflate one message; the callback gets the payload without the trailing 00 00 ff ff. */
  deflate(data: Buffer, callback: (error: Error | null, result?: Buffer) => void): void {
    this.inTurn(
      'deflate',
      (done) => {
        const deflater = this.takeDeflater();
        const chunks: Buffer[] = [];
        let total = 0;
        let finished = false;
        const finish = (error: Error | null) => {
          if (finished) return;
          finished = true;
          deflater.off('data', onData);
          deflater.off('error', finish);
          this.releaseDeflater(deflater, error === null);
          done();
          if (this.closed) return callback(new DeflateClosedError());
          if (error) return callback(error);
          let out = Buffer.concat(chunks, total);
          if (out.length >= 4 && out.subarray(out.length - 4).equals(TAIL))
            out = out.subarray(0, out.length - 4);
          callback(null, out);
        };
        const onData = (chunk: Buffer) => {
          chunks.push(chunk);
          total += chunk.length;
        };
        deflater.on('data', onData);
        deflater.on('error', finish);
        deflater.write(data);
        deflater.flush(zlib.constants.Z_SYNC_FLUSH, (error?: Error | null) => finish(error ?? null));
      },
      callback,
    );
  }

  /**
   * Run jobs of one direction one at a time, in order (a stream serves one
   * message at a time), each within the process-wide concurrency limit. While
   * a job waits or runs, it owns that direction's stream.
   */
  private inTurn(
    direction: 'inflate' | 'deflate',
    job: (done: () => void) => void,
    callback: (error: DeflateClosedError) => void,
  ): void {
    const turn = (this[direction === 'inflate' ? 'inflateTurn' : 'deflateTurn'] ??= {
      busy: false,
      queue: [],
    });
    const start = () => {
      turn.busy = true;
      schedule((release) => {
        const done = () => {
          release();
          turn.busy = false;
          turn.queue.shift()?.();
        };
        if (!this.closed) return job(done);
        // Closed while this job waited: the turn owns the idle stream, so frees it.
        if (direction === 'inflate') this.releaseInflater(this.inflater, false);
        else this.releaseDeflater(this.deflater, false);
        done();
        callback(new DeflateClosedError());
      });
    };
    if (turn.busy) turn.queue.push(start);
    else start();
  }

  /** The connection is over: free idle contexts now, busy ones when their job ends. */
  close(): void {
    this.closed = true;
    if (!this.inflateTurn?.busy) this.releaseInflater(this.inflater, false);
    if (!this.deflateTurn?.busy) this.releaseDeflater(this.deflater, false);
  }

  private takeInflater(): zlib.InflateRaw {
    return (this.inflater ??=
      (this.resetInflate ? fromPool<zlib.InflateRaw>(this.inflateKey) : undefined) ??
      quiet(zlib.createInflateRaw({ windowBits: this.inflateBits })));
  }

  private takeDeflater(): zlib.DeflateRaw {
    return (this.deflater ??=
      (this.resetDeflate ? fromPool<zlib.DeflateRaw>(this.deflateKey) : undefined) ??
      quiet(
        zlib.createDeflateRaw({
          windowBits: this.deflateBits,
          level: this.options.level ?? DEFAULTS.deflateLevel,
          memLevel: this.options.memLevel ?? DEFAULTS.deflateMemLevel,
        }),
      ));
  }

  /**
   * Keep, pool or close the inflater after a job. A stream that failed, ended
   * (a BFINAL block: the next message starts a fresh context, as the sender's
   * did) or belongs to a closed connection is closed.
   */
  private releaseInflater(stream: zlib.InflateRaw | null, ok: boolean): void {
    if (!stream) return;
    if (ok && !this.closed && usable(stream)) {
      if (!this.resetInflate) return; // context takeover: keep it
      toPool(this.inflateKey, stream);
    } else {
      stream.close();
    }
    this.inflater = null;
  }

  private releaseDeflater(stream: zlib.DeflateRaw | null, ok: boolean): void {
    if (!stream) return;
    if (ok && !this.closed && usable(stream)) {
      if (!this.resetDeflate) return;
      toPool(this.deflateKey, stream);
    } else {
      stream.close();
    }
    this.deflater = null;
  }
}

/** A zlib stream closed mid-job may still emit 'error'; it must never be unhandled. */
function quiet<T extends zlib.InflateRaw | zlib.DeflateRaw>(stream: T): T {
  stream.on('error', () => {});
  return stream;
}
