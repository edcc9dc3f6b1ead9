/**
 * The commands of a connected session (everything but `connect`), each turned
 * into its reply's result. Channel commands live in channel-commands.ts and
 * session-channels.ts; this is the dispatch.
 */

import * as channelCommands from './channel-commands.js';
import { type HubContext, HubError } from './context.js';
import { type ClientInfo, type Command, ErrorCodes } from './protocol.js';
import type { SessionChannels } from './session-channels.js';
import type { SessionCredential } from './session-credential.js';
import type { KeyBudget } from './session-parts.js';

/** A reply's result, and what to do once the reply is written (start live delivery). */
export type Outcome = { result: unknown; after?: () => void };

export interface CommandTarget {
  readonly ctx: HubContext;
  readonly client: ClientInfo;
  readonly channels: SessionChannels;
  readonly credential: SessionCredential;
  readonly keyBudget: KeyBudget;
}

export async function executeCommand(target: CommandTarget, command: Command): Promise<Outcome> {
  const { ctx, client } = target;
  switch (command.cmd) {
    case 'subscribe': {
      const { result, subscription } = await target.channels.subscribe(
        command.params.channel,
        command.params.since,
      );
      return { result, after: () => subscription.activate() };
    }
    case 'unsubscribe':
      target.channels.unsubscribe(command.params.channel);
      return { result: {} };
    case 'publish': {
      const { channel, data, key } = command.params;
      if (key !== undefined && !target.keyBudget.take()) {
        const { maxIdempotencyKeys, idempotencyTtl } = ctx.settings;
        throw new HubError(
          ErrorCodes.tooManyRequests,
          `more than ${maxIdempotencyKeys} publishes with a key within ${idempotencyTtl / 1000} s (the idempotency window)`,
          true,
        );
      }
      return { result: await channelCommands.publish(ctx, client, channel, data, key) };
    }
    case 'history':
      return { result: await channelCommands.history(ctx, client, command.params) };
    case 'presence':
      return { result: await channelCommands.presence(ctx, client, command.params.channel) };
    case 'presence_stats':
      return { result: await channelCommands.presenceStats(ctx, client, command.params.channel) };
    case 'rpc': {
      const handler = ctx.hooks.rpc.get(command.params.method);
      if (!handler) {
        throw new HubError(
          ErrorCodes.methodNotFound,
          `no rpc method ${JSON.stringify(command.params.method)}`,
        );
      }
      const data = await handler({ client, data: command.params.data });
      return { result: data === undefined ? {} : { data } };
    }
    case 'refresh':
      return { result: await target.credential.refresh(command.params.token, client.user) };
    default:
      throw new HubError(ErrorCodes.alreadyConnected, 'this connection is already connected');
  }
}
