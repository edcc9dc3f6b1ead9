import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { WebSocket } from '../../src/index.js';

/**
 * One logical chat user over the /chat JSON protocol, across reconnections:
 * every connection's frames are appended, in arrival order, to one log that
 * checkLog() verifies.
 */

export interface Position {
  epoch: string;
  offset: number;
}

export type LogEntry =
  | { kind: 'message'; epoch: string; offset: number; text: string }
  | { kind: 'welcome'; epoch: string; offset: number; recovered: boolean | undefined; since: boolean };

interface Frame {
  type: string;
  epoch?: string;
  offset?: number;
  text?: string;
  recovered?: boolean;
  code?: string;
  message?: string;
}

export class ChatUser {
  readonly log: LogEntry[] = [];
  ws: WebSocket | undefined;
  #waiters = new Set<() => void>();
  /** What the page keeps in sessionStorage: the same on every reconnection. */
  readonly #token = randomBytes(12).toString('hex');

  constructor(
    private readonly t: TestContext,
    private readonly url: string,
    readonly room: string,
    readonly nick: string,
  ) {}

  /** Last message position seen (what a page would send as `since`). */
  position(): Position | undefined {
    const last = this.log.findLast((e) => e.kind === 'message');
    return last && { epoch: last.epoch, offset: last.offset };
  }

  messages(): Array<LogEntry & { kind: 'message' }> {
    return this.log.filter((e): e is LogEntry & { kind: 'message' } => e.kind === 'message');
  }

  /**
   * Connect through the proxy and join (with `since` when given). A handshake
   * routed to a dead node, or a join refused while Redis is away, is retried
   * on a new connection; `attempts` bounds it. Every connection joins with the
   * same nick and tab token, as the page does: a killed node's stale presence
   * entry of this user is its own, so the nick is not refused.
   */
  async join(since?: Position, attempts = 200): Promise<LogEntry & { kind: 'welcome' }> {
    for (let i = 1; ; i++) {
      try {
        return await this.#joinOnce(since);
      } catch (error) {
        if (i >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25)); // backoff between retries
      }
    }
  }

  async #joinOnce(since?: Position): Promise<LogEntry & { kind: 'welcome' }> {
    const ws = await WebSocket.connect(this.url);
    this.t.after(() => ws.terminate());
    this.ws = ws;
    const nick = this.nick;
    const pending: LogEntry[] = [];
    let joined = false;
    return new Promise((resolve, reject) => {
      ws.on('error', () => {});
      ws.on('close', () => {
        if (!joined) reject(new Error(`${nick}: closed before welcome`));
        this.#wake();
      });
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        if (frame.type === 'message') {
          const entry: LogEntry = {
            kind: 'message',
            epoch: frame.epoch!,
            offset: frame.offset!,
            text: frame.text!,
          };
          // Recovered messages come before the welcome: kept in order all the same.
          (joined ? this.log : pending).push(entry);
        } else if (frame.type === 'welcome') {
          const welcome = {
            kind: 'welcome' as const,
            epoch: frame.epoch!,
            offset: frame.offset!,
            recovered: frame.recovered,
            since: since !== undefined,
          };
          // Since the chat relays recovered and live messages as they come, some may precede the
          // welcome; they are checked against the welcome's position, so they are logged after it.
          this.log.push(welcome, ...pending);
          joined = true;
          resolve(welcome);
        } else if (frame.type === 'error' && !joined) {
          ws.terminate();
          reject(new Error(`${nick}: ${frame.code} ${frame.message}`));
        }
        this.#wake();
      });
      const join = { type: 'join', room: this.room, nick, token: this.#token, ...(since ? { since } : {}) };
      ws.send(JSON.stringify(join));
    });
  }

  send(text: string, key?: string): void {
    this.ws!.send(JSON.stringify({ type: 'message', text, ...(key ? { key } : {}) }));
  }

  /** Resolves once `predicate` holds (checked on every frame); rejects if `what` is not met when closed. */
  until(predicate: () => boolean, what: string, { failOnClose = true } = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          this.#waiters.delete(check);
          resolve();
        } else if (failOnClose && this.ws?.readyState === WebSocket.CLOSED) {
          this.#waiters.delete(check);
          reject(new Error(`${this.nick}: connection closed before ${what}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/**
 * The checker. Walking one user's log: within an epoch every message is the
 * one right after the previous (nothing lost, nothing twice, in order), except
 * right after a welcome that said it could not recover (or a first join), which
 * starts again from the welcome's position. A message of another epoch is a
 * gap the user was told about only if such a welcome precedes it; otherwise
 * the change of epoch is itself the notice (counted in `epochChanges`).
 * Returns what the log contains, for the cross-user checks.
 */
export function checkLog(user: ChatUser): { told: number; epochChanges: number; last?: Position } {
  let at: Position | undefined;
  let told = 0;
  let epochChanges = 0;
  for (const [i, entry] of user.log.entries()) {
    const where = `${user.nick} log[${i}] ${JSON.stringify(entry)} after ${JSON.stringify(at)}`;
    if (entry.kind === 'welcome') {
      if (!entry.since || entry.recovered === false) {
        if (entry.since) told++;
        at = { epoch: entry.epoch, offset: entry.offset };
      } else {
        assert.equal(entry.recovered, true, where);
        // Recovered: the messages after `since` follow (continuity from `at` is checked on each one).
        assert.equal(at?.epoch, entry.epoch, `recovered within the epoch: ${where}`);
        assert.ok(at.offset <= entry.offset, `since is not past the top: ${where}`);
      }
      continue;
    }
    assert.ok(at, `a message before any welcome: ${where}`);
    if (entry.epoch !== at.epoch) {
      epochChanges++;
      at = { epoch: entry.epoch, offset: entry.offset };
      continue;
    }
    assert.equal(entry.offset, at.offset + 1, `the next message, once: ${where}`);
    at = { epoch: entry.epoch, offset: entry.offset };
  }
  return { told, epochChanges, ...(at ? { last: at } : {}) };
}

/** Everyone who saw a position saw the same message there (the same order for all). */
export function checkSameOrder(users: ChatUser[]): number {
  const byPosition = new Map<string, string>();
  for (const u of users) {
    for (const m of u.messages()) {
      const key = `${m.epoch}:${m.offset}`;
      const seen = byPosition.get(key);
      if (seen === undefined) byPosition.set(key, m.text);
      else assert.equal(m.text, seen, `${u.nick} at ${key}`);
    }
  }
  return byPosition.size;
}
