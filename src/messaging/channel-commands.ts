/**
 * The channel commands that need no subscription: publish, history, presence,
 * presence_stats — shared by client sessions and the hub's server-side API.
 */

import { type ChannelContext, type HubContext, HubError } from './context.js';
import type { Namespace } from './namespaces.js';
import { resolveChannel } from './namespaces.js';
import {
  type ClientInfo,
  ErrorCodes,
  type HistoryParams,
  type HistoryResult,
  type PresenceResult,
  type PresenceStatsResult,
  type PublishResult,
} from './protocol.js';

export function namespaceOf(ctx: HubContext, channel: string): Namespace {
  const ns = resolveChannel(ctx.namespaces, channel);
  if (typeof ns === 'string') throw new HubError(ErrorCodes.badChannel, ns);
  return ns;
}

/** The permission to read a channel (subscribe, history, presence). */
export async function checkCanRead(
  ctx: HubContext,
  client: ClientInfo | undefined,
  channel: string,
  ns: Namespace,
) {
  const hook = ctx.hooks.canSubscribe;
  if (!hook || !client) return; // no hook, or the server itself
  const context: ChannelContext = { client, channel, namespace: ns.name };
  if (!(await hook(context))) {
    throw new HubError(ErrorCodes.permissionDenied, `may not subscribe to ${JSON.stringify(channel)}`);
  }
}

/**
 * Idempotency keys are scoped per user (a retry after a reconnect comes from a
 * new connection id but the same user) and kept apart from server-side keys.
 */
export function scopedKey(client: ClientInfo | undefined, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  return client ? `u${client.user.length}:${client.user}:${key}` : `s:${key}`;
}

export async function publish(
  ctx: HubContext,
  client: ClientInfo | undefined,
  channel: string,
  data: unknown,
  key: string | undefined,
): Promise<PublishResult> {
  const ns = namespaceOf(ctx, channel);
  if (client) {
    if (!ns.clientPublish) {
      throw new HubError(
        ErrorCodes.notAvailable,
        `clients may not publish in namespace ${JSON.stringify(ns.name)} (server option clientPublish)`,
      );
    }
    const hook = ctx.hooks.canPublish;
    if (hook && !(await hook({ client, channel, namespace: ns.name, data }))) {
      throw new HubError(ErrorCodes.permissionDenied, `may not publish to ${JSON.stringify(channel)}`);
    }
  }
  const outcome = await ctx.engine.publish({
    channel,
    data,
    info: client,
    history: ns.history,
    idempotencyKey: scopedKey(client, key),
    idempotencyTtlMs: ctx.settings.idempotencyTtl,
  });
  return { epoch: outcome.epoch, offset: outcome.offset };
}

export async function history(
  ctx: HubContext,
  client: ClientInfo | undefined,
  params: HistoryParams,
): Promise<HistoryResult> {
  const ns = namespaceOf(ctx, params.channel);
  if (ns.history.size === 0) {
    throw new HubError(ErrorCodes.notAvailable, `history is off in namespace ${JSON.stringify(ns.name)}`);
  }
  await checkCanRead(ctx, client, params.channel, ns);
  const limit = Math.min(params.limit ?? ctx.settings.historyLimit, ctx.settings.maxHistoryLimit);
  const page = await ctx.engine.history({
    channel: params.channel,
    since: params.since,
    limit,
    reverse: params.reverse,
  });
  return { publications: page.publications, epoch: page.top.epoch, offset: page.top.offset };
}

function presenceNamespace(ctx: HubContext, channel: string): Namespace {
  const ns = namespaceOf(ctx, channel);
  if (!ns.presence) {
    throw new HubError(ErrorCodes.notAvailable, `presence is off in namespace ${JSON.stringify(ns.name)}`);
  }
  return ns;
}

export async function presence(
  ctx: HubContext,
  client: ClientInfo | undefined,
  channel: string,
): Promise<PresenceResult> {
  const ns = presenceNamespace(ctx, channel);
  await checkCanRead(ctx, client, channel, ns);
  return { members: await ctx.engine.presence(channel) };
}

export async function presenceStats(
  ctx: HubContext,
  client: ClientInfo | undefined,
  channel: string,
): Promise<PresenceStatsResult> {
  const ns = presenceNamespace(ctx, channel);
  await checkCanRead(ctx, client, channel, ns);
  return ctx.engine.presenceStats(channel);
}
