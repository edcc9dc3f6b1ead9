/**
 * A session's credential: the authenticate hook asked on connect and on
 * `refresh` (the same user is required), and the expiry timer that closes the
 * connection with 4004 when a credential runs out without a refresh.
 */

import type { IncomingMessage } from 'node:http';
import { type HubContext, HubError, type Identity } from './context.js';
import { MAX_TIMER_MS } from './options.js';
import { ErrorCodes } from './protocol.js';
import { authenticate } from './session-parts.js';

export class SessionCredential {
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiresAt: number | undefined;

  /**
   * `preset` (in-process connections) skips the authenticate hook. `onExpired`
   * runs when the credential expired and was not refreshed in time.
   */
  constructor(
    private readonly ctx: HubContext,
    private request: IncomingMessage | undefined,
    private readonly clientAddress: string | undefined,
    private readonly preset: Identity | undefined,
    private readonly onExpired: () => void,
  ) {}

  /** The identity for `connect`; the upgrade request is let go of afterwards. */
  async connect(token: string | undefined, data: unknown, name: string | undefined): Promise<Identity> {
    const identity = await this.ask(token, data, name, false);
    this.request = undefined; // not kept for the connection's lifetime
    return identity;
  }

  /** `refresh`: a new token for the same user; re-arms the expiry. */
  async refresh(token: string, user: string): Promise<{ expiresIn?: number }> {
    if (!this.ctx.hooks.authenticate) return {};
    const identity = await this.ask(token, undefined, undefined, true);
    if (identity.user !== user) {
      throw new HubError(ErrorCodes.unauthorized, 'refresh must keep the same user');
    }
    this.arm(identity.expiresAt);
    const expiresIn = this.expiresIn();
    return expiresIn === undefined ? {} : { expiresIn };
  }

  /** ms until the credential expires, if it does. */
  expiresIn(): number | undefined {
    return this.expiresAt === undefined ? undefined : Math.max(0, this.expiresAt - Date.now());
  }

  arm(expiresAt: number | undefined): void {
    clearTimeout(this.expiryTimer);
    this.expiresAt = expiresAt;
    if (expiresAt === undefined) return;
    // setTimeout fires at once beyond 2^31-1 ms: long credentials are re-armed in steps.
    const wait = Math.min(Math.max(0, expiresAt - Date.now()), MAX_TIMER_MS);
    this.expiryTimer = setTimeout(() => {
      if (this.expiresAt !== undefined && this.expiresAt > Date.now()) return this.arm(this.expiresAt);
      this.onExpired();
    }, wait);
  }

  release(): void {
    this.request = undefined;
    clearTimeout(this.expiryTimer);
  }

  private ask(token: string | undefined, data: unknown, name: string | undefined, refresh: boolean) {
    if (this.preset) return Promise.resolve(this.preset);
    const context = { token, data, name, request: this.request, clientAddress: this.clientAddress, refresh };
    return authenticate(this.ctx, context);
  }
}
