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

interface EncodedPub {
  json: Buffer;
  /** The same bytes framed once, for every WebSocket subscriber (made on first use). */
  prepared?: PreparedMessage;
}

const encodedPubs = new WeakMap<Publication, EncodedPub>();

function encoded(channel: string, pub: Publication): EncodedPub {
  let entry = encodedPubs.get(pub);
  if (!entry) {
    entry = { json: Buffer.from(JSON.stringify({ push: 'pub', channel, pub })) };
    encodedPubs.set(pub, entry);
  }
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
