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
  }

  /** Queue a message; `li` is its placeholder on screen. */
  add(text, li) {
    const key = newKey();
    this.pending.set(key, { text, li });
    return key;
  }

  /** The server's copy arrived: forget it and hand back its placeholder (to remove). */
  settle(key) {
    const entry = this.pending.get(key);
    if (!entry) return undefined;
    this.pending.delete(key);
    return entry.li;
  }

  /** Every message still waiting, oldest first: [key, text]. */
  waiting() {
    return [...this.pending].map(([key, { text }]) => [key, text]);
  }

  /** Give up on everything waiting (the user left, or the server refused us): mark it not sent. */
  abandon(mark) {
    for (const { li } of this.pending.values()) mark(li);
    this.pending.clear();
  }

  get size() {
    return this.pending.size;
  }
}
