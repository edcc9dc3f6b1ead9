// Messages the user typed, until the server's copy comes back. Each has an
// idempotency key: resent after a reconnect, the server stores it once, and the
// page recognises its own message by the key (so it is shown once).

/** A key unique enough for one user's messages (crypto.randomUUID needs a secure context; this does not). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  constructor() {
    /** key -> { text, li } in the order typed. */
    this.pending = new Map();
    /** key -> { text, li }: given up on after repeated refusals, kept until the user retries. */
    this.failed = new Map();
  }

  /** Queue a message; `li` is its placeholder on screen. */
  add(text, li) {
    const key = newKey();
    this.pending.set(key, { text, li });
    return key;
  }

  /** The server's copy arrived: forget it and hand back its placeholder (to remove). */
  settle(key) {
    const entry = this.pending.get(key) ?? this.failed.get(key);
    if (!entry) return undefined;
    this.pending.delete(key);
    this.failed.delete(key);
    return entry.li;
  }

  /** Every message still waiting, oldest first: [key, text]. */
  waiting() {
    return [...this.pending].map(([key, { text }]) => [key, text]);
  }

  /** Each waiting message's placeholder. */
  placeholders() {
    return [...this.pending.values()].map(({ li }) => li);
  }

  /** Stop retrying what is waiting: each is marked (mark(li, key)) and kept for retry(key). */
  giveUp(mark) {
    for (const [key, entry] of this.pending) {
      this.failed.set(key, entry);
      mark(entry.li, key);
    }
    this.pending.clear();
  }

  /** The user asked again for a message given up on: it waits (and is sent) again. Its text, if known. */
  retry(key) {
    const entry = this.failed.get(key);
    if (!entry) return undefined;
    this.failed.delete(key);
    this.pending.set(key, entry);
    return entry.text;
  }

  /** Give up on everything (the user left, or the server refused us): mark it not sent. */
  abandon(mark) {
    for (const { li } of [...this.pending.values(), ...this.failed.values()]) mark(li);
    this.pending.clear();
    this.failed.clear();
  }

  /** Messages not delivered: waiting or given up on. */
  get size() {
    return this.pending.size + this.failed.size;
  }
}
