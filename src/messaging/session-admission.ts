/**
 * What one connection may ask of the hub, and how fast: commands per second,
 * commands waiting for replies, malformed commands before it is closed, and
 * idempotency keys per window. Per connection, so one client's abuse never
 * costs another's service (docs/protocol.md, Limits and defaults).
 */

import type { HubSettings } from './context.js';
import { type ErrorBody, ErrorCodes } from './protocol.js';
import { KeyBudget, RateLimit } from './session-parts.js';

export class Admission {
  private readonly rateLimit: RateLimit;
  /** Keyed publishes per idempotency window (session-commands.ts asks it). */
  readonly keyBudget: KeyBudget;
  private inFlight = 0;
  private badCommands = 0;

  constructor(private readonly settings: HubSettings) {
    this.rateLimit = new RateLimit(settings.commandRate, settings.commandBurst);
    this.keyBudget = new KeyBudget(settings.maxIdempotencyKeys, settings.idempotencyTtl);
  }

  /** Why a well-formed command is refused now (temporary: too-many-requests), or undefined to run it. */
  refusal(): ErrorBody | undefined {
    if (!this.rateLimit.take()) {
      return {
        code: ErrorCodes.tooManyRequests,
        message: `more than ${this.settings.commandRate} commands per second`,
        temporary: true,
      };
    }
    if (this.inFlight >= this.settings.maxCommandsInFlight) {
      return {
        code: ErrorCodes.tooManyRequests,
        message: `more than ${this.settings.maxCommandsInFlight} commands waiting for replies`,
        temporary: true,
      };
    }
    return undefined;
  }

  /** A command started / got its reply. */
  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
  }

  /** Count a malformed or unknown command: the reason to close (4501) once there were too many. */
  bad(): string | undefined {
    if (++this.badCommands < this.settings.maxBadCommands) return undefined;
    return `${this.badCommands} malformed or unknown commands`;
  }
}
