import { createHash } from 'node:crypto';
import type { ClientInfo, Hub } from '../messaging/index.js';

/**
 * Stale presence across servers (a shared engine such as Redis). When a server
 * is SIGKILLed its members' presence entries stay until their lease ends
 * (<= 15 s); meanwhile a page of that server reconnects through the proxy to
 * another one. Two things must hold then:
 *  - its nickname is not "taken" by its own stale entry: the page presents the
 *    same tab token again, so an entry with the same nickname and the same
 *    token hash is "me, reconnecting" (tabHash, sameTab);
 *  - when that entry's lease ends and the engine publishes its leave, the
 *    members do not see the user leave: a leave is shown only when no other
 *    connection of that nickname is still present (Departures).
 */

/**
 * What presence stores of a page's tab token: a hash, never the token itself
 * (presence is readable by every member; whoever knew the token could take the
 * nickname over). The token is 96 random bits in the page, so the hash cannot
 * be reversed by trying tokens.
 */
export function tabHash(token: string): string {
  return createHash('sha256').update(`socketeer-chat-tab\n${token}`).digest('base64url').slice(0, 22);
}

/** Whether a presence entry is this page's own earlier connection: same nickname, same tab. */
export function sameTab(entry: ClientInfo, nick: string, tab: string | undefined): boolean {
  if (tab === undefined || entry.user !== nick) return false;
  return (entry.info as { tab?: unknown } | undefined)?.tab === tab;
}

/**
 * Decides whether a leave is shown. Every connection of a room on this server
 * gets the same leave at about the same time: they share one presence read per
 * room (the one that starts next, so it sees the engine after the leave), not
 * one read each.
 */
export class Departures {
  /** channel -> the presence read that leaves received so far will share (not started yet). */
  private readonly next = new Map<string, Promise<ClientInfo[] | undefined>>();

  constructor(private readonly hub: Hub) {}

  /**
   * True when `info.user` has no other connection in `channel` (show the leave).
   * Synchronous on the memory engine: all connections are on this server, where
   * a reconnecting tab replaces its old connection before joining again.
   */
  gone(channel: string, info: ClientInfo): boolean | Promise<boolean> {
    if (this.hub.engine.name === 'memory') return true;
    return this.read(channel).then(
      // Unreadable (engine down): show the leave; the welcome after a rejoin has the full list.
      (members) => !members?.some((m) => m.user === info.user && m.client !== info.client),
    );
  }

  private read(channel: string): Promise<ClientInfo[] | undefined> {
    let read = this.next.get(channel);
    if (!read) {
      read = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => {
          this.next.delete(channel); // leaves from now on wait for a later read
          return this.hub.presence(channel);
        })
        .then(
          (result) => result.members,
          () => undefined,
        );
      this.next.set(channel, read);
    }
    return read;
  }
}
