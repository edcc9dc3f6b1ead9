/**
 * The messaging hub of `socketeer serve`, opened to browsers at /connection
 * (subprotocol socketeer.v1.json), so that anyone can write a page of their
 * own with the browser SDK (served at /socketeer-messaging.js) against the
 * chat server, without a build step.
 *
 * What such a raw hub client may do: the chat's rules (nicknames checked for
 * look-alikes, the flood limit, the room caps per address) live in the /chat
 * endpoint, not in the hub. A raw client publishing into `room:*` would
 * bypass all of them (and appear with an empty nickname); one subscribing
 * would be listed as an anonymous member in the room's presence. So raw
 * clients are anonymous and confined to their own namespace `demo:` —
 * channels with history (recovery), presence and join/leave — bounded so that
 * anonymous strangers cannot grow the server's memory: few channels, short
 * history, small messages. The chat's own connections (in-process, each with
 * its nickname as the user id) are the only ones that reach `room:*`.
 */

import { HubError, type HubOptions, type NamespaceOptions } from '../messaging/index.js';
import { ErrorCodes } from '../messaging/protocol.js';

export const PUBLIC_HUB_PATH = '/connection';
export const DEMO_NAMESPACE = 'demo';

export const DEMO_LIMITS = {
  /** Distinct demo channels in use at once in this process (subscribed or published to within the history TTL); each server of a Redis cluster counts its own. */
  maxChannels: 1000,
  historySize: 50,
  historyTtl: 10 * 60_000,
  /** Bytes of one publication's data, JSON-encoded. */
  maxDataBytes: 4096,
  /** Subscriptions per hub connection (the chat's own connections need one). */
  maxSubscriptions: 100,
} as const;

export const DEMO_NAMESPACE_OPTIONS: NamespaceOptions = {
  historySize: DEMO_LIMITS.historySize,
  historyTtl: DEMO_LIMITS.historyTtl,
  presence: true,
  joinLeave: true,
  clientPublish: true,
};

/**
 * Demo channels in use, each remembered for the history TTL after its last
 * use: new names beyond the cap are refused until old ones go quiet, so the
 * engine never holds more than maxChannels x historySize x maxDataBytes of
 * demo history (~200 MB at most; far less in practice).
 */
class DemoChannels {
  private readonly lastUse = new Map<string, number>();

  constructor(private readonly maxChannels: number) {}

  /** Count a use of `channel`; throws limit-exceeded for a new name beyond the cap. */
  use(channel: string): true {
    const now = Date.now();
    if (!this.lastUse.has(channel) && this.lastUse.size >= this.maxChannels) {
      // In order of last use: the quiet ones are first.
      for (const [name, at] of this.lastUse) {
        if (now - at <= DEMO_LIMITS.historyTtl) break;
        this.lastUse.delete(name);
      }
      if (this.lastUse.size >= this.maxChannels) {
        throw new HubError(
          ErrorCodes.limitExceeded,
          `the server holds its limit of ${this.maxChannels} demo channels; use one in use or retry later`,
          true,
        );
      }
    }
    this.lastUse.delete(channel); // re-inserted last: the Map stays in order of last use
    this.lastUse.set(channel, now);
    return true;
  }
}

/** A raw hub client (anonymous, user ''); the chat's in-process connections carry the nickname. */
const isRawClient = (client: { user: string }) => client.user === '';

function demoOnly(namespace: string): void {
  if (namespace !== DEMO_NAMESPACE) {
    throw new HubError(
      ErrorCodes.permissionDenied,
      `clients of ${PUBLIC_HUB_PATH} may use "${DEMO_NAMESPACE}:<name>" channels only; chat rooms are reached through /chat`,
    );
  }
}

/** The hub options that open the chat's hub at /connection under the rules above. */
export function publicHubOptions(
  limits: { maxChannels?: number } = {},
): Pick<HubOptions, 'authenticate' | 'canSubscribe' | 'canPublish' | 'maxSubscriptions' | 'path'> {
  const demo = new DemoChannels(limits.maxChannels ?? DEMO_LIMITS.maxChannels);
  return {
    path: PUBLIC_HUB_PATH,
    // Everyone who connects at /connection is anonymous: no way to pose as a chat member.
    authenticate: () => ({ user: '' }),
    canSubscribe: ({ client, namespace, channel }) => {
      if (!isRawClient(client)) return true;
      demoOnly(namespace);
      return demo.use(channel);
    },
    canPublish: ({ client, namespace, channel, data }) => {
      if (!isRawClient(client)) return true;
      demoOnly(namespace);
      // The hub parsed it from JSON and checked its nesting depth, so it encodes.
      if (Buffer.byteLength(JSON.stringify(data)) > DEMO_LIMITS.maxDataBytes) {
        throw new HubError(
          ErrorCodes.limitExceeded,
          `a ${DEMO_NAMESPACE} publication is at most ${DEMO_LIMITS.maxDataBytes} bytes of JSON`,
        );
      }
      return demo.use(channel);
    },
    maxSubscriptions: DEMO_LIMITS.maxSubscriptions,
  };
}
