import * as zlib from 'node:zlib';
import type { Role } from '../protocol/connection.js';
import { CloseCode } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import type { DeflateConfig, DeflateParams } from '../protocol/permessage-deflate.js';
import { checkBoolean, checkInteger, checkKnownKeys, describe } from './options.js';

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
  checkInteger(name, 'threshold', o.threshold, 0, 2 ** 32, 'bytes');
  checkInteger(name, 'level', o.level, 0, 9);
  checkInteger(name, 'memLevel', o.memLevel, 1, 9);
  return o;
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * zlib contexts of connections without context takeover, reset and kept for the
 * next message of any connection (keyed by their parameters). Creating a context
 * per message (a ~256 KiB allocation and its initialisation) cost more than the
 * compression of a small message itself; the pool holds at most MAX_CONCURRENT
 * contexts per parameter set, since no more than that are ever in use at once.
 */
const pools = new Map<string, Array<zlib.DeflateRaw | zlib.InflateRaw>>();

function fromPool<T extends zlib.DeflateRaw | zlib.InflateRaw>(key: string): T | undefined {
  return pools.get(key)?.pop() as T | undefined;
}

function toPool(key: string, stream: zlib.DeflateRaw | zlib.InflateRaw): void {
  let list = pools.get(key);
  if (!list) pools.set(key, (list = []));
  if (list.length >= MAX_CONCURRENT) {
    stream.close();
    return;
  }
  stream.reset();
  list.push(stream);
}
const MAX_CONCURRENT = 10;
let running = 0;
const waiting: Array<() => void> = [];

function schedule(job: (done: () => void) => void): void {
  const start = () => {
    running++;
    job(() => {
      running--;
      waiting.shift()?.();
    });
  };
  if (running < MAX_CONCURRENT) start();
  else waiting.push(start);
}

export class PerMessageDeflate {
  readonly threshold: number;
  /** zlib cannot deflate with an 8-bit window; RFC 7692 lets us send uncompressed instead. */
  readonly canCompress: boolean;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
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
    this.threshold = options.threshold ?? 1024;
    this.inflateKey = `i${this.inflateBits}`;
    this.deflateKey = `d${this.deflateBits}:${options.level ?? 1}:${options.memLevel ?? 8}`;
  }

  /** Inflate one message; fails with 1009 past the size limit, 1007 on corrupt data. */
  inflate(data: Buffer, callback: (error: ProtocolError | null, result?: Buffer) => void): void {
    schedule((done) => {
      const inflater = (this.inflater ??=
        (this.resetInflate ? fromPool<zlib.InflateRaw>(this.inflateKey) : undefined) ??
        quiet(zlib.createInflateRaw({ windowBits: this.inflateBits })));
      const chunks: Buffer[] = [];
      let total = 0;
      let finished = false;
      const finish = (error: ProtocolError | null, result?: Buffer) => {
        if (finished) return;
        finished = true;
        inflater.off('data', onData);
        inflater.off('error', onError);
        if (error) this.dropInflater();
        else if (this.resetInflate) {
          toPool(this.inflateKey, inflater);
          this.inflater = null;
        }
        done();
        callback(error, result);
      };
      const onData = (chunk: Buffer) => {
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
      inflater.on('data', onData);
      inflater.on('error', onError);
      inflater.write(data);
      inflater.write(TAIL);
      inflater.flush(() => finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total)));
    });
  }

  /** Deflate one message; the callback gets the payload without the trailing 00 00 ff ff. */
  deflate(data: Buffer, callback: (error: Error | null, result?: Buffer) => void): void {
    schedule((done) => {
      const deflater = (this.deflater ??=
        (this.resetDeflate ? fromPool<zlib.DeflateRaw>(this.deflateKey) : undefined) ??
        quiet(
          zlib.createDeflateRaw({
            windowBits: this.deflateBits,
            level: this.options.level ?? 1,
            memLevel: this.options.memLevel ?? 8,
          }),
        ));
      const chunks: Buffer[] = [];
      let total = 0;
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        total += chunk.length;
      };
      const onError = (error: Error) => {
        deflater.off('data', onData);
        this.dropDeflater();
        done();
        callback(error);
      };
      deflater.on('data', onData);
      deflater.once('error', onError);
      deflater.write(data);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        deflater.off('data', onData);
        deflater.off('error', onError);
        let out = Buffer.concat(chunks, total);
        if (out.length >= 4 && out.subarray(out.length - 4).equals(TAIL))
          out = out.subarray(0, out.length - 4);
        if (this.resetDeflate) {
          toPool(this.deflateKey, deflater);
          this.deflater = null;
        }
        done();
        callback(null, out);
      });
    });
  }

  /** Free both zlib contexts (the connection is over). */
  close(): void {
    this.dropInflater();
    this.dropDeflater();
  }

  private dropInflater(): void {
    this.inflater?.close();
    this.inflater = null;
  }

  private dropDeflater(): void {
    this.deflater?.close();
    this.deflater = null;
  }
}

/** A zlib stream closed mid-job may still emit 'error'; it must never be unhandled. */
function quiet<T extends zlib.InflateRaw | zlib.DeflateRaw>(stream: T): T {
  stream.on('error', () => {});
  return stream;
}
