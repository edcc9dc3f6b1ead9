/**
 * Channel names and namespaces. A channel `ns:rest` belongs to namespace `ns`
 * (the text before the first colon); a name without a colon belongs to the
 * default namespace (''). Each namespace has its own options.
 */

import type { HistoryOptions } from './engine.js';
import { checkBoolean, checkInteger, checkKnownKeys, checkMs, checkObject, describe } from './options.js';

export interface NamespaceOptions {
  /** Publications kept per channel for history and recovery (default 100; 0 = none). */
  historySize?: number;
  /** How long publications are kept, ms (default 300000 = 5 min). */
  historyTtl?: number;
  /** Keep a member list (presence) per channel (default false). */
  presence?: boolean;
  /** Send join/leave pushes to subscribers (default false). */
  joinLeave?: boolean;
  /** Clients may publish (default false: only the server publishes; canPublish may still refuse). */
  clientPublish?: boolean;
}

export interface Namespace {
  name: string;
  history: HistoryOptions;
  presence: boolean;
  joinLeave: boolean;
  clientPublish: boolean;
}

const NAMESPACE_OPTIONS = ['historySize', 'historyTtl', 'presence', 'joinLeave', 'clientPublish'] as const;
export const MAX_CHANNEL_LENGTH = 255;
const NAMESPACE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
// Control characters and whitespace are refused: they make names ambiguous in logs and URLs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses
const FORBIDDEN = /[\u0000-\u001f\u007f\s]/u;

export function checkNamespaces(what: string, value: unknown): Map<string, Namespace> {
  const given = checkObject(what, 'namespaces', value) ?? {};
  const out = new Map<string, Namespace>();
  for (const [name, options] of Object.entries(given)) {
    if (name !== '' && !NAMESPACE_NAME.test(name)) {
      throw new TypeError(
        `${what}: namespace name ${describe(name)} must be '' (the default namespace) or 1-64 of A-Z a-z 0-9 _ . -`,
      );
    }
    out.set(name, checkNamespace(`${what}: namespace ${describe(name)}`, options));
  }
  if (!out.has('')) out.set('', checkNamespace(`${what}: default namespace`, {}));
  for (const [name, ns] of out) ns.name = name;
  return out;
}

function checkNamespace(what: string, value: unknown): Namespace {
  const options = checkObject(what, 'options', value) ?? {};
  checkKnownKeys(what, options, NAMESPACE_OPTIONS);
  return {
    name: '',
    history: {
      size: checkInteger(what, 'historySize', options.historySize, 0, 1_000_000) ?? 100,
      ttlMs: checkMs(what, 'historyTtl', options.historyTtl) ?? 300_000,
    },
    presence: checkBoolean(what, 'presence', options.presence) ?? false,
    joinLeave: checkBoolean(what, 'joinLeave', options.joinLeave) ?? false,
    clientPublish: checkBoolean(what, 'clientPublish', options.clientPublish) ?? false,
  };
}

/** The namespace of a channel name, or a message saying why the name is refused. */
export function resolveChannel(
  namespaces: ReadonlyMap<string, Namespace>,
  channel: unknown,
): Namespace | string {
  if (typeof channel !== 'string') return `channel must be a string; got ${describe(channel)}`;
  if (channel.length === 0 || channel.length > MAX_CHANNEL_LENGTH) {
    return `channel must be 1 to ${MAX_CHANNEL_LENGTH} characters; got ${channel.length}`;
  }
  if (FORBIDDEN.test(channel)) return 'channel must not contain whitespace or control characters';
  const colon = channel.indexOf(':');
  const name = colon === -1 ? '' : channel.slice(0, colon);
  const ns = namespaces.get(name);
  if (!ns) return `unknown namespace ${describe(name)} in channel ${describe(channel)}`;
  return ns;
}
