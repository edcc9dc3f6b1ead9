/**
 * Pieces of a session that need none of its state: the command rate limit,
 * the authenticate hook's answer checked, error mapping, and the pub frame
 * encoded and framed once per publication.
 */

import { PreparedMessage } from '../index.js';
import { type ConnectContext, type HubContext, HubError, type Identity, UNAVAILABLE } from './context.js';
import { EngineUnavailableError } from './engine.js';
import { CloseCodes, type ErrorBody, ErrorCodes, type Publication } from './protocol.js';

/** Token bucket: `rate` commands per second on average, `burst` at once (rate 0 = no limit). */
export class RateLimit {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    if (this.rate === 0) return true;
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/**
 * Idempotency keys one connection may have the engine remember: the engine
 * keeps every key for the idempotency window, so without a cap one client
 * publishing at the command rate fills memory with keys. Counted in two
 * consecutive windows of that length: a key is remembered for at most one
 * window, so current + previous covers every key still held.
 */
export class KeyBudget {
  private windowStart = Date.now();
  private current = 0;
  private previous = 0;

  constructor(
    private readonly max: number,
    private readonly window: number,
  ) {}

  take(): boolean {
    const now = Date.now();
    const elapsed = now - this.windowStart;
    if (elapsed >= this.window) {
      this.previous = elapsed >= 2 * this.window ? 0 : this.current;
      this.current = 0;
      this.windowStart = now - (elapsed % this.window);
    }
    if (this.current + this.previous >= this.max) return false;
    this.current++;
    return true;
  }
}

/** Ask the authenticate hook (none: everyone is anonymous) and check what it answered. */
export async function authenticate(ctx: HubContext, context: ConnectContext): Promise<Identity> {
  const hook = ctx.hooks.authenticate;
  if (!hook) return { user: '' };
  const identity = await hook(context);
  if (!identity) throw new HubError(ErrorCodes.unauthorized, 'authentication refused');
  if (typeof identity !== 'object' || typeof identity.user !== 'string') {
    throw new TypeError('authenticate must return {user: string, info?, expiresAt?, data?} or a falsy value');
  }
  if (identity.expiresAt !== undefined && identity.expiresAt <= Date.now()) {
    throw new HubError(ErrorCodes.tokenExpired, 'the credential has expired');
  }
  return identity;
}

/** What a client is told about a failure: its own code, or `internal` (reported on the hub). */
export function toErrorBody(ctx: HubContext, error: unknown): ErrorBody {
  if (error instanceof HubError) return error.body;
  if (error instanceof EngineUnavailableError) return UNAVAILABLE;
  ctx.reportError(error);
  return { code: ErrorCodes.internal, message: 'internal server error', temporary: true };
}

/** The close code after a refused `connect`: unauthorized and expired credentials are final or renewable. */
export function connectFailureCode(error: ErrorBody): number {
  if (error.code === ErrorCodes.unauthorized) return CloseCodes.unauthorized;
  if (error.code === ErrorCodes.tokenExpired) return CloseCodes.tokenExpired;
  return CloseCodes.engineUnavailable;
}

const deeplyFrozen = new WeakSet<object>();

/**
 * Freeze a value and everything in it (once: remembered), so that in-process
 * consumers handed the shared object (local connections) cannot change what
 * other subscribers and the history see. Iterative: no recursion to overflow.
 */
export function frozen<T>(value: T): T {
  if (typeof value !== 'object' || value === null || deeplyFrozen.has(value)) return value;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (deeplyFrozen.has(node)) continue;
    deeplyFrozen.add(node);
    Object.freeze(node);
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return value;
}

interface EncodedPub {
  channel: string;
  pub: Publication;
  json: Buffer;
  /** The same bytes framed once, for every WebSocket subscriber (made on first use). */
  prepared?: PreparedMessage;
}

/**
 * Recently encoded publications, so that a live fan-out encodes each once for
 * all its subscribers, and a recovery page sized in bytes and then delivered,
 * or recovered by many reconnecting clients at once, is not encoded again.
 * Bounded (oldest out first): a WeakMap keyed by publication kept the bytes
 * alive as long as the channel's history held the publication, and 1,000
 * channels x 1,000 publications of history is a million encoded copies for
 * the garbage collector to walk.
 */
const RECENT_ENCODED = 1024;
const recent = new Map<Publication, EncodedPub>();
let last: EncodedPub | undefined;

function encoded(channel: string, pub: Publication): EncodedPub {
  // A fan-out asks for the same publication once per subscriber, in a row.
  if (last?.pub === pub && last.channel === channel) return last;
  let entry = recent.get(pub);
  if (entry?.channel !== channel) {
    entry = { channel, pub, json: Buffer.from(JSON.stringify({ push: 'pub', channel, pub })) };
    recent.set(pub, entry);
    if (recent.size > RECENT_ENCODED) recent.delete(recent.keys().next().value!);
  }
  last = entry;
  return entry;
}

/** A pub push is the same bytes for every subscriber of the channel: encode it once. */
export function encodePub(channel: string, pub: Publication): Buffer {
  return encoded(channel, pub).json;
}

/** ... and frame it once: one JSON serialization and one framing per publication, however many subscribers. */
export function preparePub(channel: string, pub: Publication): PreparedMessage {
  const entry = encoded(channel, pub);
  entry.prepared ??= new PreparedMessage(entry.json, { binary: false });
  return entry.prepared;
}
